//! The disclosure plan: every decision with where it applies, what is done, the reason code, the
//! rule that fired and why, but never the removed text. It is the output of `policy::decide` and
//! the input of `redact`.

use crate::detect::Span;
use crate::model::*;
use serde::Serialize;

/// Which piece of the file a decision is about.
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

/// Where a decision applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentId>,
    pub part: Part,
}

impl Location {
    pub fn record(r: &RecordId, part: Part) -> Location {
        Location { record: Some(r.clone()), attachment: None, part }
    }
    pub fn attachment(a: &AttachmentId, part: Part) -> Location {
        Location { record: None, attachment: Some(a.clone()), part }
    }
    /// A short human form: `rec-004 s2 body`, `att-ppn page 1`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.record {
            s.push_str(r.as_str());
        }
        if let Some(a) = &self.attachment {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(a.as_str());
        }
        let p = match &self.part {
            Part::Record => "whole record".to_string(),
            Part::Title => "title".into(),
            Part::Author => "author".into(),
            Part::Member { person } => format!("children concerned ({person})"),
            Part::Participant { index } => format!("participant {}", index + 1),
            Part::Section { section } => format!("section {section}"),
            Part::Heading { section } => format!("section {section} heading"),
            Part::Body { section } => format!("section {section}"),
            Part::Field { section, key } => format!("section {section} field {key}"),
            Part::Appendment { id } => format!("appendment {id}"),
            Part::Link { index } => format!("link {}", index + 1),
            Part::Attachment => "whole attachment".into(),
            Part::AttachmentTitle => "attachment title".into(),
            Part::AttachmentAuthor => "attachment author".into(),
            Part::AttachmentPage { page } => format!("page {}", page + 1),
        };
        format!("{s} {p}")
    }
}

/// What is done.
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

/// Text shared by many decisions (codes, rule ids, labels, explanations repeat across a file):
/// each distinct text is held once.
pub type Shared = std::sync::Arc<str>;

/// One decision.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub location: Location,
    /// The byte range in the element's text, for span decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    pub action: Action,
    /// The reason code (TP, SIB, ...); none for a disclose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Shared>,
    /// The rule that fired, e.g. `R5.referrer`.
    pub rule: Shared,
    /// Words shown in place of the text (`your brother`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Shared>,
    /// Why: recognizer, form and ids; never the removed words.
    pub explanation: Shared,
    /// How many characters this removes (0 for keep and insert).
    pub removed_chars: usize,
}

/// An item waiting for a person's decision (review), withheld until then.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewItem {
    pub location: Location,
    pub reason: String,
    pub rule: String,
    pub why: String,
}

/// A record or attachment to check with the agency that supplied it before release.
#[derive(Clone, Debug, Serialize)]
pub struct Consultation {
    pub location: Location,
    pub source: Option<String>,
}

/// How much of the subject's own narrative was removed, per record.
#[derive(Clone, Debug, Serialize)]
pub struct Narrative {
    pub record: RecordId,
    pub chars: usize,
    pub removed: usize,
    pub percent: f64,
}

/// The request being answered.
#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub export: ExportId,
    pub subject: PersonId,
    pub requester: super::Party,
    /// What the policy's request check established (markers overridden, with the reason).
    pub fit: super::Fit,
    pub policy: String,
    pub policy_sha256: String,
    pub audience: String,
    /// The date of the request (YYYY-MM-DD): used instead of the clock.
    pub date: String,
}

/// The whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub request: Request,
    pub decisions: Vec<Decision>,
    pub review: Vec<ReviewItem>,
    pub consult: Vec<Consultation>,
    pub narrative: Vec<Narrative>,
    /// Share of the subject's own narrative removed across the file (percent).
    pub narrative_removed_percent: f64,
    /// Per attachment: the kinds of hidden content found and dropped (filled by the PDF stage).
    pub sanitized: Vec<(AttachmentId, Vec<String>)>,
    /// Attachment pages that failed verification after redaction (withheld; the run fails).
    pub verification_failures: usize,
}

impl Plan {
    /// Decisions at one location, in span order.
    pub fn at<'a>(&'a self, loc: &'a Location) -> impl Iterator<Item = &'a Decision> + 'a {
        self.decisions.iter().filter(move |d| &d.location == loc)
    }

    /// The whole-element decision (withhold or review) for a location, if any.
    pub fn withheld(&self, loc: &Location) -> Option<&Decision> {
        self.decisions
            .iter()
            .find(|d| &d.location == loc && d.span.is_none() && matches!(d.action, Action::Withhold | Action::Review))
    }

    /// Counts of removing decisions by reason code.
    pub fn counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        for d in &self.decisions {
            if d.action.removes() || d.action == Action::Insert {
                if let Some(r) = &d.reason {
                    *m.entry(r.to_string()).or_insert(0) += 1;
                }
            }
        }
        m
    }
}

/// The plan's decisions indexed by location, built once, so that looking up the decisions of one
/// piece of text does not scan the whole plan.
pub struct PlanIndex<'a> {
    decisions: &'a [Decision],
    by_loc: std::collections::HashMap<&'a Location, Vec<u32>>,
}

impl<'a> PlanIndex<'a> {
    pub fn new(plan: &'a Plan) -> PlanIndex<'a> {
        let mut by_loc: std::collections::HashMap<&'a Location, Vec<u32>> = std::collections::HashMap::new();
        for (i, d) in plan.decisions.iter().enumerate() {
            by_loc.entry(&d.location).or_default().push(i as u32);
        }
        PlanIndex { decisions: &plan.decisions, by_loc }
    }

    /// Decisions at one location, in plan order.
    pub fn at(&self, loc: &Location) -> impl Iterator<Item = &'a Decision> + '_ {
        self.at_indexed(loc).map(|(_, d)| d)
    }

    /// Decisions at one location with their index in the plan (which a mark carries, so that the
    /// schedule can name the page where the mark is).
    pub fn at_indexed(&self, loc: &Location) -> impl Iterator<Item = (u32, &'a Decision)> + '_ {
        let ds = self.decisions;
        self.by_loc.get(loc).into_iter().flat_map(move |v| v.iter().map(move |&i| (i, &ds[i as usize])))
    }

    /// The whole-element decision (withhold or review) for a location, if any.
    pub fn withheld(&self, loc: &Location) -> Option<&'a Decision> {
        self.withheld_indexed(loc).map(|(_, d)| d)
    }

    /// The whole-element decision for a location with its index in the plan.
    pub fn withheld_indexed(&self, loc: &Location) -> Option<(u32, &'a Decision)> {
        self.at_indexed(loc).find(|(_, d)| d.span.is_none() && matches!(d.action, Action::Withhold | Action::Review))
    }
}
