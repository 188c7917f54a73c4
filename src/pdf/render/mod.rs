//! Bundle PDF renderer: lays out and writes the redacted, indexed disclosure
//! bundle with `pdf-writer` (+ `subsetter`, `ttf-parser`, `miniz_oxide`), and
//! embeds pages of existing PDFs (loaded with `lopdf`) as Form XObjects.
//!
//! Output is a pure function of the [`Doc`]: no clock, no randomness, no
//! hash-map iteration order reaches the bytes; the file `/ID` is derived
//! from [`Doc::id_seed`].
//!
//! Module layout: `font` (embedded DejaVu Sans, measuring, subsetting,
//! ToUnicode), `layout` (line breaking, pagination), `write` (PDF objects),
//! `foreign` (copying pages of existing PDFs).
//!
//! Layout summary: A4, side margins 62 pt, body 10.5 pt / 1.42 leading,
//! ragged right, greedy breaking on measured advances (no kerning, no
//! shaping, no hyphenation); a word wider than the line is broken by
//! characters; runs glued without whitespace (e.g. a mark followed by "'s")
//! stay together. Headings keep with the next block's first line (a whole
//! Meta block plus one body line); paragraphs never leave a single first
//! line at the bottom of a page. Every part starts on a new page; an empty
//! Flow part still yields one (blank) page, an empty Foreign part none.
//!
//! Foreign pages keep their size; `/Rotate` is baked in (presented upright).
//!
//! Unknown *and* duplicate anchors are errors. Characters missing from the
//! font are drawn as '?' with a warning.

mod archival;
mod font;
mod foreign;
mod layout;
mod write;

use std::fmt;
use std::sync::Arc;

/// A whole bundle.
#[derive(Clone, Debug)]
pub struct Doc {
    pub title: String,
    /// The council.
    pub author: String,
    pub subject: String,
    /// From the request, never the clock. Written as UTC (`Z`).
    pub date: Date,
    /// The file `/ID` is SHA-256 of this (first 16 bytes).
    pub id_seed: [u8; 32],
    /// BCP 47 language tag, e.g. `en-GB`.
    pub lang: String,
    pub parts: Vec<Part>,
    /// Not approved for release: every page carries a DRAFT stamp.
    pub draft: bool,
    /// The plain words of each reason code: the alternative text of marks ("redacted: ...") and
    /// the notes of marks too small to carry their code.
    pub code_words: Vec<(String, String)>,
}

/// Calendar date and time (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub y: u16,
    pub m: u8,
    pub d: u8,
    pub h: u8,
    pub mi: u8,
    pub s: u8,
}

/// A part of the bundle. Every part starts on a new page.
#[derive(Clone, Debug)]
pub struct Part {
    pub label: LabelStyle,
    /// Top-level bookmark title for this part.
    pub outline: Option<String>,
    pub content: PartContent,
}

/// How pages of a part are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelStyle {
    /// Footer "Page n of m", n and m counted over the whole bundle; page
    /// label (and anchor label) "n".
    Arabic,
    /// Footer and page label "A1", "A2", ...; numbering per letter continues
    /// if the same letter is used by a later part again.
    Court { letter: char },
}

#[derive(Clone, Debug)]
pub enum PartContent {
    Flow(Vec<Block>),
    /// Flowing blocks made on demand, chunk by chunk, each time the part is laid out: a large
    /// file's text is then never held as blocks all at once. Laid out exactly as the
    /// concatenation of the chunks would be as a `Flow`.
    Chunks(Chunks),
    Foreign(Vec<ForeignPage>),
}

/// `count` chunks of blocks; `make(i)` gives chunk `i` (it must give the same blocks every time).
#[derive(Clone)]
pub struct Chunks {
    pub count: usize,
    pub make: Arc<dyn Fn(usize) -> Vec<Block> + Send + Sync>,
}

impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chunks({})", self.count)
    }
}

/// One page of an existing PDF, shown as its own bundle page.
#[derive(Clone, Debug)]
pub struct ForeignPage {
    pub doc: Arc<lopdf::Document>,
    pub page: lopdf::ObjectId,
    pub anchor: Option<String>,
    /// Bookmark title, nested under the last level-1 heading before it (in
    /// the same part) or under the part.
    pub outline: Option<String>,
    /// Text written (white, in the embedded font) in boxes already painted on the page: the
    /// codes and labels of redaction marks, each with the baseline's y and font size of the line
    /// it replaces when known (then it is written on that line, see
    /// `pdf::core::rewrite::place_label`). Rects are in the source page's user space.
    pub overlays: Vec<Overlay>,
    /// What the page still draws (source user space): a tag or note is written where it hides
    /// none of it.
    pub ink: crate::pdf::core::PageInk,
}

/// A mark's box in a foreign page (source user space), its code or label, and the baseline's y
/// and font size of the line it replaces when known.
pub type Overlay = ([f64; 4], String, Option<[f64; 2]>);

#[derive(Clone, Debug)]
pub enum Block {
    Heading {
        /// 1..=3 (values outside are clamped).
        level: u8,
        text: Vec<Run>,
        anchor: Option<String>,
        outline: Option<String>,
    },
    Para {
        runs: Vec<Run>,
    },
    /// Small grey key/value lines under a record heading.
    Meta {
        pairs: Vec<(String, Vec<Run>)>,
    },
    /// A withheld section or record: bordered grey box "[code] text". `mark` is the caller's id
    /// of what it stands for; the page it lands on is reported (see [`Placed::marks`]).
    Placeholder {
        text: String,
        code: String,
        mark: Option<u32>,
    },
    /// Index line: date, title (truncated with …), dotted leader, page label
    /// of `target`; the line links to the target's page.
    IndexEntry {
        runs: Vec<Run>,
        date: String,
        target: String,
    },
    /// Cells wrap; the header repeats after a page break.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        /// Column widths as fractions (normalised; missing/invalid → equal).
        widths: Vec<f32>,
    },
    Rule,
    /// Vertical space in points.
    Spacer(f32),
    PageBreak,
}

#[derive(Clone, Debug)]
pub enum Run {
    Text(String),
    /// Simulated bold (same font, fill+stroke).
    Bold(String),
    /// A redaction mark. `width_of` is only measured, never written. `id` is the caller's id of
    /// the mark: the pages where it is drawn in the body (not in index entries) are reported.
    Mark {
        code: String,
        label: Option<String>,
        width_of: String,
        id: Option<u32>,
    },
}

#[derive(Clone, Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Every anchor with its page label, in document order.
    pub anchors: Vec<(String, String)>,
    /// Page labels where each mark id is drawn.
    pub marks: std::collections::BTreeMap<u32, Vec<String>>,
    pub warnings: Vec<String>,
}

/// Where things landed in one layout pass: anchors and marks with their page labels.
#[derive(Clone, Debug, Default)]
pub struct Placed {
    /// Every anchor with its page label, in document order.
    pub anchors: Vec<(String, String)>,
    /// The page labels where each mark id is drawn, in page order without repeats.
    pub marks: std::collections::BTreeMap<u32, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// An IndexEntry targets an anchor that no Heading/ForeignPage defines.
    UnknownAnchor(String),
    /// The same anchor is defined twice.
    DuplicateAnchor(String),
    /// A foreign page could not be read or copied.
    Foreign(String),
    /// The embedded font could not be parsed or subset.
    Font(String),
    /// The document has no pages.
    Empty,
    /// The two layout passes disagree (a bug: layout must be a pure function of the document).
    Inconsistent(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::UnknownAnchor(a) => write!(f, "index entry targets unknown anchor {a:?}"),
            RenderError::DuplicateAnchor(a) => write!(f, "anchor {a:?} is defined more than once"),
            RenderError::Foreign(m) => write!(f, "cannot embed foreign page: {m}"),
            RenderError::Font(m) => write!(f, "font error: {m}"),
            RenderError::Empty => write!(f, "the bundle has no pages"),
            RenderError::Inconsistent(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Lay out and write the bundle (two layout passes; one laid-out page in memory at a time).
pub fn render(doc: &Doc) -> Result<Rendered, RenderError> {
    let font = font::Font::get().map_err(RenderError::Font)?;
    write::render(doc, font)
}

/// Lay out only, and give the page label of every anchor (in document order): what a caller needs
/// to fill in page numbers before the real render.
pub fn anchor_labels(doc: &Doc) -> Result<Vec<(String, String)>, RenderError> {
    Ok(placements(doc)?.anchors)
}

/// Lay out only, and give the page labels of every anchor and every mark.
pub fn placements(doc: &Doc) -> Result<Placed, RenderError> {
    let font = font::Font::get().map_err(RenderError::Font)?;
    write::placements(doc, font)
}

#[cfg(test)]
mod tests;
