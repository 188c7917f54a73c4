//! A byte range in a text whose invariant (start <= end) is enforced at construction.

use serde::Serialize;

/// A half-open byte range `[start, end)` in one text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// Panics if `start > end`: a reversed span is a bug in the caller.
    pub fn new(start: usize, end: usize) -> Span {
        assert!(start <= end, "span start {start} after end {end}");
        Span { start, end }
    }
    pub fn start(&self) -> usize {
        self.start
    }
    pub fn end(&self) -> usize {
        self.end
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    pub fn overlaps(&self, o: &Span) -> bool {
        self.start < o.end && o.start < self.end
    }
    pub fn contains(&self, o: &Span) -> bool {
        self.start <= o.start && o.end <= self.end
    }
    /// The smallest span covering both.
    pub fn union(&self, o: &Span) -> Span {
        Span::new(self.start.min(o.start), self.end.max(o.end))
    }
}
