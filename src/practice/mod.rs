//! The recording-practice check: where a family's records carry one child's story on another
//! child's file, before anything is disclosed. Seven kinds of finding, each a precise test on the
//! case graph (CASE-EXPORT.md sections 5 and 6), switched and tuned by the practice policy
//! (`policies/practice.toml`): a visit with an absent child who was not ungrouped, one child's
//! detail in a shared section, plans copied across children, assessments that do not consider a
//! child, a child of the family with no contact, a sibling's event with no reference, and
//! judgmental or unexplained words.
//!
//! It owns the checks, their findings (ids and offsets, never the words) and the report that an
//! officer or team manager reads. It reads the family as loaded from the store and uses the
//! detector's name forms to tell whether a sentence names a child; it must not write to the
//! store, change a record, decide anything about disclosure, or put case words in the CSV or on
//! standard output (the HTML report is for the officer inside the council and quotes the text).

pub mod lexicon;
pub mod policy;
pub mod report;

mod kinds;

pub use policy::{Practice, PracticePolicyError};

use crate::detect::{Detector, Span};
use crate::model::*;
use serde::Serialize;

/// The seven kinds of finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    AbsentNotUngrouped,
    SiblingDetailInSharedSection,
    PlanCopiedAcrossChildren,
    AssessmentNotIndividual,
    KnownChildWithoutContact,
    UnreferencedSiblingDetail,
    Language,
}

impl Kind {
    /// Every kind, in the order of the issue and the reports.
    pub const ALL: [Kind; 7] = [
        Kind::AbsentNotUngrouped,
        Kind::SiblingDetailInSharedSection,
        Kind::PlanCopiedAcrossChildren,
        Kind::AssessmentNotIndividual,
        Kind::KnownChildWithoutContact,
        Kind::UnreferencedSiblingDetail,
        Kind::Language,
    ];

    /// The code used in the CSV and the policy file.
    pub fn code(self) -> &'static str {
        match self {
            Kind::AbsentNotUngrouped => "absent_not_ungrouped",
            Kind::SiblingDetailInSharedSection => "sibling_detail_in_shared_section",
            Kind::PlanCopiedAcrossChildren => "plan_copied_across_children",
            Kind::AssessmentNotIndividual => "assessment_not_individual",
            Kind::KnownChildWithoutContact => "known_child_without_contact",
            Kind::UnreferencedSiblingDetail => "unreferenced_sibling_detail",
            Kind::Language => "language",
        }
    }

    /// A short title for the report.
    pub fn title(self) -> &'static str {
        match self {
            Kind::AbsentNotUngrouped => "Absent child not ungrouped",
            Kind::SiblingDetailInSharedSection => "One child's detail in a shared section",
            Kind::PlanCopiedAcrossChildren => "Plan copied across children",
            Kind::AssessmentNotIndividual => "Assessment does not consider a child",
            Kind::KnownChildWithoutContact => "Child of the family with no contact",
            Kind::UnreferencedSiblingDetail => "Sibling's event with no reference",
            Kind::Language => "Judgmental or unexplained words",
        }
    }

    /// What the kind means, in a sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::AbsentNotUngrouped => {
                "A visit is recorded on a child's file although the child was absent, or was not seen on a visit that must see the child, and was not ungrouped from it."
            }
            Kind::SiblingDetailInSharedSection => {
                "A shared section, on the file of every child of the record, carries detail about one of them only."
            }
            Kind::PlanCopiedAcrossChildren => {
                "Plans of different children are near-identical or were copied from one another, so they may not consider each child."
            }
            Kind::AssessmentNotIndividual => {
                "An assessment on several children's files never names one of them and has no section for them."
            }
            Kind::KnownChildWithoutContact => {
                "A child of the family when it first came to the council has no contact or referral on their own file soon after."
            }
            Kind::UnreferencedSiblingDetail => {
                "Text on one child's file describes an event of a sibling who is not on the record, without pointing to where it is recorded."
            }
            Kind::Language => {
                "Words that judge rather than describe, or acronyms a reader may not know, from the council's lexicon."
            }
        }
    }

    /// Whether the policy runs this kind.
    pub fn enabled(self, p: &policy::PracticePolicy) -> bool {
        match self {
            Kind::AbsentNotUngrouped => p.absent_not_ungrouped.enabled,
            Kind::SiblingDetailInSharedSection => p.sibling_detail_in_shared_section.enabled,
            Kind::PlanCopiedAcrossChildren => p.plan_copied_across_children.enabled,
            Kind::AssessmentNotIndividual => p.assessment_not_individual.enabled,
            Kind::KnownChildWithoutContact => p.known_child_without_contact.enabled,
            Kind::UnreferencedSiblingDetail => p.unreferenced_sibling_detail.enabled,
            Kind::Language => p.language.enabled,
        }
    }
}

/// Where in a record a finding sits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Place {
    /// The record as a whole (its membership, its set of sections).
    Record,
    /// A section's body.
    Section(SectionId),
    /// An appendment's body.
    Appendment(String),
}

impl Place {
    /// The form used in the CSV: empty, the section id, or `appendment:ID`.
    pub fn code(&self) -> String {
        match self {
            Place::Record => String::new(),
            Place::Section(s) => s.to_string(),
            Place::Appendment(a) => format!("appendment:{a}"),
        }
    }
}

/// What the finding rests on: ids, codes, numbers and byte ranges in the section's text as the
/// store holds it (HTML bodies converted to text), never the words themselves.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// Kind 1: `membership[member]` is absent (`attendance: absent`) or not seen (`seen: false`).
    Absence { member: usize, absent: bool },
    /// Kind 2: the sentences naming only the child, the markers in them, and the section's flags
    /// about the child.
    Detail { sentences: Vec<Span>, markers: Vec<Span>, flags: Vec<String> },
    /// Kind 3: the earlier plan, the Jaccard similarity of their word runs (when compared), and
    /// whether a `copied_from` link joins them.
    Plan { earlier: RecordId, similarity: Option<f64>, copied_from: bool },
    /// Kind 4: how many sections the record has (none names the child or is scoped to them).
    NotConsidered { sections: usize },
    /// Kind 5: the record is the family's first contact or referral; none is on the child's file
    /// within `window_days` of it.
    NoContact { window_days: u32 },
    /// Kind 6: the sentences naming the sibling with an event word, and the event words.
    Event { sentences: Vec<Span>, events: Vec<Span> },
    /// Kind 7: a judgmental term of the lexicon (`terms[term]`) at `span`.
    Term { span: Span, term: usize },
    /// Kind 7: an acronym of the lexicon (`acronyms[acronym]`) used at `span` with no expansion
    /// earlier in the record (its first such use).
    Acronym { span: Span, acronym: usize },
}

impl Evidence {
    /// What tells two findings of one kind on one record apart, for the finding id: the first
    /// offset (or member index), or the earlier plan.
    fn key(&self) -> String {
        match self {
            Evidence::Plan { earlier, .. } => earlier.to_string(),
            e => e.first_offset().to_string(),
        }
    }

    /// The first byte offset the evidence points at, for ordering.
    fn first_offset(&self) -> usize {
        match self {
            Evidence::Absence { member, .. } => *member,
            Evidence::Detail { sentences, .. } | Evidence::Event { sentences, .. } => {
                sentences.first().map(|s| s.start()).unwrap_or(0)
            }
            Evidence::Term { span, .. } | Evidence::Acronym { span, .. } => span.start(),
            _ => 0,
        }
    }
}

/// One finding of the check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The record that carries the problem (for kind 3 the later plan, for kind 5 the family's
    /// first contact or referral).
    pub record: RecordId,
    pub place: Place,
    /// The children concerned: the child whose detail, plan, consideration or contact it is.
    pub children: Vec<PersonId>,
    pub evidence: Evidence,
}

impl Finding {
    /// A stable id from what the finding is about (kind, record, place, children, and the first
    /// offset or, for a plan, the earlier plan),
    /// so the same finding keeps its id when the check runs again.
    pub fn id(&self) -> String {
        let kids: Vec<&str> = self.children.iter().map(|c| c.as_str()).collect();
        let place = match &self.place {
            Place::Record => "-".to_string(),
            p => p.code(),
        };
        format!("{}/{}/{}/{}/{}", self.kind.code(), self.record, place, kids.join("+"), self.evidence.key())
    }
}

/// The findings of one run over a family.
#[derive(Clone, Debug)]
pub struct Report {
    pub export: ExportId,
    /// The child the run was narrowed to, if any.
    pub child: Option<PersonId>,
    /// In record order (date, id), then kind, place and offset.
    pub findings: Vec<Finding>,
    /// Records looked at.
    pub records: usize,
    /// The kinds that ran.
    pub kinds: Vec<Kind>,
    pub policy_source: String,
    pub policy_sha256: String,
}

impl Report {
    /// How many findings of a kind.
    pub fn count(&self, k: Kind) -> usize {
        self.findings.iter().filter(|f| f.kind == k).count()
    }
}

/// Run every enabled kind over the family. With `child`, keep the findings about that child and
/// those on records on that child's file.
pub fn check(family: &Family, detector: &Detector, practice: &Practice, child: Option<&PersonId>) -> Report {
    let ctx = kinds::Ctx::new(family, detector, practice);
    let mut findings = Vec::new();
    for r in &family.records {
        ctx.record(r, &mut findings);
    }
    ctx.plans(None, &mut findings);
    ctx.first_contact(None, &mut findings);
    if let Some(c) = child {
        findings.retain(|f| f.children.contains(c) || family.record(&f.record).is_some_and(|r| r.on_file_of(c)));
    }
    sort(family, &mut findings);
    Report {
        export: family.header.id.clone(),
        child: child.cloned(),
        findings,
        records: family.records.len(),
        kinds: Kind::ALL.into_iter().filter(|k| k.enabled(&practice.policy)).collect(),
        policy_source: practice.source.clone(),
        policy_sha256: practice.sha256.clone(),
    }
}

/// The findings of one record (those whose `record` it is), as `check` reports them, for a page
/// that shows a record's practice findings beside its marks. Empty when the record is not in
/// the family.
pub fn record_findings(family: &Family, detector: &Detector, practice: &Practice, record: &RecordId) -> Vec<Finding> {
    let Some(r) = family.record(record) else { return Vec::new() };
    let ctx = kinds::Ctx::new(family, detector, practice);
    let mut findings = Vec::new();
    ctx.record(r, &mut findings);
    ctx.plans(Some(record), &mut findings);
    ctx.first_contact(Some(record), &mut findings);
    sort(family, &mut findings);
    findings
}

fn sort(family: &Family, v: &mut [Finding]) {
    v.sort_by(|a, b| {
        let when = |f: &Finding| family.record(&f.record).map(|r| r.occurred.start.clone());
        when(a)
            .cmp(&when(b))
            .then_with(|| a.record.cmp(&b.record))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.place.cmp(&b.place))
            .then_with(|| a.evidence.first_offset().cmp(&b.evidence.first_offset()))
            .then_with(|| a.children.cmp(&b.children))
            .then_with(|| a.evidence.key().cmp(&b.evidence.key()))
    });
}
