//! The pieces of text on a child's file that can reach the bundle, each with its location and the
//! children it is about: record titles and author lines, professionals' participant lines, section
//! headings, bodies and fields, appendments, attachment titles and author lines, and attachment
//! pages as the PDF reader made them. Detection reads exactly these, and the policy decides
//! exactly these, so a piece of text cannot reach the bundle without being read.

use super::{CaseFile, Entry, FileRecord, Location, Part};
use crate::model::*;
use std::borrow::Cow;
use std::collections::HashMap;

/// Text of one attachment page as read from the PDF, and whether it can be trusted.
#[derive(Clone, Debug)]
pub struct PageInput {
    pub text: String,
    /// `None` when the text is trustworthy; else why the page must be held (scan, unmapped font,
    /// an image that could not be read, OCR of low confidence).
    pub hold: Option<String>,
    /// Whether OCR ran on the page's images (`crate::ocr::pages`): their words are in `text`,
    /// after the page's own text, or `hold` says why they could not be read; a scan read this
    /// way is decided page by page instead of being held whole.
    pub ocr: bool,
}

/// What the PDF reader made of an attachment.
#[derive(Clone, Debug)]
pub enum AttachmentInput {
    Pages(Vec<PageInput>),
    /// The file could not be read safely (encrypted, damaged): withheld for review.
    Unreadable(String),
}

/// What the PDF reader made of every attachment on the file.
pub type AttachmentInputs = HashMap<AttachmentId, AttachmentInput>;

/// One piece of text on the file.
#[derive(Clone, Debug)]
pub struct Unit<'a> {
    pub loc: Location,
    pub text: Cow<'a, str>,
    /// The children the text is about: the section's scope, else the record's children on file,
    /// else (a document on its own) the subject.
    pub children: Vec<PersonId>,
}

/// A field value as text (strings as they are; other JSON as compact text).
pub fn field_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(field_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

impl<'f> CaseFile<'f> {
    /// Every piece of text on the file, in file order.
    pub fn units<'a>(&'a self, attachments: &'a AttachmentInputs) -> Vec<Unit<'a>> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e {
                Entry::Record(fr) => self.record_units(fr, attachments, &mut out),
                Entry::Attachment(a) => self.attachment_units(a, vec![self.subject.clone()], attachments, &mut out),
            }
        }
        out
    }

    /// The children a record is about: its members on file.
    pub fn record_children(r: &Record) -> Vec<PersonId> {
        r.membership.iter().filter(|m| m.on_file && m.removed.is_none()).map(|m| m.person.clone()).collect()
    }

    fn record_units<'a>(&'a self, fr: &FileRecord, attachments: &'a AttachmentInputs, out: &mut Vec<Unit<'a>>) {
        let fam = self.family;
        let Some(r) = fam.record(&fr.id) else { return };
        let children = Self::record_children(r);
        let unit = |part: Part, text: Cow<'a, str>, children: &[PersonId]| Unit {
            loc: Location::record(&r.id, part),
            text,
            children: children.to_vec(),
        };
        out.push(unit(Part::Title, Cow::Borrowed(r.title.as_str()), &children));
        out.push(unit(Part::Author, Cow::Owned(fam.professional_line(&r.recorded.by)), &children));
        for (i, p) in r.participants.iter().enumerate() {
            if let Some(pro) = &p.professional {
                out.push(unit(Part::Participant { index: i }, Cow::Owned(fam.professional_line(pro)), &children));
            }
        }
        for fs in &fr.sections {
            let s = &r.sections[fs.index];
            let ch: Vec<PersonId> = s.scope.children().map(|c| c.to_vec()).unwrap_or_else(|| children.clone());
            if let Some(h) = &s.heading {
                out.push(unit(Part::Heading { section: s.id.clone() }, Cow::Borrowed(h.as_str()), &ch));
            }
            out.push(unit(Part::Body { section: s.id.clone() }, Cow::Borrowed(fam.body(&r.id, &s.id)), &ch));
            for (k, v) in &s.fields {
                out.push(unit(Part::Field { section: s.id.clone(), key: k.clone() }, Cow::Owned(field_text(v)), &ch));
            }
        }
        for a in &r.appendments {
            out.push(unit(Part::Appendment { id: a.id.clone() }, Cow::Borrowed(a.body.as_str()), &children));
        }
        for a in &fr.attachments {
            let ch = if children.is_empty() { vec![self.subject.clone()] } else { children.clone() };
            self.attachment_units(a, ch, attachments, out);
        }
    }

    fn attachment_units<'a>(
        &'a self,
        a: &AttachmentId,
        children: Vec<PersonId>,
        attachments: &'a AttachmentInputs,
        out: &mut Vec<Unit<'a>>,
    ) {
        let fam = self.family;
        let Some(att) = fam.attachment(a) else { return };
        let unit = |part: Part, text: Cow<'a, str>| Unit {
            loc: Location::attachment(a, part),
            text,
            children: children.clone(),
        };
        out.push(unit(Part::AttachmentTitle, Cow::Borrowed(att.title.as_str())));
        out.push(unit(Part::AttachmentAuthor, Cow::Owned(fam.author_line(att))));
        if let Some(AttachmentInput::Pages(pages)) = attachments.get(a) {
            for (i, p) in pages.iter().enumerate() {
                out.push(unit(Part::AttachmentPage { page: i }, Cow::Borrowed(p.text.as_str())));
            }
        }
    }

    /// The text at a location, when it is a piece of text (for hashing what was removed).
    pub fn text_at(&self, attachments: &AttachmentInputs, loc: &Location) -> Option<String> {
        let fam = self.family;
        if let Some(a) = loc.attachment_id() {
            let att = fam.attachment(a)?;
            return match loc.part() {
                Part::AttachmentTitle => Some(att.title.clone()),
                Part::AttachmentAuthor => Some(fam.author_line(att)),
                Part::AttachmentPage { page } => match attachments.get(a) {
                    Some(AttachmentInput::Pages(p)) => p.get(*page).map(|p| p.text.clone()),
                    _ => None,
                },
                _ => None,
            };
        }
        let r = fam.record(loc.record_id()?)?;
        match loc.part() {
            Part::Title => Some(r.title.clone()),
            Part::Author => Some(fam.professional_line(&r.recorded.by)),
            Part::Participant { index } => {
                r.participants.get(*index)?.professional.as_ref().map(|p| fam.professional_line(p))
            }
            Part::Heading { section } => r.sections.iter().find(|s| &s.id == section).and_then(|s| s.heading.clone()),
            Part::Body { section } => Some(fam.body(&r.id, section).to_string()),
            Part::Field { section, key } => {
                r.sections.iter().find(|s| &s.id == section).and_then(|s| s.fields.get(key)).map(field_text)
            }
            Part::Appendment { id } => r.appendments.iter().find(|a| &a.id == id).map(|a| a.body.clone()),
            _ => None,
        }
    }
}
