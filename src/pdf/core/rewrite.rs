//! Glyph removal. Only the text-showing operators that lose glyphs are re-serialized (as `TJ`
//! with a displacement per removed glyph, so nothing else moves); every other byte of the
//! content stream is copied verbatim. Form XObjects that lose glyphs are copied per use
//! (copy-on-write) and the `Do` of their parent points to the copy. Boxes with the mark's code
//! (or label) are painted over the removed glyphs, one per mark per line.

use super::font::{as_dict, deref, helvetica_width, winansi_code};
use super::interp::{PageScan, RawGlyph, Source};
use super::lexer::{fmt_num, hex_token, Operand};
use super::{Mark, PdfError};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub const LABEL_FONT: &[u8] = b"DcRedactLbl";

fn apply_edits(content: &[u8], edits: &mut [(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    edits.sort_by_key(|e| e.0.start);
    let mut out = Vec::with_capacity(content.len() + 64);
    let mut pos = 0;
    for (r, rep) in edits.iter() {
        if r.start < pos || r.end > content.len() {
            continue;
        }
        out.extend_from_slice(&content[pos..r.start]);
        out.extend_from_slice(rep);
        pos = r.end;
    }
    out.extend_from_slice(&content[pos..]);
    out
}

/// Does an inline property list carry text (ActualText / Alt / E)?
fn dict_has_text(entries: &[(Vec<u8>, Operand)]) -> bool {
    entries.iter().any(|(k, _)| matches!(k.as_slice(), b"ActualText" | b"Alt" | b"E"))
}

/// Rebuild one text-showing op without the removed glyphs.
fn rebuild_op(
    content: &[u8],
    op: &super::lexer::Op,
    glyphs: &[&RawGlyph],
    removed: &HashSet<usize>,
    gidx: &[usize],
    page_no: usize,
) -> Result<Vec<u8>, PdfError> {
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut pending: f64 = 0.0;
    let mut have_pending = false;
    let flush_str = |items: &mut Vec<Vec<u8>>, cur: &mut Vec<u8>| {
        if !cur.is_empty() {
            items.push(hex_token(cur));
            cur.clear();
        }
    };
    let show_elem = |k: usize,
                     s: &[u8],
                     items: &mut Vec<Vec<u8>>,
                     cur: &mut Vec<u8>,
                     pending: &mut f64,
                     have_pending: &mut bool|
     -> Result<(), PdfError> {
        for (g, gi) in glyphs.iter().zip(gidx.iter()).filter(|(g, _)| g.elem == k) {
            let bytes = s.get(g.byte_start..g.byte_start + g.byte_len).unwrap_or(&[]);
            if removed.contains(gi) {
                if !g.disp.is_finite() {
                    return Err(PdfError::Unsupported { page: page_no, what: "text with zero font size" });
                }
                if !g.exact {
                    return Err(PdfError::Unsupported { page: page_no, what: "glyph widths of a font are unknown" });
                }
                if !cur.is_empty() {
                    items.push(hex_token(cur));
                    cur.clear();
                }
                *pending += g.disp;
                *have_pending = true;
            } else {
                if *have_pending {
                    items.push(fmt_num(*pending).into_bytes());
                    *pending = 0.0;
                    *have_pending = false;
                }
                cur.extend_from_slice(bytes);
            }
        }
        Ok(())
    };
    let name = op.name.as_slice();
    match (name, op.operands.last()) {
        (b"TJ", Some((Operand::Array(arr), _))) => {
            for (k, (it, sp)) in arr.iter().enumerate() {
                match it {
                    Operand::Str(s) => show_elem(k, s, &mut items, &mut cur, &mut pending, &mut have_pending)?,
                    Operand::Num(_) => {
                        flush_str(&mut items, &mut cur);
                        if have_pending {
                            items.push(fmt_num(pending).into_bytes());
                            pending = 0.0;
                            have_pending = false;
                        }
                        items.push(content[sp.clone()].to_vec());
                    }
                    _ => {}
                }
            }
        }
        (_, Some((Operand::Str(s), _))) => show_elem(0, s, &mut items, &mut cur, &mut pending, &mut have_pending)?,
        _ => return Ok(content[op.span.clone()].to_vec()),
    }
    flush_str(&mut items, &mut cur);
    if have_pending {
        items.push(fmt_num(pending).into_bytes());
    }
    let mut out = Vec::new();
    match name {
        b"'" => out.extend_from_slice(b"T* "),
        b"\"" => {
            let a = &op.operands[0].1;
            let b = &op.operands[1].1;
            out.extend_from_slice(&content[a.clone()]);
            out.extend_from_slice(b" Tw ");
            out.extend_from_slice(&content[b.clone()]);
            out.extend_from_slice(b" Tc T* ");
        }
        _ => {}
    }
    out.push(b'[');
    out.extend_from_slice(&items.join(&b' '));
    out.extend_from_slice(b"] TJ");
    Ok(out)
}

fn unique_name(d: Option<&Dictionary>, prefix: &str, n: &mut usize) -> Vec<u8> {
    loop {
        *n += 1;
        let cand = format!("{prefix}{n}").into_bytes();
        if d.map(|d| !d.has(&cand)).unwrap_or(true) {
            return cand;
        }
    }
}

/// Resources dict (direct) with extra XObject entries and optionally the label font.
fn extend_resources(
    doc: &Document,
    base: &Dictionary,
    xobjs: &[(Vec<u8>, ObjectId)],
    unused: &[Vec<u8>],
    label_font: Option<ObjectId>,
) -> Dictionary {
    let mut res = base.clone();
    if !xobjs.is_empty() {
        let mut xd = res.get(b"XObject").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned().unwrap_or_default();
        for n in unused {
            xd.remove(n);
        }
        for (n, id) in xobjs {
            xd.set(n.clone(), Object::Reference(*id));
        }
        res.set("XObject", Object::Dictionary(xd));
    }
    if let Some(fid) = label_font {
        let mut fd = res.get(b"Font").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned().unwrap_or_default();
        fd.set(LABEL_FONT.to_vec(), Object::Reference(fid));
        res.set("Font", Object::Dictionary(fd));
    }
    res
}

/// XObject names whose every `Do` was redirected to a copy (so the original can be pruned).
fn unused_names(inst: &super::interp::Instance, replaced_ops: &[usize]) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> =
        replaced_ops.iter().filter_map(|i| inst.ops[*i].name_operand().map(|n| n.to_vec())).collect();
    names.sort();
    names.dedup();
    names.retain(|nm| {
        !inst
            .ops
            .iter()
            .enumerate()
            .any(|(i, op)| op.is("Do") && !replaced_ops.contains(&i) && op.name_operand() == Some(nm.as_slice()))
    });
    names
}

/// Boxes for the marks: union bbox of the removed glyphs per mark per line.
pub fn mark_boxes(glyphs: &[RawGlyph], removed: &[Option<usize>], marks: &[Mark]) -> Vec<([f64; 4], String)> {
    let mut out = Vec::new();
    for (mi, m) in marks.iter().enumerate() {
        let label = m.label.clone().unwrap_or_else(|| m.code.clone());
        let mut cur: Option<([f64; 4], (f64, f64))> = None;
        for (g, r) in glyphs.iter().zip(removed) {
            if *r != Some(mi) {
                continue;
            }
            let b = g.bbox;
            if !(b.iter().all(|v| v.is_finite())) || b[2] - b[0] > 5000.0 || b[3] - b[1] > 5000.0 {
                continue;
            }
            match &mut cur {
                Some((u, last)) => {
                    let d = (g.origin.0 - last.0, g.origin.1 - last.1);
                    let perp = (d.1 * g.dir.0 - d.0 * g.dir.1).abs();
                    let along = d.0 * g.dir.0 + d.1 * g.dir.1;
                    if perp > 0.5 * g.em.max(0.01) || along < -g.em.max(0.01) * 1.5 {
                        out.push((*u, label.clone()));
                        cur = Some((b, g.next));
                    } else {
                        u[0] = u[0].min(b[0]);
                        u[1] = u[1].min(b[1]);
                        u[2] = u[2].max(b[2]);
                        u[3] = u[3].max(b[3]);
                        *last = g.next;
                    }
                }
                None => cur = Some((b, g.next)),
            }
        }
        if let Some((u, _)) = cur {
            out.push((u, label.clone()));
        }
    }
    out
}

fn box_stream(boxes: &[([f64; 4], String)], paint_labels: bool) -> Vec<u8> {
    let mut s = String::new();
    for (b, label) in boxes {
        let (w, h) = (b[2] - b[0], b[3] - b[1]);
        if w <= 0.0 || h <= 0.0 {
            continue;
        }
        s.push_str(&format!("q 0.1 g {} {} {} {} re f Q\n", fmt_num(b[0]), fmt_num(b[1]), fmt_num(w), fmt_num(h)));
        if !paint_labels {
            continue; // the caller writes the labels in its own embedded font
        }
        let units = helvetica_width(label) / 1000.0;
        if units <= 0.0 {
            continue;
        }
        let size = (h * 0.8).min((w - 1.0).max(0.0) / units);
        if size < 2.0 {
            continue; // too small to be legible: box only
        }
        let tx = b[0] + (w - units * size) / 2.0;
        let ty = b[1] + (h - 0.72 * size) / 2.0;
        let bytes: Vec<u8> = label.chars().map(winansi_code).collect();
        s.push_str(&format!(
            "q BT 1 g 0 Tr 0 Tc 0 Tw 100 Tz 0 Ts /{} {} Tf 1 0 0 1 {} {} Tm {} Tj ET Q\n",
            String::from_utf8_lossy(LABEL_FONT),
            fmt_num(size),
            fmt_num(tx),
            fmt_num(ty),
            String::from_utf8_lossy(&hex_token(&bytes))
        ));
    }
    s.into_bytes()
}

/// Rewrite one page of `doc` (a clone of the scanned document).
/// Returns the boxes painted (source user space) with their labels.
pub fn rewrite_page(
    doc: &mut Document,
    scan: &PageScan,
    removed: &[Option<usize>],
    marks: &[Mark],
    page_no: usize,
    paint_labels: bool,
) -> Result<Vec<([f64; 4], String)>, PdfError> {
    let n = scan.instances.len();
    let removed_set: HashSet<usize> = removed.iter().enumerate().filter(|(_, r)| r.is_some()).map(|(i, _)| i).collect();
    // per instance: op -> glyph indices
    let mut by_op: Vec<HashMap<usize, Vec<usize>>> = vec![HashMap::new(); n];
    for (gi, g) in scan.glyphs.iter().enumerate() {
        by_op[g.inst].entry(g.op).or_default().push(gi);
    }
    let mut dirty = vec![false; n];
    for gi in &removed_set {
        let mut i = scan.glyphs[*gi].inst;
        loop {
            dirty[i] = true;
            match scan.instances[i].parent {
                Some((p, _)) => i = p,
                None => break,
            }
        }
    }
    let mut edits: Vec<Vec<(Range<usize>, Vec<u8>)>> = vec![vec![]; n];
    let mut extra_x: Vec<Vec<(Vec<u8>, ObjectId)>> = vec![vec![]; n];
    for (i, inst) in scan.instances.iter().enumerate() {
        for (oi, op) in inst.ops.iter().enumerate() {
            if op.is("BDC") {
                if let Some((Operand::Dict(d), sp)) = op.operands.last() {
                    if dict_has_text(d) {
                        edits[i].push((sp.clone(), b"<<>>".to_vec()));
                    }
                }
            }
            if dirty[i] && matches!(op.name.as_slice(), b"Tj" | b"TJ" | b"'" | b"\"") {
                if let Some(gl) = by_op[i].get(&oi) {
                    if gl.iter().any(|g| removed_set.contains(g)) {
                        let gs: Vec<&RawGlyph> = gl.iter().map(|g| &scan.glyphs[*g]).collect();
                        let rep = rebuild_op(&inst.content, op, &gs, &removed_set, gl, page_no)?;
                        edits[i].push((op.span.clone(), rep));
                    }
                }
            }
        }
    }
    let mut counter = 0usize;
    let mut replaced: Vec<Vec<usize>> = vec![vec![]; n];
    let mut stripped_in_place: HashSet<ObjectId> = HashSet::new();
    for i in (1..n).rev() {
        let inst = &scan.instances[i];
        let Source::Form(orig_id) = inst.source else { continue };
        if dirty[i] {
            let orig = match doc.get_object(orig_id) {
                Ok(Object::Stream(s)) => s.dict.clone(),
                _ => return Err(PdfError::Object { id: orig_id }),
            };
            let mut dict = orig;
            for k in [&b"Filter"[..], b"DecodeParms", b"Length", b"Metadata", b"PieceInfo", b"LastModified"] {
                dict.remove(k);
            }
            let content = apply_edits(&inst.content, &mut edits[i]);
            let unused = unused_names(inst, &replaced[i]);
            dict.set(
                "Resources",
                Object::Dictionary(extend_resources(doc, &inst.resources, &extra_x[i], &unused, None)),
            );
            let new_id = doc.add_object(Object::Stream(Stream::new(dict, content)));
            let (p, do_op) = inst.parent.expect("form has parent");
            let pres = &scan.instances[p].resources;
            let xd = pres.get(b"XObject").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned();
            let mut taken: Dictionary = xd.unwrap_or_default();
            for (nm, _) in &extra_x[p] {
                taken.set(nm.clone(), Object::Null);
            }
            let name = unique_name(Some(&taken), "DcRedactFm", &mut counter);
            let mut rep = Vec::new();
            rep.push(b'/');
            rep.extend_from_slice(&name);
            rep.extend_from_slice(b" Do");
            edits[p].push((scan.instances[p].ops[do_op].span.clone(), rep));
            replaced[p].push(do_op);
            extra_x[p].push((name, new_id));
        } else if !edits[i].is_empty() && !stripped_in_place.contains(&orig_id) {
            // only property-list text to strip: edit the shared form in place (all uses)
            let content = apply_edits(&inst.content, &mut edits[i]);
            if let Ok(Object::Stream(s)) = doc.get_object_mut(orig_id) {
                s.dict.remove(b"Filter");
                s.dict.remove(b"DecodeParms");
                s.set_content(content);
            }
            stripped_in_place.insert(orig_id);
        }
    }
    let boxes = mark_boxes(&scan.glyphs, removed, marks);
    if edits[0].is_empty() && boxes.is_empty() && extra_x[0].is_empty() {
        return Ok(boxes);
    }
    let page0 = &scan.instances[0];
    let body = apply_edits(&page0.content, &mut edits[0]);
    let mut content = Vec::with_capacity(body.len() + 256);
    content.extend_from_slice(b"q\n");
    content.extend_from_slice(&body);
    content.push(b'\n');
    if scan.end_in_text {
        content.extend_from_slice(b"ET\n");
    }
    for _ in 0..scan.end_q_depth + 1 {
        content.extend_from_slice(b"Q\n");
    }
    content.extend_from_slice(&box_stream(&boxes, paint_labels));
    let label_font = if boxes.is_empty() || !paint_labels {
        None
    } else {
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"Font".to_vec()));
        d.set("Subtype", Object::Name(b"Type1".to_vec()));
        d.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
        d.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
        Some(doc.add_object(Object::Dictionary(d)))
    };
    let unused = unused_names(page0, &replaced[0]);
    let res = extend_resources(doc, &page0.resources, &extra_x[0], &unused, label_font);
    let cid = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), content)));
    let page = doc.get_dictionary_mut(scan.page_id).map_err(|_| PdfError::Object { id: scan.page_id })?;
    page.set("Contents", Object::Reference(cid));
    page.set("Resources", Object::Dictionary(res));
    Ok(boxes)
}
