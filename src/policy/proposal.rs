//! The policy's proposal for one request: every mark it would make on the file (keep, redact,
//! withhold, hold for review, insert a placeholder), each with a stable id, where it applies, the
//! reason code, the rule that fired and why, but never the removed text. It is immutable: the
//! review's decisions are applied to it to give the `Disclosure` (see `crate::review`).

use super::config::Reason;
use super::request::{Fit, Party};
use crate::detect::Span;
use crate::file::Location;
use crate::model::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a mark does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Kept as written (listed so the officer sees why).
    Disclose,
    /// Words removed; a mark with the code (and label) in their place.
    Redact,
    /// A whole element removed, a one-line placeholder in its place.
    Withhold,
    /// Waiting for a person; withheld until then.
    Review,
    /// A placeholder inserted after a reference to a record not on this file.
    Insert,
}

impl Action {
    /// Whether text is removed (or held back) by this action.
    pub fn removes(&self) -> bool {
        matches!(self, Action::Redact | Action::Withhold | Action::Review)
    }
}

/// Text shared by many marks (rule ids, labels and explanations repeat across a file): each
/// distinct text is held once.
pub type Shared = std::sync::Arc<str>;

/// A mark's id. It comes from what the mark is about (the location's key, the matched text as
/// normalised for matching, and which occurrence of that text in the location it is), so the same
/// mark has the same id however often the request is proposed again, and after a newer export of
/// the family is imported. It is a hash, so it carries no words.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MarkId(pub String);

impl MarkId {
    fn hashed(parts: &[&str]) -> MarkId {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        let d = h.finalize();
        MarkId(format!("m-{}", crate::import::hex(&d[..8])))
    }

    /// A mark on a span: `normalised` is the matched text as folded for matching, `occurrence`
    /// which time that text is marked in this location (0 for the first).
    pub fn of_span(loc: &Location, normalised: &str, occurrence: usize) -> MarkId {
        MarkId::hashed(&[&loc.key(), "span", normalised, &occurrence.to_string()])
    }

    /// A mark on a whole element (record, section, attachment, page, a name line).
    pub fn of_element(loc: &Location) -> MarkId {
        MarkId::hashed(&[&loc.key(), "element"])
    }

    /// A placeholder inserted after the `occurrence`th reference phrase `normalised`.
    pub fn of_insert(loc: &Location, normalised: &str, occurrence: usize) -> MarkId {
        MarkId::hashed(&[&loc.key(), "insert", normalised, &occurrence.to_string()])
    }

    /// A mark a reviewer added by hand (`added` is the id of their addition).
    pub fn of_added(loc: &Location, added: &str, occurrence: usize) -> MarkId {
        MarkId::hashed(&[&loc.key(), "added", added, &occurrence.to_string()])
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MarkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One proposed mark.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    pub id: MarkId,
    pub location: Location,
    /// The byte range in the element's text, for span marks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    pub action: Action,
    /// The reason code (TP, SIB, ...); none for a disclose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The rule that fired, e.g. `R5.referrer`.
    pub rule: Shared,
    /// Words shown in place of the text (`your brother`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Shared>,
    /// Why: recognizer, form and ids; never the removed words.
    pub explanation: Shared,
    /// How many characters this removes (0 for keep and insert).
    pub removed_chars: usize,
    /// Whose mention this is, when it is one person's: a decision by person covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    /// Whether it is in the subject's own narrative (counted in the share of it removed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub narrative: bool,
    /// Why a person should look at this mark although it is not held (an ambiguous mention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<Shared>,
    /// Who decided it, once a reviewer has (set when decisions are applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Shared>,
    /// A region [x1, y1, x2, y2] of an attachment page (user space) that a reviewer marked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<[f64; 4]>,
}

/// A record or attachment to check with the agency that supplied it before release.
#[derive(Clone, Debug, Serialize)]
pub struct Consultation {
    pub location: Location,
    pub source: Option<String>,
}

/// An item waiting for a person's decision, withheld until then (or a mark to look at).
#[derive(Clone, Debug, Serialize)]
pub struct ReviewItem {
    pub mark: MarkId,
    pub location: Location,
    pub reason: String,
    pub rule: String,
    pub why: String,
}

/// The request being answered.
#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub export: ExportId,
    pub subject: PersonId,
    pub requester: Party,
    /// What the policy's request check established (markers overridden, with the reason).
    pub fit: Fit,
    pub policy: String,
    pub policy_sha256: String,
    pub audience: String,
    /// The date of the request (YYYY-MM-DD): used instead of the clock.
    pub date: String,
}

/// Everything the policy proposes for one request.
#[derive(Clone, Debug, Serialize)]
pub struct Proposal {
    pub request: Request,
    pub marks: Vec<Mark>,
    pub consult: Vec<Consultation>,
    /// Characters of the subject's own narrative in each record, in file order.
    pub narrative_chars: Vec<(RecordId, usize)>,
}

impl Proposal {
    /// The mark with this id.
    pub fn mark(&self, id: &MarkId) -> Option<&Mark> {
        self.marks.iter().find(|m| &m.id == id)
    }

    /// Marks that hold an element until a person decides.
    pub fn held(&self) -> impl Iterator<Item = &Mark> {
        self.marks.iter().filter(|m| m.action == Action::Review)
    }
}

/// How much of the subject's own narrative was removed, per record.
#[derive(Clone, Debug, Serialize)]
pub struct Narrative {
    pub record: RecordId,
    pub chars: usize,
    pub removed: usize,
    pub percent: f64,
}

/// The share `a` of `b`, as a percentage with one decimal.
pub fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 * 1000.0 / b as f64).round() / 10.0
    }
}
