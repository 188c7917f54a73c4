//! Detection over a whole file: every piece of text the file holds (`CaseFile::units`), read by
//! the detector, before and apart from any policy. The result says where each mention is and
//! whom it is about; it decides nothing.

use super::{Context, Detector, Finding};
use crate::file::{AttachmentInputs, CaseFile, Location};
use std::collections::HashMap;

/// Every finding of a file, by location.
#[derive(Debug, Default)]
pub struct Findings {
    by_loc: HashMap<Location, Vec<Finding>>,
    /// Pieces of text read (with or without findings).
    units: usize,
}

impl Findings {
    /// The findings at one location, in text order (empty when none).
    pub fn at(&self, loc: &Location) -> &[Finding] {
        self.by_loc.get(loc).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Whether the location was read at all.
    pub fn read(&self, loc: &Location) -> bool {
        self.by_loc.contains_key(loc)
    }

    /// How many findings in all.
    pub fn len(&self) -> usize {
        self.by_loc.values().map(|v| v.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many pieces of text were read.
    pub fn units(&self) -> usize {
        self.units
    }
}

/// Read every piece of text on the file (in parallel; the result does not depend on the order).
pub fn find(file: &CaseFile<'_>, det: &Detector, attachments: &AttachmentInputs) -> Findings {
    use rayon::prelude::*;
    let units = file.units(attachments);
    let n = units.len();
    let by_loc: HashMap<Location, Vec<Finding>> = units
        .into_par_iter()
        .map(|u| {
            let f = if u.text.trim().is_empty() {
                Vec::new()
            } else {
                det.find(&u.text, &Context { children: u.children })
            };
            (u.loc, f)
        })
        .collect();
    Findings { by_loc, units: n }
}
