//! Review: the officers' decisions on a proposal, and the disclosure they give. A decision
//! accepts a proposed mark, rejects it (the words stay in), releases a held item (it goes into the
//! bundle with the ordinary marks applied inside it) or withholds it with a code; a reviewer may
//! also add a mark the engine missed, and decide every mark of one person at once.
//! `apply(&Proposal, &Decisions)` gives the `Disclosure`: what the bundle shows. It is a pure
//! function: the same proposal and decisions give the same disclosure. Decisions are kept in the
//! case store (`crate::store`); this module holds no connection.

pub mod disclosure;
pub mod session;
pub mod workflow;

pub use disclosure::{Disclosure, Index, Status};

use crate::detect::Span;
use crate::file::Location;
use crate::model::*;
use crate::policy::{pct, Action, Mark, MarkId, Narrative, Proposal, Reason, ReviewItem, Shared};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a reviewer decided about a mark or a held item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// As proposed.
    Accept,
    /// Not removed: the words stay in.
    Reject,
    /// A held or withheld item goes into the bundle, with the ordinary marks inside it.
    Release,
    /// Withheld (a whole item) or redacted (words), with this code.
    Withhold { code: Reason },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
            Verdict::Release => "release",
            Verdict::Withhold { .. } => "withhold",
        }
    }
}

/// One decision, by whom and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub at: String,
}

/// A mark a reviewer added, resolved to the places where it applies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Added {
    /// The addition's id (one addition may mark many occurrences).
    pub id: String,
    pub code: Reason,
    pub reviewer: String,
    pub why: String,
    /// Each occurrence: a span of a piece of text, or a region of an attachment page.
    pub at: Vec<(Location, AddedSpan)>,
}

/// Where an added mark applies inside a location.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AddedSpan {
    Text {
        span: Span,
    },
    /// A rectangle [x1, y1, x2, y2] in the page's user space.
    Region {
        rect: [f64; 4],
    },
}

/// Every decision on one request.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    pub marks: BTreeMap<MarkId, Decision>,
    /// "Keep every mention of P": one decision covering all of that person's marks.
    pub persons: BTreeMap<PersonId, Decision>,
    pub added: Vec<Added>,
}

impl Decisions {
    /// Decisions naming marks that the proposal no longer has (after a re-import, say).
    pub fn orphans(&self, p: &Proposal) -> Vec<MarkId> {
        let ids: HashSet<&MarkId> = p.marks.iter().map(|m| &m.id).collect();
        self.marks.keys().filter(|k| !ids.contains(k)).cloned().collect()
    }

    /// Everyone who decided anything.
    pub fn deciders(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .marks
            .values()
            .chain(self.persons.values())
            .map(|d| d.reviewer.clone())
            .chain(self.added.iter().map(|a| a.reviewer.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The decision that applies to a mark: its own, else its person's (a person decision covers
/// span marks and name lines of that person, never whole held elements).
fn decision_for<'a>(m: &Mark, d: &'a Decisions) -> Option<&'a Decision> {
    d.marks.get(&m.id).or_else(|| {
        let p = m.person.as_ref()?;
        matches!(m.action, Action::Redact | Action::Disclose).then(|| d.persons.get(p)).flatten()
    })
}

/// Apply the decisions to the proposal: the disclosure, with who decided each mark.
pub fn apply(p: &Proposal, d: &Decisions, status: Status) -> Disclosure {
    let mut shared: HashMap<String, Shared> = HashMap::new();
    let mut share = |s: &str| -> Shared { shared.entry(s.to_string()).or_insert_with(|| s.into()).clone() };
    let mut marks: Vec<Mark> = Vec::with_capacity(p.marks.len());
    for m in &p.marks {
        let mut m = m.clone();
        if let Some(dec) = decision_for(&m, d) {
            m.decided_by = Some(share(&dec.reviewer));
            let why = dec.why.as_deref().map(|w| format!("; {w}")).unwrap_or_default();
            match &dec.verdict {
                // A held item accepted as held stays out: withheld, now decided.
                Verdict::Accept if m.action == Action::Review => m.action = Action::Withhold,
                Verdict::Accept => {}
                Verdict::Reject | Verdict::Release => {
                    if m.action.removes() {
                        m.explanation =
                            format!("{}; kept by {} ({}){why}", m.explanation, dec.reviewer, dec.verdict.as_str())
                                .into();
                        m.action = Action::Disclose;
                        m.removed_chars = 0;
                    }
                }
                Verdict::Withhold { code } => {
                    m.reason = Some(*code);
                    m.explanation = format!("{}; withheld by {}{why}", m.explanation, dec.reviewer).into();
                    m.action = if m.span.is_some() { Action::Redact } else { Action::Withhold };
                    m.rule = share("R0.reviewer");
                }
            }
            m.attention = None;
        }
        marks.push(m);
    }
    for a in &d.added {
        let mut seen: HashMap<&Location, usize> = HashMap::new();
        for (loc, at) in &a.at {
            let n = seen.entry(loc).or_insert(0);
            let (span, region) = match at {
                AddedSpan::Text { span } => (Some(*span), None),
                AddedSpan::Region { rect } => (None, Some(*rect)),
            };
            marks.push(Mark {
                id: MarkId::of_added(loc, &a.id, *n),
                location: loc.clone(),
                span,
                action: Action::Redact,
                reason: Some(a.code),
                rule: share("R0.reviewer"),
                label: None,
                explanation: format!("added by {}: {}", a.reviewer, a.why).into(),
                removed_chars: span.map(|s| s.len()).unwrap_or(0),
                person: None,
                narrative: loc.record_id().is_some(),
                attention: None,
                decided_by: Some(share(&a.reviewer)),
                region,
            });
            *n += 1;
        }
    }
    // Marks inside an element that stays held back are not shown anywhere: drop them.
    let held: Vec<Location> = marks
        .iter()
        .filter(|m| m.span.is_none() && m.region.is_none() && m.action.removes())
        .map(|m| m.location.clone())
        .collect();
    // The elements a location can be inside of (`Location::within`) are its record, its section
    // and its attachment: looked up by id, not compared with every held element.
    use crate::file::Part;
    let mut records: HashSet<&RecordId> = HashSet::new();
    let mut sections: HashSet<(&RecordId, &SectionId)> = HashSet::new();
    let mut attachments: HashSet<&AttachmentId> = HashSet::new();
    for e in &held {
        match (e.part(), e.record_id(), e.attachment_id()) {
            (Part::Record, Some(r), _) => {
                records.insert(r);
            }
            (Part::Section { section }, Some(r), _) => {
                sections.insert((r, section));
            }
            (Part::Attachment, _, Some(a)) => {
                attachments.insert(a);
            }
            _ => {}
        }
    }
    let inside = |m: &Mark| -> bool {
        if held.is_empty() || (m.span.is_none() && m.region.is_none()) {
            return false;
        }
        let loc = &m.location;
        let part = loc.part();
        let in_record = loc.record_id().is_some_and(|r| records.contains(r)) && *part != Part::Record;
        let in_section = match (loc.record_id(), loc.section()) {
            (Some(r), Some(s)) => sections.contains(&(r, s)) && !matches!(part, Part::Section { .. }),
            _ => false,
        };
        let in_attachment =
            loc.attachment_id().is_some_and(|a| attachments.contains(a)) && matches!(part, Part::AttachmentPage { .. });
        in_record || in_section || in_attachment
    };
    let marks: Vec<Mark> = marks.into_iter().filter(|m| !inside(m)).collect();
    let review = marks
        .iter()
        .filter(|m| m.action == Action::Review || m.attention.is_some())
        .map(|m| ReviewItem {
            mark: m.id.clone(),
            location: m.location.clone(),
            reason: m.reason.map(|r| r.to_string()).unwrap_or_default(),
            rule: m.rule.to_string(),
            why: m.attention.as_deref().map(|a| a.to_string()).unwrap_or_else(|| m.explanation.to_string()),
        })
        .collect();
    let narrative = narrative(p, &marks);
    let (tc, trm) = narrative.iter().fold((0, 0), |a, n| (a.0 + n.chars, a.1 + n.removed));
    Disclosure {
        request: p.request.clone(),
        status,
        marks,
        review,
        consult: p.consult.clone(),
        narrative,
        narrative_removed_percent: pct(trm, tc),
    }
}

/// The share of the subject's own narrative removed, per record: a whole record withheld removes
/// all of it; otherwise every removing mark in it counts once (a name inside a removed sentence
/// is not counted twice).
fn narrative(p: &Proposal, marks: &[Mark]) -> Vec<Narrative> {
    let mut by_record: HashMap<&RecordId, Vec<&Mark>> = HashMap::new();
    for m in marks.iter().filter(|m| m.narrative && m.action.removes()) {
        if let Some(r) = m.location.record_id() {
            by_record.entry(r).or_default().push(m);
        }
    }
    p.narrative_chars
        .iter()
        .map(|(r, chars)| {
            let ms = by_record.get(r).map(|v| v.as_slice()).unwrap_or(&[]);
            let whole = ms.iter().any(|m| m.span.is_none() && matches!(m.location.part(), crate::file::Part::Record));
            let removed = if whole {
                *chars
            } else {
                ms.iter()
                    .filter(|m| {
                        !ms.iter().any(|o| {
                            o.id != m.id
                                && o.location == m.location
                                && matches!((o.span, m.span), (Some(a), Some(b)) if a.contains(&b) && (a != b || o.id < m.id))
                        })
                    })
                    .map(|m| m.removed_chars)
                    .sum::<usize>()
                    .min(*chars)
            };
            Narrative { record: r.clone(), chars: *chars, removed, percent: pct(removed, *chars) }
        })
        .collect()
}
