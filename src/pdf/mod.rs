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
/// channel, verify by reading the result again. A page that fails verification is withheld.
pub fn redact_attachments(
    plan: &Disclosure,
    read: &HashMap<AttachmentId, Result<ReadAttachment, core::PdfError>>,
) -> RedactedAttachments {
    use rayon::prelude::*;
    let index = Index::new(plan);
    let mut ids: Vec<&AttachmentId> = read.keys().collect();
    ids.sort();
    // Each attachment is redacted on its own (in parallel), then merged in id order.
    let results: Vec<RedactedAttachments> = ids.par_iter().map(|a| redact_one(&index, a, &read[*a])).collect();
    let mut out = RedactedAttachments::default();
    for r in results {
        out.pages.extend(r.pages);
        out.sanitized.extend(r.sanitized);
        out.failed.extend(r.failed);
    }
    out
}

fn redact_one(
    index: &Index<'_>,
    a: &AttachmentId,
    read: &Result<ReadAttachment, core::PdfError>,
) -> RedactedAttachments {
    let mut out = RedactedAttachments::default();
    let Ok(r) = read else { return out };
    if index.withheld(&Location::attachment(a, Part::Attachment)).is_some() {
        return out;
    }
    let mut edits = Vec::new();
    let mut held = Vec::new();
    for (i, _) in r.pages.iter().enumerate() {
        let loc = Location::attachment(a, Part::AttachmentPage { page: i });
        let here: Vec<_> = index.at(&loc).collect();
        if here.iter().any(|d| d.span.is_none() && d.region.is_none() && d.action.removes()) {
            held.push(i);
            continue;
        }
        let marks: Vec<core::Mark> = here
            .iter()
            .filter(|d| d.action == Action::Redact)
            .filter_map(|d| {
                let s = d.span?;
                let code = d.reason.map(|r| r.to_string()).unwrap_or_default();
                // Every box carries its code; the label too where the box is wide enough to read it.
                let label = d.label.as_ref().map(|l| format!("{code}: {l}")).filter(|l| l.len() <= d.removed_chars * 2);
                Some(core::Mark { range: s.start()..s.end(), code, label })
            })
            .collect();
        if !marks.is_empty() {
            edits.push(core::PageEdit { index: i, marks });
        }
    }
    match core::redact_with(&r.loaded, &r.pages, &edits, false) {
        Ok(red) => {
            let mut failed_here: Vec<usize> = Vec::new();
            // Pages already held (scans, unreadable fonts) are withheld anyway; only pages meant for
            // release count as verification failures.
            for v in red.verdicts.iter().filter(|v| !v.ok && !held.contains(&v.index)) {
                failed_here.push(v.index);
                out.failed.push(FailedPage { attachment: a.clone(), page: v.index, problems: v.problems.clone() });
            }
            out.sanitized.push((a.clone(), red.sanitized.kinds.clone()));
            let page_ids: Vec<lopdf::ObjectId> = red.doc.get_pages().values().copied().collect();
            let keep: Vec<(usize, lopdf::ObjectId)> = page_ids
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !held.contains(i) && !failed_here.contains(i))
                .collect();
            out.pages
                .insert(a.clone(), bundle::AttachmentPages { doc: Arc::new(red.doc), pages: keep, boxes: red.boxes });
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
