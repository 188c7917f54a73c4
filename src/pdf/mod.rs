//! PDF: reading attachments as a reader sees them (`core`), true redaction inside them, the
//! rendering of case records (`render`) and the bundle (`bundle`). lopdf is the object layer only.

pub mod bundle;
pub mod core;
pub mod fonts_embed;
pub mod image;
pub mod render;

use crate::file::{AttachmentInput, Location, PageInput, Part};
use crate::model::AttachmentId;
use crate::policy::Action;
use crate::review::{Disclosure, Index};
use std::collections::HashMap;
use std::sync::Arc;

/// An attachment as read: the loaded document and the text of each page.
pub struct ReadAttachment {
    pub loaded: core::LoadedPdf,
    pub pages: Vec<core::PageText>,
}

/// Load and read an attachment; errors (encrypted, damaged, unreadable fonts) fail closed.
pub fn read_attachment(bytes: &[u8]) -> Result<ReadAttachment, core::PdfError> {
    let loaded = core::load(bytes)?;
    let pages = core::read_text(&loaded)?;
    Ok(ReadAttachment { loaded, pages })
}

/// What detection sees of an attachment: page texts, with pages that cannot be trusted held.
pub fn attachment_input(r: &Result<ReadAttachment, core::PdfError>) -> AttachmentInput {
    match r {
        Err(e) => AttachmentInput::Unreadable(e.to_string()),
        Ok(r) => AttachmentInput::Pages(
            r.pages
                .iter()
                .map(|p| PageInput {
                    text: p.text.clone(),
                    hold: match &p.status {
                        core::PageStatus::Ok => None,
                        core::PageStatus::ImageOnly => {
                            Some("the page is an image (a scan): it needs OCR and a person's check".into())
                        }
                        core::PageStatus::Unmapped { glyphs } => {
                            Some(format!("{glyphs} characters use a font whose text cannot be read reliably"))
                        }
                        core::PageStatus::Held(h) => Some(h.why()),
                    },
                    ocr: false,
                })
                .collect(),
        ),
    }
}

/// A page of an attachment that failed verification after redaction (withheld, reported).
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailedPage {
    pub attachment: AttachmentId,
    pub page: usize,
    pub problems: Vec<String>,
}

/// The result of redacting the attachments of a file.
#[derive(Default)]
pub struct RedactedAttachments {
    pub pages: HashMap<AttachmentId, bundle::AttachmentPages>,
    pub sanitized: Vec<(AttachmentId, Vec<String>)>,
    pub failed: Vec<FailedPage>,
    /// The text that reviewers' regions took out of each page: (attachment, page, byte ranges of
    /// the page's text), so that the text views of the page (the preview) lose it too.
    pub region_text: Vec<(AttachmentId, usize, Vec<std::ops::Range<usize>>)>,
}

impl RedactedAttachments {
    /// Blank (with spaces, byte for byte, so that every other span stays valid) the text the
    /// regions took out of the attachment pages' texts.
    pub fn blank_regions(&self, inputs: &mut crate::file::AttachmentInputs) {
        for (a, page, runs) in &self.region_text {
            let Some(AttachmentInput::Pages(pages)) = inputs.get_mut(a) else { continue };
            let Some(p) = pages.get_mut(*page) else { continue };
            let mut bytes = std::mem::take(&mut p.text).into_bytes();
            for r in runs {
                let end = r.end.min(bytes.len());
                bytes.get_mut(r.start.min(end)..end).into_iter().flatten().for_each(|b| *b = b' ');
            }
            // whole characters were blanked (runs follow glyphs' text ranges), so this is UTF-8
            p.text = String::from_utf8(bytes).unwrap_or_default();
        }
    }
}

impl RedactedAttachments {
    /// Render each document's redacted pages alone (in parallel); a document that cannot be placed
    /// in a bundle is taken out and all its pages listed as failed, so that one odd file is
    /// withheld and reported instead of failing the whole export. Failures end sorted.
    pub fn withhold_unplaceable(&mut self) {
        use rayon::prelude::*;
        let mut ids: Vec<&AttachmentId> = self.pages.keys().collect();
        ids.sort();
        let bad: Vec<(AttachmentId, String)> = ids
            .into_par_iter()
            .filter_map(|a| bundle::check_foreign(&self.pages[a]).err().map(|why| (a.clone(), why)))
            .collect();
        for (a, why) in bad {
            if let Some(ap) = self.pages.remove(&a) {
                for (i, _) in &ap.pages {
                    self.failed.push(FailedPage { attachment: a.clone(), page: *i, problems: vec![why.clone()] });
                }
            }
        }
        self.failed.sort_by(|x, y| (&x.attachment, x.page).cmp(&(&y.attachment, y.page)));
    }
}

/// Redact every attachment the disclosure keeps: remove the marked glyphs, sanitise every other
/// channel, verify by reading the result again; on pages read by OCR (`scans`), paint the removed
/// words' pixels, add the layer of kept words and read the page again (`crate::ocr::pages`). A
/// page that fails verification is withheld.
pub fn redact_attachments(
    plan: &Disclosure,
    read: &HashMap<AttachmentId, Result<ReadAttachment, core::PdfError>>,
    scans: &crate::ocr::pages::Scans,
    tess: Option<&crate::ocr::Tesseract>,
) -> RedactedAttachments {
    use rayon::prelude::*;
    let index = Index::new(plan);
    let mut ids: Vec<&AttachmentId> = read.keys().collect();
    ids.sort();
    // Each attachment is redacted on its own (in parallel), then merged in id order.
    let results: Vec<RedactedAttachments> = ids
        .par_iter()
        .map(|a| redact_one(&index, a, &read[*a], scans.get(*a).map(|v| v.as_slice()).unwrap_or(&[]), tess))
        .collect();
    let mut out = RedactedAttachments::default();
    for r in results {
        out.pages.extend(r.pages);
        out.sanitized.extend(r.sanitized);
        out.failed.extend(r.failed);
        out.region_text.extend(r.region_text);
    }
    out
}

fn redact_one(
    index: &Index<'_>,
    a: &AttachmentId,
    read: &Result<ReadAttachment, core::PdfError>,
    scans: &[crate::ocr::pages::PageScan],
    tess: Option<&crate::ocr::Tesseract>,
) -> RedactedAttachments {
    use crate::ocr::pages::PixelMark;
    let mut out = RedactedAttachments::default();
    let Ok(r) = read else { return out };
    if index.withheld(&Location::attachment(a, Part::Attachment)).is_some() {
        return out;
    }
    let mut edits = Vec::new();
    let mut held = Vec::new();
    let mut pixel_marks: std::collections::BTreeMap<usize, Vec<PixelMark>> = Default::default();
    for (i, pt) in r.pages.iter().enumerate() {
        let loc = Location::attachment(a, Part::AttachmentPage { page: i });
        let here: Vec<_> = index.at(&loc).collect();
        if here.iter().any(|d| d.span.is_none() && d.region.is_none() && d.action.removes()) {
            held.push(i);
            continue;
        }
        // A page read by OCR has its OCR text after its own text: a span before `offset` is
        // glyphs of the page, after it words in the images.
        let ocr = scans.get(i).and_then(|s| s.read());
        let own = pt.text.len();
        let mut marks: Vec<core::Mark> = Vec::new();
        for d in here.iter().filter(|d| d.action == Action::Redact) {
            let code = d.reason.map(|r| r.to_string()).unwrap_or_default();
            // Every box carries its code; the label too where the box is wide enough to read it.
            let label = d.label.as_ref().map(|l| format!("{code}: {l}")).filter(|l| l.len() <= d.removed_chars * 2);
            if let Some(s) = d.span {
                if s.start() < own {
                    marks.push(core::Mark::text(s.start()..s.end().min(own), code.clone(), label.clone()));
                }
                if let Some((_, off)) = ocr {
                    if s.end() > off {
                        let range = s.start().max(off) - off..s.end() - off;
                        pixel_marks
                            .entry(i)
                            .or_default()
                            .push(PixelMark::Words { range, label: label.unwrap_or(code) });
                    }
                }
            } else if let Some(rect) = d.region {
                // A region a reviewer drew: the glyphs and paths under it go (the text redaction),
                // and the pixels of every image under it.
                marks.push(core::Mark::region(rect, code.clone(), None));
                pixel_marks.entry(i).or_default().push(PixelMark::Region { rect, label: code });
            }
        }
        if !marks.is_empty() {
            if let Some(pt) = r.pages.get(i) {
                let mut runs = core::region_runs(pt, &marks);
                // and the words OCR read under a region, in the page's text after its own
                if let Some((page, off)) = ocr {
                    let rects: Vec<[f64; 4]> = marks.iter().filter_map(|m| m.region).collect();
                    for w in &page.words {
                        let b = w.bbox;
                        if rects.iter().any(|r| r[0] < b[2] && b[0] < r[2] && r[1] < b[3] && b[1] < r[3]) {
                            runs.push(w.range.start + off..w.range.end + off);
                        }
                    }
                }
                if !runs.is_empty() {
                    out.region_text.push((a.clone(), i, runs));
                }
            }
            edits.push(core::PageEdit { index: i, marks });
        }
    }
    match core::redact_with(&r.loaded, &r.pages, &edits, false) {
        Ok(mut red) => {
            let mut failed_here: Vec<usize> = Vec::new();
            // Pages already held (scans, unreadable fonts) are withheld anyway; only pages meant for
            // release count as verification failures.
            for v in red.verdicts.iter().filter(|v| !v.ok && !held.contains(&v.index)) {
                failed_here.push(v.index);
                out.failed.push(FailedPage { attachment: a.clone(), page: v.index, problems: v.problems.clone() });
            }
            // Pixels: painted boxes, the layer of kept words, the page read again.
            let skip: std::collections::BTreeSet<usize> = held.iter().chain(&failed_here).copied().collect();
            let px = crate::ocr::pages::redact_pages(&mut red.doc, scans, &pixel_marks, &skip, tess);
            for (i, problems) in px.failed {
                failed_here.push(i);
                out.failed.push(FailedPage { attachment: a.clone(), page: i, problems });
            }
            red.boxes.extend(px.boxes.into_iter().map(|(page, rect, label)| core::MarkBox {
                page,
                rect,
                label,
                line: None,
            }));
            // On a page read by OCR, its images' ink is the words kept in them.
            for (i, (images, words)) in px.read {
                if let Some(ink) = red.ink.get_mut(i) {
                    let same = |a: &[f64; 4], b: &[f64; 4]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.5);
                    ink.images.retain(|b| !images.iter().any(|r| same(r, b)));
                    ink.text.extend(words);
                }
            }
            out.sanitized.push((a.clone(), red.sanitized.kinds.clone()));
            let page_ids: Vec<lopdf::ObjectId> = red.doc.get_pages().values().copied().collect();
            let keep: Vec<(usize, lopdf::ObjectId)> = page_ids
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !held.contains(i) && !failed_here.contains(i))
                .collect();
            out.pages.insert(
                a.clone(),
                bundle::AttachmentPages { doc: Arc::new(red.doc), pages: keep, boxes: red.boxes, ink: red.ink },
            );
        }
        Err(e) => {
            // The whole document fails closed.
            for i in 0..r.pages.len() {
                out.failed.push(FailedPage {
                    attachment: a.clone(),
                    page: i,
                    problems: vec![format!("redaction failed: {e}")],
                });
            }
        }
    }
    out
}
