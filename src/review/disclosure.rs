//! The disclosure: what the bundle shows, after the review. The redaction of text and PDFs, the
//! bundle and the schedule read it and never change it.

use crate::file::Location;
use crate::policy::{Action, Consultation, Mark, Narrative, Reason, Request, ReviewItem};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Whether the disclosure may be released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Not approved: every page says DRAFT, and it cannot be signed.
    Draft,
    /// Approved by a reviewer (a second one, when the policy asks for it).
    Approved { by: String, at: String },
    /// Released by one officer without review, recorded as their decision.
    Unreviewed { by: String, why: String },
}

impl Status {
    pub fn is_final(&self) -> bool {
        !matches!(self, Status::Draft)
    }
}

/// What the bundle shows.
#[derive(Clone, Debug, Serialize)]
pub struct Disclosure {
    pub request: Request,
    pub status: Status,
    /// Every mark in effect (kept findings too, so the officer sees why).
    pub marks: Vec<Mark>,
    /// Items still held for a person's decision, and marks to look at.
    pub review: Vec<ReviewItem>,
    pub consult: Vec<Consultation>,
    pub narrative: Vec<Narrative>,
    /// Share of the subject's own narrative removed across the file (percent).
    pub narrative_removed_percent: f64,
}

impl Disclosure {
    /// Counts of removing marks (and placeholders) by reason code.
    pub fn counts(&self) -> BTreeMap<Reason, usize> {
        let mut m = BTreeMap::new();
        for d in &self.marks {
            if d.action.removes() || d.action == Action::Insert {
                if let Some(r) = d.reason {
                    *m.entry(r).or_insert(0) += 1;
                }
            }
        }
        m
    }

    /// The marks that remove or insert something, with their index (the schedule's rows).
    pub fn scheduled(&self) -> impl Iterator<Item = (u32, &Mark)> {
        self.marks
            .iter()
            .enumerate()
            .filter(|(_, m)| m.action.removes() || m.action == Action::Insert)
            .map(|(i, m)| (i as u32, m))
    }
}

/// The disclosure's marks indexed by location, built once, so that looking up the marks of one
/// piece of text does not scan them all.
pub struct Index<'a> {
    marks: &'a [Mark],
    by_loc: HashMap<&'a Location, Vec<u32>>,
}

impl<'a> Index<'a> {
    pub fn new(d: &'a Disclosure) -> Index<'a> {
        let mut by_loc: HashMap<&'a Location, Vec<u32>> = HashMap::new();
        for (i, m) in d.marks.iter().enumerate() {
            by_loc.entry(&m.location).or_default().push(i as u32);
        }
        Index { marks: &d.marks, by_loc }
    }

    /// Marks at one location, in order.
    pub fn at(&self, loc: &Location) -> impl Iterator<Item = &'a Mark> + '_ {
        self.at_indexed(loc).map(|(_, m)| m)
    }

    /// Marks at one location with their index in the disclosure (which a drawn mark carries, so
    /// that the schedule can name the page where it is).
    pub fn at_indexed(&self, loc: &Location) -> impl Iterator<Item = (u32, &'a Mark)> + '_ {
        let ms = self.marks;
        self.by_loc.get(loc).into_iter().flat_map(move |v| v.iter().map(move |&i| (i, &ms[i as usize])))
    }

    /// The whole-element mark (withhold or review) of a location, if any.
    pub fn withheld(&self, loc: &Location) -> Option<&'a Mark> {
        self.withheld_indexed(loc).map(|(_, m)| m)
    }

    /// The whole-element mark of a location with its index.
    pub fn withheld_indexed(&self, loc: &Location) -> Option<(u32, &'a Mark)> {
        self.at_indexed(loc).find(|(_, m)| {
            m.span.is_none() && m.region.is_none() && matches!(m.action, Action::Withhold | Action::Review)
        })
    }
}
