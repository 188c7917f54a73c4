//! True text redaction inside existing PDFs, on top of lopdf as the object layer only.
//!
//! Pipeline: [`load`] (fail closed) -> [`read_text`] (own tokenizer, text-state interpreter,
//! font decoding, reading-order layout) -> [`redact`] (glyph removal with TJ displacements,
//! boxes, sanitizing of every other channel, verification) -> [`save`] (deterministic, full
//! rewrite: earlier revisions are gone).
//!
//! Module tree (to be mounted as `crate::pdf::core`): lexer, font (+ generated font_tables),
//! interp, layout, rewrite, sanitize, verify. Submodules refer to each other with `super::`
//! paths only, so the files can be moved under another module without edits.

pub mod font;
mod font_tables;
pub mod interp;
pub mod layout;
pub mod lexer;
pub mod limits;
pub mod rewrite;
pub mod sanitize;
pub mod verify;

use lopdf::{Document, Object, ObjectId};
use std::ops::Range;

/// Errors carry kinds, object ids, page numbers (1-based) and byte offsets only: never text.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("document is encrypted and cannot be opened without a password")]
    Encrypted,
    #[error("document is damaged: {reason}{}", page.map(|p| format!(" (page {p})")).unwrap_or_default())]
    Damaged { page: Option<usize>, reason: &'static str },
    #[error("document cannot be parsed: {kind}")]
    Parse { kind: String },
    #[error("{what} (object {}.{}): the file may be built to exhaust memory; check it by hand", id.0, id.1)]
    TooLarge { id: (u32, u16), what: &'static str },
    #[error("unsupported content on page {page}: {what}")]
    Unsupported { page: usize, what: &'static str },
    #[error("page text does not match the document (page {page}): read it again with read_text")]
    PageMismatch { page: usize },
    #[error("page index {index} out of range")]
    PageIndex { index: usize },
    #[error("object {}.{} is missing or malformed", id.0, id.1)]
    Object { id: (u32, u16) },
    #[error("document cannot be saved: {kind}")]
    Save { kind: String },
    #[error("internal error while processing the document (page {page:?})")]
    Internal { page: Option<usize> },
}

/// A loaded document.
pub struct LoadedPdf {
    pub(crate) doc: Document,
    pub(crate) pages: Vec<ObjectId>,
    pub(crate) earlier_revisions: bool,
    /// The fonts read from `doc`, kept for its redaction and the check after it.
    pub(crate) fonts: interp::FontCache,
}

impl LoadedPdf {
    pub fn document(&self) -> &Document {
        &self.doc
    }
    /// Wrap an in-memory document (used by verify on redacted output).
    pub fn from_document(doc: Document) -> Result<LoadedPdf, PdfError> {
        check_pages(doc, false)
    }
}

fn lopdf_kind(e: &lopdf::Error) -> String {
    // Variant name only (the Debug form of some variants may carry document bytes).
    let d = format!("{:?}", e);
    d.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("unknown").to_lowercase()
}

fn check_pages(doc: Document, earlier: bool) -> Result<LoadedPdf, PdfError> {
    let pages = page_list(&doc)?;
    Ok(LoadedPdf { doc, pages, earlier_revisions: earlier, fonts: interp::FontCache::default() })
}

/// The pages of a document, checked as [`load`] checks them (not encrypted, the page tree's
/// count, every page and content stream present).
pub(crate) fn page_list(doc: &Document) -> Result<Vec<ObjectId>, PdfError> {
    if doc.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    let pages: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    if pages.is_empty() {
        return Err(PdfError::Damaged { page: None, reason: "no pages" });
    }
    let count = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Pages").ok())
        .map(|p| font::deref(doc, p))
        .and_then(font::as_dict)
        .and_then(|d| d.get(b"Count").ok())
        .map(|c| font::deref(doc, c))
        .and_then(font::num);
    match count {
        Some(c) if c as usize == pages.len() => {}
        _ => return Err(PdfError::Damaged { page: None, reason: "page count differs from the page tree /Count" }),
    }
    for (i, id) in pages.iter().enumerate() {
        let page = doc
            .get_dictionary(*id)
            .map_err(|_| PdfError::Damaged { page: Some(i + 1), reason: "page object missing" })?;
        let refs: Vec<ObjectId> = match page.get(b"Contents") {
            Ok(Object::Reference(r)) => match doc.get_object(*r) {
                Ok(Object::Array(a)) => a.iter().filter_map(|o| o.as_reference().ok()).collect(),
                _ => vec![*r],
            },
            Ok(Object::Array(a)) => a.iter().filter_map(|o| o.as_reference().ok()).collect(),
            _ => vec![],
        };
        if refs.iter().any(|r| doc.get_object(*r).is_err()) {
            return Err(PdfError::Damaged { page: Some(i + 1), reason: "content stream missing" });
        }
    }
    Ok(pages)
}

fn count_eof(bytes: &[u8]) -> usize {
    bytes.windows(5).filter(|w| w == b"%%EOF").count()
}

/// Load and fail closed: encrypted files that cannot be opened with an empty password ->
/// Err(Encrypted); 0 pages or page count != /Count of the page tree root -> Err(Damaged);
/// unparseable -> Err(Parse).
pub fn load(bytes: &[u8]) -> Result<LoadedPdf, PdfError> {
    let opts = || lopdf::LoadOptions { max_decompressed_size: Some(limits::MAX_STREAM), ..Default::default() };
    let res = std::panic::catch_unwind(|| Document::load_mem_with_options(bytes, opts()));
    let doc = match res {
        Err(_) => return Err(PdfError::Parse { kind: "parser panic".into() }),
        Ok(Err(e)) => {
            let k = lopdf_kind(&e);
            if k.contains("decrypt") || k.contains("password") || k.contains("encrypt") {
                return Err(PdfError::Encrypted);
            }
            return Err(PdfError::Parse { kind: k });
        }
        Ok(Ok(d)) => d,
    };
    limits::check(&doc)?;
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if count_eof(tail) == 0 {
        return Err(PdfError::Damaged { page: None, reason: "truncated: no end-of-file marker" });
    }
    // a linearized file has one extra %%EOF (first-page section) without being a revision
    let linearized = bytes[..bytes.len().min(1024)].windows(11).any(|w| w == b"/Linearized");
    let earlier = count_eof(bytes) > 1 + usize::from(linearized);
    check_pages(doc, earlier)
}

pub fn page_count(pdf: &LoadedPdf) -> usize {
    pdf.pages.len()
}

/// One shown glyph.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub unicode: String,
    /// x0,y0,x1,y1 in default user space of the page
    pub bbox: [f64; 4],
    pub visible: bool,
    /// byte range in PageText.text; empty when the glyph contributes no text (a line-end
    /// hyphen removed by de-hyphenation, a repeated space); a glyph drawn over the same glyph
    /// (fake bold) shares its range
    pub text_range: Range<usize>,
    /// the line it reads in (index in reading order)
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PageStatus {
    Ok,
    /// some glyphs have no Unicode mapping: text cannot be trusted
    Unmapped {
        glyphs: usize,
    },
    /// no text (or almost none) and images cover most of the page: a scan
    ImageOnly,
    /// a viewer shows something on the page that this reader did not read as text
    Held(Hold),
}

/// Why a page is held for a person's check although its text could be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    /// a Form XObject draws itself
    FormCycle,
    /// Form XObjects nested deeper than the reader follows ([`interp::MAX_FORM_DEPTH`])
    FormsTooDeep,
    /// text drawn inside a tiling pattern, a soft mask or a Type3 glyph procedure
    HiddenText(&'static str),
    /// fonts whose ToUnicode map says other letters than their glyphs are
    ToUnicodeConflict { glyphs: usize },
    /// images large enough to hold text (see [`layout::can_hold_text`]): until scans are read,
    /// a person looks
    PictureOfText { images: usize },
}

impl Hold {
    /// Plain words for the review item (counts and kinds only, never text).
    pub fn why(&self) -> String {
        match self {
            Hold::FormCycle => {
                "the page draws a part of itself inside itself, which a viewer may show more of than was read".into()
            }
            Hold::FormsTooDeep => format!(
                "the page nests drawn parts more than {} deep: a viewer shows what the reader did not read",
                interp::MAX_FORM_DEPTH
            ),
            Hold::HiddenText(kind) => format!("the page draws text inside {kind}, which is not read"),
            Hold::ToUnicodeConflict { glyphs } => {
                format!("{glyphs} characters are shown as other letters than the text they carry")
            }
            Hold::PictureOfText { images } => {
                format!("{images} picture(s) on the page are large enough to hold text, which is not read yet")
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct PageText {
    pub index: usize,
    pub text: String,
    pub glyphs: Vec<Glyph>,
    pub status: PageStatus,
    pub width: f64,
    pub height: f64,
}

fn guard<T>(page: Option<usize>, f: impl FnOnce() -> Result<T, PdfError>) -> Result<T, PdfError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(PdfError::Internal { page }),
    }
}

/// Read every page, pages in parallel (with the document's fonts, each parsed once); the first
/// failing page, in page order, fails the read, as a read page by page would.
pub(crate) fn read_doc(
    doc: &Document,
    pages: &[ObjectId],
    fonts: &interp::FontCache,
) -> Result<Vec<PageText>, PdfError> {
    scan_pages(doc, pages, false, fonts, |i, scan| layout::build(i, &scan)).into_iter().collect()
}

/// Scan every page in parallel and map each scan (with its page index) by `f`, in page order.
/// With `alone`, each page is numbered as a document of its own (page 1, index 0), as the
/// verification has always named the page it reads again.
pub(crate) fn scan_pages<T: Send>(
    doc: &Document,
    pages: &[ObjectId],
    alone: bool,
    fonts: &interp::FontCache,
    f: impl Fn(usize, interp::PageScan) -> T + Sync + Send,
) -> Vec<Result<T, PdfError>> {
    use rayon::prelude::*;
    pages
        .par_iter()
        .enumerate()
        .map(|(i, id)| {
            let (i, no) = if alone { (0, 1) } else { (i, i + 1) };
            guard(Some(no), || Ok(f(i, interp::scan_page_with(doc, *id, no, fonts)?)))
        })
        .collect()
}

pub fn read_text(pdf: &LoadedPdf) -> Result<Vec<PageText>, PdfError> {
    read_doc(&pdf.doc, &pdf.pages, &pdf.fonts)
}

#[derive(Debug, Clone)]
pub struct Mark {
    /// byte range in PageText.text
    pub range: Range<usize>,
    /// e.g. "TP"
    pub code: String,
    /// e.g. "[your brother]"
    pub label: Option<String>,
    /// A reviewer's region [x1, y1, x2, y2] of the page (user space): everything drawn inside it
    /// goes (glyphs whose boxes touch it, paths inside it, image pixels under it) and one box
    /// covers it; `range` is then empty.
    pub region: Option<[f64; 4]>,
}

impl Mark {
    /// A mark on a range of the page's text.
    pub fn text(range: Range<usize>, code: impl Into<String>, label: Option<String>) -> Mark {
        Mark { range, code: code.into(), label, region: None }
    }

    /// A mark on a region of the page.
    pub fn region(rect: [f64; 4], code: impl Into<String>, label: Option<String>) -> Mark {
        Mark { range: 0..0, code: code.into(), label, region: Some(rect) }
    }
}

#[derive(Debug, Clone)]
pub struct PageEdit {
    pub index: usize,
    pub marks: Vec<Mark>,
}

#[derive(Debug, Clone, Default)]
pub struct Sanitized {
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PageVerdict {
    pub index: usize,
    pub ok: bool,
    /// no text content, only counts/kinds
    pub problems: Vec<String>,
}

/// A box painted over removed text.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkBox {
    /// page index
    pub page: usize,
    /// in the page's user space
    pub rect: [f64; 4],
    /// the mark's code or label
    pub label: String,
    /// For a horizontal line: the baseline's y and the font size of the text the box replaces, so
    /// that a label is written on the line (see [`rewrite::place_label`]).
    pub line: Option<[f64; 2]>,
}

pub struct Redacted {
    pub doc: Document,
    pub sanitized: Sanitized,
    pub verdicts: Vec<PageVerdict>,
    /// The boxes painted, in the pages' user space.
    pub boxes: Vec<MarkBox>,
    /// What each page still draws (by page index), for whoever writes over the page: so that a
    /// mark's tag or a note is put where it hides nothing.
    pub ink: Vec<PageInk>,
}

/// Where a redacted page still draws: boxes (user space) of its kept visible text, joined along
/// each line, and of its images.
#[derive(Debug, Clone, Default)]
pub struct PageInk {
    pub text: Vec<[f64; 4]>,
    pub images: Vec<[f64; 4]>,
}

impl PageInk {
    fn of(scan: &interp::PageScan, removed: &[Option<usize>]) -> PageInk {
        let mut text: Vec<[f64; 4]> = Vec::new();
        for (g, r) in scan.glyphs.iter().zip(removed) {
            let b = g.bbox;
            if r.is_some() || !g.visible || !b.iter().all(|v| v.is_finite()) || b[2] <= b[0] || b[3] <= b[1] {
                continue;
            }
            // the glyph after the last one on its line, close by: one box for both
            match text.last_mut() {
                Some(l) if overlaps_v(l, &b) && b[0] <= l[2] + (b[3] - b[1]) && b[2] >= l[0] => {
                    *l = [l[0].min(b[0]), l[1].min(b[1]), l[2].max(b[2]), l[3].max(b[3])];
                }
                _ => text.push(b),
            }
        }
        PageInk { text, images: scan.image_boxes.clone() }
    }
}

fn overlaps_v(a: &[f64; 4], b: &[f64; 4]) -> bool {
    let h = (a[3] - a[1]).min(b[3] - b[1]);
    a[3].min(b[3]) - a[1].max(b[1]) >= 0.5 * h
}

fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn inside(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3]
}

/// Which glyphs of a page a set of marks removes: every glyph whose text_range intersects a
/// mark, plus glyphs with an empty range strictly inside one (joined line-end hyphens), and every
/// glyph whose box touches a region mark.
pub(crate) fn removed_glyphs(pt: &PageText, marks: &[Mark]) -> Vec<Option<usize>> {
    pt.glyphs
        .iter()
        .map(|g| {
            marks.iter().position(|m| {
                if let Some(rect) = &m.region {
                    return overlaps(rect, &g.bbox);
                }
                let r = &g.text_range;
                if r.is_empty() {
                    m.range.start < r.start && r.start < m.range.end
                } else {
                    r.start < m.range.end && m.range.start < r.end
                }
            })
        })
        .collect()
}

/// The byte ranges of a page's text that its marks remove: each text mark's range, then for the
/// region marks each run of text their removed glyphs carry.
pub(crate) fn removed_spans(pt: &PageText, marks: &[Mark]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = marks.iter().filter(|m| m.region.is_none()).map(|m| m.range.clone()).collect();
    out.extend(region_runs(pt, marks));
    out
}

/// The runs of a page's text (byte ranges, in order, apart) that its region marks remove: the
/// text of the glyphs whose boxes touch a region.
pub fn region_runs(pt: &PageText, marks: &[Mark]) -> Vec<Range<usize>> {
    if marks.iter().all(|m| m.region.is_none()) {
        return Vec::new();
    }
    let removed = removed_glyphs(pt, marks);
    let mut runs: Vec<Range<usize>> = pt
        .glyphs
        .iter()
        .zip(&removed)
        .filter(|(g, r)| r.is_some_and(|k| marks[k].region.is_some()) && !g.text_range.is_empty())
        .map(|(g, _)| g.text_range.clone())
        .collect();
    runs.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in runs {
        match merged.last_mut() {
            Some(m) if r.start <= m.end => m.end = m.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Remove every glyph whose text_range intersects a mark's range, paint boxes with the code
/// or label, sanitize every other channel, then verify. See the module docs of `rewrite`.
pub fn redact(pdf: &LoadedPdf, pages: &[PageText], edits: &[PageEdit]) -> Result<Redacted, PdfError> {
    redact_with(pdf, pages, edits, true)
}

/// As `redact`; with `paint_labels` false the boxes are painted without their code or label
/// text, for a caller that writes the labels itself in an embedded font (the bundle does).
pub fn redact_with(
    pdf: &LoadedPdf,
    pages: &[PageText],
    edits: &[PageEdit],
    paint_labels: bool,
) -> Result<Redacted, PdfError> {
    let mut doc = pdf.doc.clone();
    let mut all_boxes: Vec<MarkBox> = Vec::new();
    for e in edits {
        if e.index >= pdf.pages.len() {
            return Err(PdfError::PageIndex { index: e.index });
        }
    }
    let mut over_images: Vec<(usize, usize)> = Vec::new();
    // pages where a drawing crosses the edge of a reviewer's region (with how many)
    let mut crossings: Vec<(usize, usize)> = Vec::new();
    // pages are read in parallel; the document is rewritten page by page, in page order
    let scans = scan_pages(&pdf.doc, &pdf.pages, false, &pdf.fonts, |_, scan| scan);
    let mut ink: Vec<PageInk> = Vec::with_capacity(pdf.pages.len());
    for (i, scan) in scans.into_iter().enumerate() {
        let scan = scan?;
        guard(Some(i + 1), || {
            let marks: Vec<Mark> =
                edits.iter().filter(|e| e.index == i).flat_map(|e| e.marks.iter().cloned()).collect();
            let mut removed = vec![None; scan.glyphs.len()];
            let mut lines = Vec::new();
            let mut drop_paths: Vec<&interp::PathUse> = Vec::new();
            if !marks.is_empty() {
                let pt = pages.iter().find(|p| p.index == i).ok_or(PdfError::PageMismatch { page: i + 1 })?;
                let fresh = layout::build(i, &scan);
                if fresh.glyphs.len() != pt.glyphs.len() || fresh.text != pt.text {
                    return Err(PdfError::PageMismatch { page: i + 1 });
                }
                for m in &marks {
                    if m.range.start > m.range.end || m.range.end > pt.text.len() {
                        return Err(PdfError::PageMismatch { page: i + 1 });
                    }
                }
                removed = removed_glyphs(pt, &marks);
                lines = fresh.glyphs.iter().map(|g| g.line).collect();
                // invisible text over an image is an OCR layer: the words are also in the pixels
                let n = scan
                    .glyphs
                    .iter()
                    .zip(&removed)
                    .filter(|(g, r)| r.is_some() && !g.visible && scan.image_boxes.iter().any(|b| overlaps(b, &g.bbox)))
                    .count();
                if n > 0 {
                    over_images.push((i, n));
                }
                // A region takes out the paths inside it. A drawing that crosses its edge would
                // keep its part under the box (a signature, say), and a shading fills a clip
                // this reader does not measure: the page is held. A lone rectangle crossing the
                // edge (a background, a table cell) draws no shape inside it and stays.
                let regions: Vec<[f64; 4]> = marks.iter().filter_map(|m| m.region).collect();
                if !regions.is_empty() {
                    let mut crossing = scan.shadings;
                    for p in &scan.paths {
                        if regions.iter().any(|r| inside(&p.bbox, r)) {
                            drop_paths.push(p);
                        } else if regions.iter().any(|r| overlaps(r, &p.bbox)) && p.painted && !p.single_rect {
                            crossing += 1;
                        }
                    }
                    if crossing > 0 {
                        crossings.push((i, crossing));
                    }
                }
            }
            ink.push(PageInk::of(&scan, &removed));
            let boxes =
                rewrite::rewrite_page(&mut doc, &scan, &removed, &marks, &lines, &drop_paths, i + 1, paint_labels)?;
            all_boxes.extend(boxes.into_iter().map(|b| MarkBox {
                page: i,
                rect: b.rect,
                label: b.label,
                line: b.line,
            }));
            Ok(())
        })?;
    }
    let sanitized = sanitize::sanitize(&mut doc, pdf.earlier_revisions);
    doc.prune_objects();
    // read again with the fonts of the first read that the redacted copy holds unchanged
    let mut verdicts = verify::verify_with(pages, &doc, edits, &pdf.fonts.carried(&pdf.doc, &doc));
    // the removed words must be nowhere else in what the pages draw from either
    let page_ids: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    let found = verify::objects(&doc, &page_ids, &verify::removed_words(pages, edits));
    for (v, n) in verdicts.iter_mut().zip(found) {
        if n > 0 {
            v.ok = false;
            v.problems.push(format!("removed words are still in {n} objects the page draws from"));
        }
    }
    for (i, n) in crossings {
        if let Some(v) = verdicts.iter_mut().find(|v| v.index == i) {
            v.ok = false;
            v.problems.push(format!(
                "{n} drawings cross the edge of a marked region: what they draw under the box cannot be taken out alone"
            ));
        }
    }
    for (i, n) in over_images {
        if let Some(v) = verdicts.iter_mut().find(|v| v.index == i) {
            v.ok = false;
            v.problems.push(format!(
                "{n} removed glyphs were an invisible layer over an image: the image pixels are not redacted"
            ));
        }
    }
    Ok(Redacted { doc, sanitized, verdicts, boxes: all_boxes, ink })
}

/// Re-extract text of the redacted doc with this same reader and compare (see verify module).
pub fn verify(original: &[PageText], redacted: &Document, edits: &[PageEdit]) -> Vec<PageVerdict> {
    verify::verify(original, redacted, edits)
}

/// Serialize deterministically (no clock, no random ids); full rewrite.
pub fn save(doc: &mut Document) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    guard(None, || {
        doc.trailer.remove(b"Prev");
        doc.trailer.remove(b"XRefStm");
        doc.renumber_objects();
        doc.compress();
        doc.save_to(&mut out).map_err(|e| PdfError::Save { kind: format!("{:?}", e.kind()).to_lowercase() })
    })?;
    Ok(out)
}

#[allow(dead_code)]
pub(crate) fn obj_err(id: ObjectId) -> PdfError {
    PdfError::Object { id }
}

#[allow(dead_code)]
pub(crate) fn is_null(o: &Object) -> bool {
    matches!(o, Object::Null)
}
