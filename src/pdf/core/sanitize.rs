//! Drop every channel other than page content that can carry text: annotations, forms,
//! metadata, outlines, names, attachments, scripts, actions, structure, labels, thumbnails,
//! optional content, piece info, earlier revisions.

use super::Sanitized;
use lopdf::{Document, Object};
use std::collections::BTreeSet;

pub fn sanitize(doc: &mut Document, earlier_revisions: bool) -> Sanitized {
    let mut kinds: BTreeSet<&'static str> = BTreeSet::new();
    if earlier_revisions {
        kinds.insert("earlier-revisions");
    }
    if doc.trailer.remove(b"Info").is_some() {
        kinds.insert("info");
    }
    let cat_id = doc.trailer.get(b"Root").ok().and_then(|o| o.as_reference().ok());
    if let Some(cid) = cat_id {
        // inspect /Names before dropping it
        let names_kinds: Vec<&'static str> = {
            let mut v = vec![];
            if let Ok(cat) = doc.get_dictionary(cid) {
                if let Some(names) =
                    cat.get(b"Names").ok().map(|o| super::font::deref(doc, o)).and_then(super::font::as_dict)
                {
                    for (k, _) in names.iter() {
                        v.push(match k.as_slice() {
                            b"EmbeddedFiles" => "embedded-files",
                            b"JavaScript" => "javascript",
                            b"Dests" => "named-destinations",
                            _ => "names",
                        });
                    }
                }
            }
            v
        };
        kinds.extend(names_kinds);
        if let Ok(cat) = doc.get_dictionary_mut(cid) {
            let table: &[(&[u8], &'static str)] = &[
                (b"AcroForm", "acroform"),
                (b"Names", "names"),
                (b"Dests", "named-destinations"),
                (b"OpenAction", "actions"),
                (b"AA", "actions"),
                (b"URI", "actions"),
                (b"Metadata", "xmp"),
                (b"Outlines", "outlines"),
                (b"StructTreeRoot", "structure-tree"),
                (b"MarkInfo", "structure-tree"),
                (b"ParentTree", "structure-tree"),
                (b"PageLabels", "page-labels"),
                (b"OCProperties", "optional-content"),
                (b"PieceInfo", "piece-info"),
                (b"Threads", "threads"),
                (b"Collection", "embedded-files"),
                (b"AF", "embedded-files"),
                (b"SpiderInfo", "web-capture"),
                (b"Perms", "permissions"),
                (b"Legal", "legal"),
            ];
            for (k, kind) in table {
                if cat.remove(k).is_some()
                    && (*k != b"Names"
                        || !kinds.iter().any(|x| ["embedded-files", "javascript", "named-destinations"].contains(x)))
                {
                    kinds.insert(kind);
                }
            }
            if cat
                .get(b"PageMode")
                .ok()
                .and_then(|o| o.as_name().ok())
                .map(|n| n == b"UseOutlines" || n == b"UseAttachments" || n == b"UseOC")
                .unwrap_or(false)
            {
                cat.remove(b"PageMode");
            }
        }
    }
    let pages: Vec<_> = doc.get_pages().values().copied().collect();
    for pid in pages {
        if let Ok(p) = doc.get_dictionary_mut(pid) {
            let table: &[(&[u8], &'static str)] = &[
                (b"Annots", "annotations"),
                (b"AA", "actions"),
                (b"Metadata", "object-metadata"),
                (b"PieceInfo", "piece-info"),
                (b"Thumb", "thumbnails"),
                (b"B", "threads"),
                (b"StructParents", "structure-tree"),
                (b"AF", "embedded-files"),
                (b"LastModified", "object-metadata"),
                (b"SeparationInfo", "piece-info"),
                (b"ID", "web-capture"),
            ];
            for (k, kind) in table {
                if p.remove(k).is_some() {
                    kinds.insert(kind);
                }
            }
        }
    }
    // per-object channels: metadata streams, piece info, property-list text, actions, OC
    let ids: Vec<_> = doc.objects.keys().copied().collect();
    for id in ids {
        let Some(obj) = doc.objects.get_mut(&id) else { continue };
        let dict = match obj {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &mut s.dict,
            _ => continue,
        };
        if dict.remove(b"Metadata").is_some() {
            kinds.insert("object-metadata");
        }
        if dict.remove(b"PieceInfo").is_some() {
            kinds.insert("piece-info");
        }
        // OPI proxies (file paths), alternate images, external references, modification stamps
        for k in [&b"OPI"[..], b"Alternates", b"Ref", b"LastModified"] {
            if dict.remove(k).is_some() {
                kinds.insert("object-metadata");
            }
        }
        // pdfTeX records an included PDF's file name and document info on its form (PTEX.FileName,
        // PTEX.InfoDict): a path or an author can name a person
        let ptex: Vec<Vec<u8>> = dict.iter().map(|(k, _)| k.clone()).filter(|k| k.starts_with(b"PTEX.")).collect();
        for k in ptex {
            dict.remove(&k);
            kinds.insert("object-metadata");
        }
        if dict.get(b"Type").ok().and_then(|o| o.as_name().ok()) == Some(b"XObject") && dict.remove(b"Name").is_some() {
            kinds.insert("object-metadata");
        }
        let had_text = dict.remove(b"ActualText").is_some() | dict.remove(b"Alt").is_some();
        if had_text {
            dict.remove(b"E");
            kinds.insert("structure-tree");
        }
        if dict.remove(b"OC").is_some() {
            kinds.insert("optional-content");
        }
        if dict.remove(b"AA").is_some() {
            kinds.insert("actions");
        }
        if dict.remove(b"StructParent").is_some() | dict.remove(b"StructParents").is_some() {
            kinds.insert("structure-tree");
        }
        if dict.remove(b"Thumb").is_some() {
            kinds.insert("thumbnails");
        }
        if dict.get(b"Type").ok().and_then(|o| o.as_name().ok()) == Some(b"OCG") && dict.has(b"Name") {
            dict.set("Name", Object::string_literal("layer"));
            kinds.insert("optional-content");
        }
        let is_js = dict.get(b"S").ok().and_then(|o| o.as_name().ok()).map(|n| n == b"JavaScript").unwrap_or(false);
        if is_js || dict.has(b"JS") {
            dict.remove(b"JS");
            kinds.insert("javascript");
        }
    }
    Sanitized { kinds: kinds.into_iter().map(String::from).collect() }
}
