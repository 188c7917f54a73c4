//! Where a piece of a child's file is: a part of a record (its title, a section's body, a field)
//! or of an attachment (its title, a page). Every stage keys its work by `Location`; there is one
//! constructor per kind, so a location cannot be built half-filled in one place and looked up
//! differently in another. A location also has a stable text key (`rec-004/body/s2`) for mark ids
//! and the case store, which survives re-running and re-importing.

use crate::model::*;
use serde::Serialize;
use std::fmt;

/// Which piece of a record or attachment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// A whole record.
    Record,
    Title,
    /// Who wrote the record (the professional's name and job title).
    Author,
    /// A child the record concerns (the "concerns" line).
    Member {
        person: PersonId,
    },
    Participant {
        index: usize,
    },
    Section {
        section: SectionId,
    },
    Heading {
        section: SectionId,
    },
    Body {
        section: SectionId,
    },
    Field {
        section: SectionId,
        key: String,
    },
    Appendment {
        id: String,
    },
    Link {
        index: usize,
    },
    /// A whole attachment.
    Attachment,
    AttachmentTitle,
    /// Who wrote the document (a professional or an organisation).
    AttachmentAuthor,
    AttachmentPage {
        page: usize,
    },
}

impl Part {
    fn of_attachment(&self) -> bool {
        matches!(self, Part::Attachment | Part::AttachmentTitle | Part::AttachmentAuthor | Part::AttachmentPage { .. })
    }
}

/// Where a piece of the file is: a part of a record, or a part of an attachment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<RecordId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<AttachmentId>,
    part: Part,
}

impl Location {
    /// A part of a record. Panics on an attachment part: that is a bug in the caller.
    pub fn record(r: &RecordId, part: Part) -> Location {
        assert!(!part.of_attachment(), "an attachment part at record {r}");
        Location { record: Some(r.clone()), attachment: None, part }
    }

    /// A part of an attachment. Panics on a record part: that is a bug in the caller.
    pub fn attachment(a: &AttachmentId, part: Part) -> Location {
        assert!(part.of_attachment(), "a record part at attachment {a}");
        Location { record: None, attachment: Some(a.clone()), part }
    }

    /// The record this is a part of (none for an attachment's parts).
    pub fn record_id(&self) -> Option<&RecordId> {
        self.record.as_ref()
    }

    /// The attachment this is a part of.
    pub fn attachment_id(&self) -> Option<&AttachmentId> {
        self.attachment.as_ref()
    }

    pub fn part(&self) -> &Part {
        &self.part
    }

    /// The section a record part belongs to, if any.
    pub fn section(&self) -> Option<&SectionId> {
        match &self.part {
            Part::Section { section }
            | Part::Heading { section }
            | Part::Body { section }
            | Part::Field { section, .. } => Some(section),
            _ => None,
        }
    }

    /// Whether this location is inside `element` (a whole record, section or attachment), or is it.
    pub fn within(&self, element: &Location) -> bool {
        if self == element {
            return true;
        }
        match (&element.part, &element.record, &element.attachment) {
            (Part::Record, Some(r), _) => self.record.as_ref() == Some(r),
            (Part::Section { section }, Some(r), _) => {
                self.record.as_ref() == Some(r) && self.section() == Some(section)
            }
            (Part::Attachment, _, Some(a)) => {
                self.attachment.as_ref() == Some(a) && matches!(self.part, Part::AttachmentPage { .. })
            }
            _ => false,
        }
    }

    /// A stable key (`rec-004/body/s2`, `att-ppn/page/1`): the same for the same piece of the same
    /// export, whatever run made it. Ids are of the export's id form, so `/` never occurs in them.
    pub fn key(&self) -> String {
        let owner = self.record.as_ref().map(|r| r.as_str()).or(self.attachment.as_ref().map(|a| a.as_str()));
        let owner = owner.unwrap_or_default();
        match &self.part {
            Part::Record => format!("{owner}/record"),
            Part::Title => format!("{owner}/title"),
            Part::Author => format!("{owner}/author"),
            Part::Member { person } => format!("{owner}/member/{person}"),
            Part::Participant { index } => format!("{owner}/participant/{index}"),
            Part::Section { section } => format!("{owner}/section/{section}"),
            Part::Heading { section } => format!("{owner}/heading/{section}"),
            Part::Body { section } => format!("{owner}/body/{section}"),
            Part::Field { section, key } => format!("{owner}/field/{section}/{key}"),
            Part::Appendment { id } => format!("{owner}/appendment/{id}"),
            Part::Link { index } => format!("{owner}/link/{index}"),
            Part::Attachment => format!("{owner}/attachment"),
            Part::AttachmentTitle => format!("{owner}/attachment-title"),
            Part::AttachmentAuthor => format!("{owner}/attachment-author"),
            Part::AttachmentPage { page } => format!("{owner}/page/{}", page + 1),
        }
    }

    /// The location of a key made by [`Location::key`], if it is one.
    pub fn parse_key(key: &str) -> Option<Location> {
        let mut it = key.split('/');
        let owner = it.next().filter(|o| is_valid_id(o))?;
        let kind = it.next()?;
        let rest: Vec<&str> = it.collect();
        let rec = |part: Part| Some(Location::record(&RecordId(owner.to_string()), part));
        let att = |part: Part| Some(Location::attachment(&AttachmentId(owner.to_string()), part));
        let num = |s: &str| s.parse::<usize>().ok();
        match (kind, rest.as_slice()) {
            ("record", []) => rec(Part::Record),
            ("title", []) => rec(Part::Title),
            ("author", []) => rec(Part::Author),
            ("member", [p]) => rec(Part::Member { person: PersonId(p.to_string()) }),
            ("participant", [i]) => rec(Part::Participant { index: num(i)? }),
            ("section", [s]) => rec(Part::Section { section: SectionId(s.to_string()) }),
            ("heading", [s]) => rec(Part::Heading { section: SectionId(s.to_string()) }),
            ("body", [s]) => rec(Part::Body { section: SectionId(s.to_string()) }),
            ("field", [s, k]) => rec(Part::Field { section: SectionId(s.to_string()), key: k.to_string() }),
            ("appendment", [id]) => rec(Part::Appendment { id: id.to_string() }),
            ("link", [i]) => rec(Part::Link { index: num(i)? }),
            ("attachment", []) => att(Part::Attachment),
            ("attachment-title", []) => att(Part::AttachmentTitle),
            ("attachment-author", []) => att(Part::AttachmentAuthor),
            ("page", [p]) => att(Part::AttachmentPage { page: num(p)?.checked_sub(1)? }),
            _ => None,
        }
    }

    /// A short human form: `rec-004 section s2`, `att-ppn page 1`.
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.record {
            write!(f, "{r} ")?;
        }
        if let Some(a) = &self.attachment {
            write!(f, "{a} ")?;
        }
        match &self.part {
            Part::Record => write!(f, "whole record"),
            Part::Title => write!(f, "title"),
            Part::Author => write!(f, "author"),
            Part::Member { person } => write!(f, "children concerned ({person})"),
            Part::Participant { index } => write!(f, "participant {}", index + 1),
            Part::Section { section } => write!(f, "section {section}"),
            Part::Heading { section } => write!(f, "section {section} heading"),
            Part::Body { section } => write!(f, "section {section}"),
            Part::Field { section, key } => write!(f, "section {section} field {key}"),
            Part::Appendment { id } => write!(f, "appendment {id}"),
            Part::Link { index } => write!(f, "link {}", index + 1),
            Part::Attachment => write!(f, "whole attachment"),
            Part::AttachmentTitle => write!(f, "attachment title"),
            Part::AttachmentAuthor => write!(f, "attachment author"),
            Part::AttachmentPage { page } => write!(f, "page {}", page + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let r = RecordId("rec-004".into());
        let a = AttachmentId("att-ppn".into());
        let s = SectionId("s2".into());
        for loc in [
            Location::record(&r, Part::Record),
            Location::record(&r, Part::Title),
            Location::record(&r, Part::Author),
            Location::record(&r, Part::Member { person: PersonId("p-x".into()) }),
            Location::record(&r, Part::Participant { index: 3 }),
            Location::record(&r, Part::Section { section: s.clone() }),
            Location::record(&r, Part::Heading { section: s.clone() }),
            Location::record(&r, Part::Body { section: s.clone() }),
            Location::record(&r, Part::Field { section: s.clone(), key: "decision".into() }),
            Location::record(&r, Part::Appendment { id: "ap1".into() }),
            Location::record(&r, Part::Link { index: 0 }),
            Location::attachment(&a, Part::Attachment),
            Location::attachment(&a, Part::AttachmentTitle),
            Location::attachment(&a, Part::AttachmentAuthor),
            Location::attachment(&a, Part::AttachmentPage { page: 0 }),
        ] {
            assert_eq!(Location::parse_key(&loc.key()), Some(loc.clone()), "{}", loc.key());
        }
        assert_eq!(Location::parse_key("Rec/title"), None);
        assert_eq!(Location::parse_key("rec-1/page/0"), None);
        assert_eq!(Location::parse_key("rec-1/nothing"), None);
    }

    #[test]
    fn within_an_element() {
        let r = RecordId("rec-1".into());
        let s = SectionId("s1".into());
        let body = Location::record(&r, Part::Body { section: s.clone() });
        assert!(body.within(&Location::record(&r, Part::Section { section: s.clone() })));
        assert!(body.within(&Location::record(&r, Part::Record)));
        assert!(!body.within(&Location::record(&r, Part::Section { section: SectionId("s2".into()) })));
        let a = AttachmentId("att-1".into());
        let page = Location::attachment(&a, Part::AttachmentPage { page: 2 });
        assert!(page.within(&Location::attachment(&a, Part::Attachment)));
        assert!(!Location::attachment(&a, Part::AttachmentTitle).within(&Location::attachment(&a, Part::Attachment)));
    }
}
