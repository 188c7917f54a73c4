//! Scans in the pipeline: which attachment pages are read by OCR, the text detection sees of
//! them, the review items their confidence makes, and their redaction (pixels painted, the
//! searchable layer of the kept words, the rendered page read again).
//!
//! Owns: finding the Tesseract a run uses ([`tesseract`]: `--tesseract PATH`, else `tesseract` on
//! PATH, checked once per process); [`read_scans`] (every image-only page, and every page of a
//! born-digital PDF with an image that can hold text, read in parallel across all attachments);
//! [`attachment_input`] (a read page's text is its own text, a blank line, then the OCR text, so
//! that a Finding's byte range maps back to OCR words and their boxes); [`hold_weak_words`];
//! [`redact_pages`]; [`page_view`] (what a review page shows).
//!
//! Must not: decide what is removed (the policy does, on the page text like any other text); pass
//! a page it could not read: a page whose image cannot be decoded, whose reading failed, or that
//! reads too poorly, is held (its `PageInput::hold` says why, in ids and numbers only); print a word.

use super::images::Role;
use super::{OcrError, OcrPage, Tesseract, Word};
use crate::file::{AttachmentInput, Location, Part};
use crate::model::AttachmentId;
use crate::pdf::core::{PageStatus, PdfError};
use crate::pdf::image::{Paint, PixelRect};
use crate::pdf::ReadAttachment;
use crate::policy::{Action, Mark, MarkId, Proposal, Reason};
use lopdf::{Document, ObjectId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A page whose words have a mean confidence under this is held for a person.
pub const MIN_PAGE_MEAN: f32 = 60.0;
/// A word under this confidence beside a mark may be part of what the mark should have taken.
pub const MIN_WORD_CONF: f32 = 50.0;
/// How many words on each side of a mark (on its line) are looked at.
pub const NEAR_WORDS: usize = 2;
/// The resolution the redacted page is rendered at to be read again.
pub const VERIFY_DPI: f32 = 300.0;
/// Painted boxes reach this far (points) beyond the word's box on each side.
pub const PAD_PT: f64 = 1.0;
/// The language read.
pub const LANG: &str = "eng";

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
static FOUND: OnceLock<Result<Option<Tesseract>, OcrError>> = OnceLock::new();

/// Use this Tesseract program instead of `tesseract` on PATH (the `--tesseract PATH` flag; set
/// once, before the first run).
pub fn set_program(path: PathBuf) {
    let _ = PROGRAM.set(path);
}

/// The Tesseract runs of this process use, checked once: `Ok(None)` when none is on PATH (scans
/// then stay held); an error when the program given with `--tesseract` cannot be used.
pub fn tesseract() -> Result<Option<Tesseract>, OcrError> {
    FOUND
        .get_or_init(|| match PROGRAM.get() {
            Some(p) => Tesseract::find(Some(p.as_path()), LANG).map(Some),
            None => Ok(Tesseract::find(None::<&Path>, LANG).ok()),
        })
        .clone()
}

/// What OCR made of one attachment page.
#[derive(Clone, Debug, PartialEq)]
pub enum PageScan {
    /// Nothing to read: no image on the page can hold text (or the page is held anyway).
    Nothing,
    /// Read: the words, and where their text starts in the page's text for detection.
    Read { page: OcrPage, offset: usize },
    /// An image that may hold text could not be read: why (numbers and kinds only).
    Unread { why: String, no_tesseract: bool },
}

impl PageScan {
    /// The page read, with the offset of its text.
    pub fn read(&self) -> Option<(&OcrPage, usize)> {
        match self {
            PageScan::Read { page, offset } => Some((page, *offset)),
            _ => None,
        }
    }
}

/// What OCR made of every attachment, page by page.
pub type Scans = HashMap<AttachmentId, Vec<PageScan>>;

/// The attachments as read by the PDF reader.
pub type ReadMap = HashMap<AttachmentId, Result<ReadAttachment, PdfError>>;

/// Read every page that needs it: image-only pages, and pages with an image that can hold text
/// (see [`super::images`] for how those are told from logos and signatures). Pages are read in
/// parallel across all attachments; without Tesseract they are [`PageScan::Unread`].
pub fn read_scans(tess: Option<&Tesseract>, read: &ReadMap) -> Scans {
    use rayon::prelude::*;
    let mut out: Scans = HashMap::new();
    let mut jobs: Vec<(AttachmentId, usize, usize)> = Vec::new();
    let mut ids: Vec<&AttachmentId> = read.keys().collect();
    ids.sort();
    for a in ids {
        let Ok(r) = &read[a] else { continue };
        let doc = r.loaded.document();
        let page_ids: Vec<ObjectId> = doc.get_pages().values().copied().collect();
        let mut v = vec![PageScan::Nothing; r.pages.len()];
        for (i, pt) in r.pages.iter().enumerate() {
            let Some(&pid) = page_ids.get(i) else { continue };
            if matches!(pt.status, PageStatus::Unmapped { .. }) {
                continue; // held for its fonts whatever its images say
            }
            let offset = if pt.text.is_empty() { 0 } else { pt.text.len() + 2 };
            match super::choose_images(doc, pid, i) {
                Err(e) => v[i] = PageScan::Unread { why: e.to_string(), no_tesseract: false },
                Ok((imgs, _)) if imgs.is_empty() => {
                    if pt.status == PageStatus::ImageOnly {
                        v[i] = PageScan::Unread {
                            why: "the page is an image whose parts are too small to read".into(),
                            no_tesseract: false,
                        };
                    }
                }
                Ok(_) => match tess {
                    Some(_) => jobs.push((a.clone(), i, offset)),
                    None => v[i] = PageScan::Unread { why: "Tesseract is not available".into(), no_tesseract: true },
                },
            }
        }
        out.insert(a.clone(), v);
    }
    if let Some(t) = tess {
        let done: Vec<(AttachmentId, usize, PageScan)> = jobs
            .into_par_iter()
            .map(|(a, i, offset)| {
                let Ok(r) = &read[&a] else { unreachable!("jobs are made from documents read") };
                let s = match super::read_page(t, r.loaded.document(), i) {
                    Ok(page) => PageScan::Read { page, offset },
                    Err(e) => PageScan::Unread { why: e.to_string(), no_tesseract: false },
                };
                (a, i, s)
            })
            .collect();
        for (a, i, s) in done {
            if let Some(v) = out.get_mut(&a) {
                v[i] = s;
            }
        }
    }
    out
}

/// Pages of `scans` that could not be read because Tesseract is missing.
pub fn unread_for_want_of_tesseract(scans: &Scans) -> usize {
    scans.values().flatten().filter(|s| matches!(s, PageScan::Unread { no_tesseract: true, .. })).count()
}

/// The line a run prints when scans stay held for want of Tesseract.
pub fn how_to_enable(pages: usize) -> String {
    format!(
        "{pages} page(s) with scanned images are held for review because Tesseract is not available; to read them, {}",
        super::tesseract::HOW_TO_ENABLE
    )
}

/// What detection sees of an attachment: [`crate::pdf::attachment_input`] with the OCR text of
/// each read page after the page's own text, and the holds OCR gives (an image that could not be
/// read; a page read with a low mean confidence).
pub fn attachment_input(r: &Result<ReadAttachment, PdfError>, scans: Option<&[PageScan]>) -> AttachmentInput {
    let base = crate::pdf::attachment_input(r);
    let (AttachmentInput::Pages(mut pages), Some(scans)) = (base.clone(), scans) else { return base };
    for (p, s) in pages.iter_mut().zip(scans) {
        match s {
            PageScan::Nothing => {}
            PageScan::Read { page, offset } => {
                if *offset > 0 {
                    p.text.push_str("\n\n");
                }
                debug_assert_eq!(p.text.len(), *offset);
                p.text.push_str(&page.text);
                p.ocr = true;
                p.hold = if page.is_weak(MIN_PAGE_MEAN) {
                    Some(match page.mean_confidence() {
                        Some(m) => format!(
                            "OCR read the page's images with a mean confidence of {m:.0} (under {MIN_PAGE_MEAN:.0}): a person must check it"
                        ),
                        None => "OCR read no words in the page's images: a person must check it".into(),
                    })
                } else {
                    None
                };
            }
            PageScan::Unread { why, no_tesseract } => {
                // A page OCR tried and failed on is held on its own, saying why; without Tesseract
                // a scan stays held whole, as before OCR.
                p.ocr = !no_tesseract;
                p.hold = Some(if p.hold.is_some() {
                    format!("the page is an image (a scan) that could not be read: {why}")
                } else {
                    format!("an image on the page may hold text and could not be read: {why}")
                });
            }
        }
    }
    AttachmentInput::Pages(pages)
}

/// The range of a page-text span inside the OCR text of the page, if it reaches it.
fn ocr_range(span: Range<usize>, offset: usize) -> Option<Range<usize>> {
    (span.end > offset).then(|| span.start.max(offset) - offset..span.end - offset)
}

fn has_alnum(s: &str) -> bool {
    s.chars().any(|c| c.is_alphanumeric())
}

/// Hold for a person every read page where a word read with low confidence (under
/// [`MIN_WORD_CONF`], with a letter or digit) stands within [`NEAR_WORDS`] words of a mark on its
/// line and is not itself removed: it may be the rest of a name or number that OCR misread, so
/// the policy could not see it. The hold is a page mark (R3.ocr) with the policy's scan reason.
pub fn hold_weak_words(p: &mut Proposal, scans: &Scans, reason: Reason) {
    let mut by_page: BTreeMap<(AttachmentId, usize), Vec<Range<usize>>> = BTreeMap::new();
    for m in &p.marks {
        let (Some(a), Part::AttachmentPage { page }, Some(span), Action::Redact) =
            (m.location.attachment_id(), m.location.part(), m.span, m.action)
        else {
            continue;
        };
        by_page.entry((a.clone(), *page)).or_default().push(span.start()..span.end());
    }
    let held: BTreeSet<Location> =
        p.marks.iter().filter(|m| m.span.is_none() && m.region.is_none()).map(|m| m.location.clone()).collect();
    for ((a, i), spans) in by_page {
        let Some((page, offset)) = scans.get(&a).and_then(|v| v.get(i)).and_then(|s| s.read()) else { continue };
        let loc = Location::attachment(&a, Part::AttachmentPage { page: i });
        if held.contains(&loc) {
            continue;
        }
        let ranges: Vec<Range<usize>> = spans.into_iter().filter_map(|s| ocr_range(s, offset)).collect();
        let removed: BTreeSet<usize> = ranges.iter().flat_map(|r| page.words_in(r.clone())).collect();
        let weak: BTreeSet<usize> = ranges
            .iter()
            .flat_map(|r| page.weak_words_near(r.clone(), MIN_WORD_CONF, NEAR_WORDS))
            .filter(|w| !removed.contains(w) && has_alnum(&page.words[*w].text))
            .collect();
        if weak.is_empty() {
            continue;
        }
        let at: Vec<String> = weak.iter().map(|&w| format!("{}", page.words[w].range.start + offset)).collect();
        p.marks.push(Mark {
            id: MarkId::of_element(&loc),
            location: loc,
            span: None,
            action: Action::Review,
            reason: Some(reason),
            rule: "R3.ocr".into(),
            label: None,
            explanation: format!(
                "{} word(s) read with low confidence (under {MIN_WORD_CONF:.0}) beside a mark, at bytes {} of the page text: part of a name or number may be misread",
                weak.len(),
                at.join(", ")
            )
            .into(),
            removed_chars: 0,
            person: None,
            narrative: false,
            attention: None,
            decided_by: None,
            region: None,
        });
    }
}

/// One mark to apply to a page's images: words of the OCR text, or a region a reviewer drew.
#[derive(Clone, Debug)]
pub enum PixelMark {
    /// A byte range of the page's OCR text ([`OcrPage::text`]); the words it touches go.
    Words { range: Range<usize>, label: String },
    /// A rectangle in the page's default user space; every image under it is painted and the OCR
    /// words under it go. Its box is drawn by the text redaction, which also takes out the glyphs
    /// and paths under it (`crate::pdf::core::Mark::region`).
    Region { rect: [f64; 4], label: String },
}

/// What [`redact_pages`] did.
#[derive(Debug, Default)]
pub struct ScanRedaction {
    /// Boxes painted: (page index, rectangle in page space, label to write over it).
    pub boxes: Vec<(usize, [f64; 4], String)>,
    /// Pages that fail closed, with why.
    pub failed: Vec<(usize, Vec<String>)>,
    /// Words removed from the pixels, per page.
    pub removed: BTreeMap<usize, usize>,
    /// Per page read: the boxes of the images read and of the words kept in them (page space),
    /// so that what is written over the page (a mark's tag, a note) goes where it hides no word.
    pub read: BTreeMap<usize, ReadBoxes>,
}

/// One page's read boxes: (images read, words kept in them), page space.
pub type ReadBoxes = (Vec<[f64; 4]>, Vec<[f64; 4]>);

/// An image to paint: its size, the pixel rectangles, and the pages that draw it.
type Painting = ((u32, u32), Vec<PixelRect>, BTreeSet<usize>);

fn union(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The words of a read page a set of marks removes, and the boxes to paint and label: one box per
/// mark and OCR line (the words' boxes joined, so a name is one bar), a region as drawn.
pub fn removed_words(page: &OcrPage, marks: &[PixelMark]) -> (BTreeSet<usize>, Vec<([f64; 4], String)>) {
    let mut gone = BTreeSet::new();
    let mut boxes = Vec::new();
    for m in marks {
        match m {
            PixelMark::Words { range, label } => {
                let mut lines: BTreeMap<(usize, u32, u32, u32), [f64; 4]> = BTreeMap::new();
                for w in page.words_in(range.clone()) {
                    gone.insert(w);
                    let x = &page.words[w];
                    let key = (x.image, x.block, x.par, x.line);
                    let b = lines.entry(key).or_insert(x.bbox);
                    *b = union(*b, x.bbox);
                }
                boxes.extend(lines.into_values().map(|b| (b, label.clone())));
            }
            PixelMark::Region { rect, label } => {
                for (i, w) in page.words.iter().enumerate() {
                    if overlaps(&w.bbox, rect) {
                        gone.insert(i);
                    }
                }
                boxes.push((*rect, label.clone()));
            }
        }
    }
    (gone, merge_boxes(boxes))
}

/// Join boxes with the same label that stand side by side on one line (a given name and a
/// family name marked apart): one bar with one label, painted over the space between them too.
fn merge_boxes(mut boxes: Vec<([f64; 4], String)>) -> Vec<([f64; 4], String)> {
    let beside = |a: &[f64; 4], b: &[f64; 4]| {
        let h = (a[3] - a[1]).min(b[3] - b[1]);
        let v = a[3].min(b[3]) - a[1].max(b[1]);
        let gap = a[0].max(b[0]) - a[2].min(b[2]);
        h > 0.0 && v >= 0.5 * h && gap <= (a[3] - a[1]).max(b[3] - b[1])
    };
    let mut i = 0;
    while i < boxes.len() {
        let mut merged = false;
        for j in i + 1..boxes.len() {
            if boxes[i].1 == boxes[j].1 && beside(&boxes[i].0, &boxes[j].0) {
                let (b, _) = boxes.remove(j);
                boxes[i].0 = union(boxes[i].0, b);
                merged = true;
                break;
            }
        }
        if !merged {
            i += 1;
        }
    }
    boxes
}

/// Redact the pages of one document (`doc`, already redacted as text by `crate::pdf::core`) in
/// their pixels: `scans` is what OCR made of each page, `marks` the marks on each page, `skip` the
/// pages withheld anyway. For every page: the boxes of removed words (and regions) are painted into
/// the images under them (each image decoded and encoded once, in parallel), the invisible layer
/// of the kept words is added, and, with Tesseract, each page that lost words is rendered and read
/// again: a removed word still readable fails the page. Any image that cannot be painted fails the
/// pages drawing it; nothing is passed through half-done.
pub fn redact_pages(
    doc: &mut Document,
    scans: &[PageScan],
    marks: &BTreeMap<usize, Vec<PixelMark>>,
    skip: &BTreeSet<usize>,
    tess: Option<&Tesseract>,
) -> ScanRedaction {
    use rayon::prelude::*;
    let mut out = ScanRedaction::default();
    let page_ids: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    let mut failed: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    // Per image object: its size, the pixel rectangles to paint and the pages drawing it.
    let mut paint: BTreeMap<ObjectId, Painting> = BTreeMap::new();
    let mut kept_of: BTreeMap<usize, Vec<Word>> = BTreeMap::new();
    let mut removed_of: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, &page_id) in page_ids.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let here = marks.get(&i).map(|v| v.as_slice()).unwrap_or(&[]);
        let read = scans.get(i).and_then(|s| s.read());
        if here.is_empty() && read.is_none() {
            continue;
        }
        let mut page_boxes: Vec<([f64; 4], String)> = Vec::new();
        if let Some((page, _)) = read {
            let (gone, boxes) = removed_words(page, here);
            // A region's own box is drawn by the text redaction (crate::pdf::core), which took out
            // the glyphs and paths under it; here its pixels are painted, and only words' boxes drawn.
            let words: Vec<PixelMark> = here.iter().filter(|m| matches!(m, PixelMark::Words { .. })).cloned().collect();
            let drawn = if words.len() == here.len() { boxes.clone() } else { removed_words(page, &words).1 };
            for (ii, img) in page.images.iter().enumerate() {
                let Some(id) = img.object else { continue };
                let rects: Vec<PixelRect> = boxes
                    .iter()
                    .filter(|(b, _)| overlaps(b, &img.bbox))
                    .filter_map(|(b, _)| {
                        img.page_to_pixels(&[b[0] - PAD_PT, b[1] - PAD_PT, b[2] + PAD_PT, b[3] + PAD_PT])
                    })
                    .collect();
                // Each removed word's own box too, so that a word whose line box is clipped is covered.
                let own = gone.iter().filter(|&&w| page.words[w].image == ii).filter_map(|&w| {
                    let b = page.words[w].bbox;
                    img.page_to_pixels(&[b[0] - PAD_PT, b[1] - PAD_PT, b[2] + PAD_PT, b[3] + PAD_PT])
                });
                let rects: Vec<PixelRect> = rects.into_iter().chain(own).collect();
                if !rects.is_empty() {
                    let e = paint.entry(id).or_insert(((img.width, img.height), Vec::new(), BTreeSet::new()));
                    e.1.extend(rects);
                    e.2.insert(i);
                }
            }
            out.read.insert(
                i,
                (
                    page.images.iter().map(|m| m.bbox).collect(),
                    page.words.iter().enumerate().filter(|(k, _)| !gone.contains(k)).map(|(_, w)| w.bbox).collect(),
                ),
            );
            kept_of.insert(
                i,
                page.words.iter().enumerate().filter(|(k, _)| !gone.contains(k)).map(|(_, w)| w.clone()).collect(),
            );
            if !gone.is_empty() {
                removed_of.insert(i, gone.iter().map(|&w| page.words[w].text.clone()).collect());
                out.removed.insert(i, gone.len());
            }
            page_boxes.extend(drawn);
        }
        // Regions also paint the images no OCR read (a logo, a signature, a photograph).
        let regions: Vec<[f64; 4]> = here
            .iter()
            .filter_map(|m| match m {
                PixelMark::Region { rect, .. } => Some(*rect),
                _ => None,
            })
            .collect();
        if !regions.is_empty() {
            match super::images::page_images(doc, page_id, i) {
                Err(e) => failed.entry(i).or_default().push(e.to_string()),
                Ok(all) => {
                    for img in all.iter().filter(|u| regions.iter().any(|r| overlaps(r, &u.bbox))) {
                        let Some(id) = img.object else {
                            failed.entry(i).or_default().push(
                                "a region marked by a reviewer covers an inline image, which cannot be painted".into(),
                            );
                            continue;
                        };
                        if img.role() == Role::Read && read.is_some() {
                            continue; // painted above with the words
                        }
                        let rects: Vec<PixelRect> = regions.iter().filter_map(|r| img.page_to_pixels(r)).collect();
                        let e = paint.entry(id).or_insert(((img.width, img.height), Vec::new(), BTreeSet::new()));
                        e.1.extend(rects);
                        e.2.insert(i);
                    }
                }
            }
        }
        out.boxes.extend(page_boxes.into_iter().map(|(b, l)| (i, b, l)));
    }
    // Paint every image once, in parallel, then put the new streams in place.
    let jobs: Vec<(ObjectId, Painting)> = paint.into_iter().collect();
    let painted: Vec<_> = jobs
        .par_iter()
        .map(|(id, (size, rects, _))| super::redact::paint_pixels(doc, *id, *size, rects, Paint::House))
        .collect();
    for ((_, (_, _, pages)), r) in jobs.iter().zip(painted) {
        let r = r.and_then(|r| match r {
            Some(r) => r.apply(doc).map(|_| ()),
            None => Ok(()),
        });
        if let Err(e) = r {
            for p in pages {
                failed.entry(*p).or_default().push(format!("an image cannot be redacted: {e}"));
            }
        }
    }
    // The searchable layer of the kept words, in one embedded font for the document's pages.
    let layered: Vec<(usize, Vec<&Word>)> = kept_of
        .iter()
        .filter(|(i, kept)| !failed.contains_key(i) && !kept.is_empty())
        .map(|(&i, kept)| (i, kept.iter().collect()))
        .collect();
    if !layered.is_empty() {
        match super::layer::LayerFont::add(doc, layered.iter().flat_map(|(_, w)| w.iter().copied())) {
            Err(e) => {
                for (i, _) in &layered {
                    failed.entry(*i).or_default().push(e.to_string());
                }
            }
            Ok(font) => {
                for (i, words) in &layered {
                    if let Err(e) = super::layer::add_text_layer(doc, page_ids[*i], &font, words) {
                        failed.entry(*i).or_default().push(e.to_string());
                    }
                }
            }
        }
    }
    // Read each page that lost words again, as a reader sees it.
    let check: Vec<usize> = removed_of.keys().copied().filter(|i| !failed.contains_key(i)).collect();
    if !check.is_empty() {
        match tess {
            None => {
                for i in check {
                    failed
                        .entry(i)
                        .or_default()
                        .push("the page cannot be read again: Tesseract is not available".into());
                }
            }
            Some(t) => {
                let mut bytes = Vec::new();
                let saved = doc.clone().save_to(&mut bytes);
                let verdicts: Vec<(usize, Result<Vec<usize>, String>)> = check
                    .par_iter()
                    .map(|&i| {
                        let r = match &saved {
                            Err(_) => Err("the redacted document cannot be saved to be read again".into()),
                            Ok(()) => super::verify::still_readable_rendered(
                                t,
                                &bytes,
                                i,
                                VERIFY_DPI,
                                &removed_of[&i],
                                &kept_of[&i],
                            )
                            .map_err(|e| e.to_string()),
                        };
                        (i, r)
                    })
                    .collect();
                for (i, v) in verdicts {
                    match v {
                        Ok(left) if left.is_empty() => {}
                        Ok(left) => failed.entry(i).or_default().push(format!(
                            "{} removed word(s) can still be read on the page after pixel redaction",
                            left.len()
                        )),
                        Err(e) => failed.entry(i).or_default().push(format!("the page cannot be read again: {e}")),
                    }
                }
            }
        }
    }
    out.boxes.retain(|(i, _, _)| !failed.contains_key(i));
    out.failed = failed.into_iter().collect();
    out
}

/// What the review page shows of one read page: the words with their boxes and confidences, and
/// each mark on the page with the boxes it paints.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PageView {
    /// The page's size (its media box, points).
    pub width: f64,
    pub height: f64,
    pub mean_confidence: Option<f32>,
    pub words: Vec<ViewWord>,
    pub marks: Vec<ViewMark>,
}

/// A word read on a page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ViewWord {
    pub text: String,
    pub conf: f32,
    /// x0, y0, x1, y1 in the page's default user space (origin bottom left).
    pub bbox: [f64; 4],
    /// Byte range in the page's text (the text detection read, which mark spans refer to).
    pub start: usize,
    pub end: usize,
}

/// A mark on a page with the boxes it covers.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ViewMark {
    pub mark: MarkId,
    pub action: Action,
    pub reason: Option<Reason>,
    pub boxes: Vec<[f64; 4]>,
}

/// The review view of page `index` of an attachment read by OCR: `None` when the page was not
/// read. `marks` are the marks at the page's location (span marks on the OCR text and regions
/// show; marks on the page's own text are drawn by the PDF reader's glyph boxes, not here).
pub fn page_view(scan: &PageScan, size: (f64, f64), marks: &[&Mark]) -> Option<PageView> {
    let (page, offset) = scan.read()?;
    let words = page
        .words
        .iter()
        .map(|w| ViewWord {
            text: w.text.clone(),
            conf: w.conf,
            bbox: w.bbox,
            start: w.range.start + offset,
            end: w.range.end + offset,
        })
        .collect();
    let marks = marks
        .iter()
        .filter_map(|m| {
            let boxes: Vec<[f64; 4]> = match (m.span, m.region) {
                (Some(s), _) => {
                    let r = ocr_range(s.start()..s.end(), offset)?;
                    let (_, b) = removed_words(page, &[PixelMark::Words { range: r, label: String::new() }]);
                    b.into_iter().map(|(b, _)| b).collect()
                }
                (None, Some(r)) => vec![r],
                (None, None) => return None,
            };
            (!boxes.is_empty()).then(|| ViewMark { mark: m.id.clone(), action: m.action, reason: m.reason, boxes })
        })
        .collect();
    Some(PageView { width: size.0, height: size.1, mean_confidence: page.mean_confidence(), words, marks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::{page_from_words, ImageUse, RawWord};

    fn raw(text: &str, line: u32, left: u32, conf: f32) -> RawWord {
        RawWord {
            text: text.into(),
            conf,
            left,
            top: 10 + line * 40,
            width: 40,
            height: 20,
            block: 1,
            par: 1,
            line,
            word: 1,
        }
    }

    fn page(words: Vec<RawWord>) -> OcrPage {
        let img = ImageUse {
            object: Some((1, 0)),
            ctm: [500.0, 0.0, 0.0, 500.0, 0.0, 0.0],
            width: 1000,
            height: 1000,
            bbox: [0.0, 0.0, 500.0, 500.0],
        };
        page_from_words(0, vec![img], vec![], vec![words])
    }

    #[test]
    fn a_mark_becomes_one_box_per_line_and_its_words_go() {
        let p = page(vec![
            raw("Dear", 1, 0, 95.0),
            raw("Doreen", 1, 60, 95.0),
            raw("Pilbeam,", 1, 120, 95.0),
            raw("thanks", 2, 0, 95.0),
        ]);
        let s = p.text.find("Doreen").unwrap();
        let (gone, boxes) =
            removed_words(&p, &[PixelMark::Words { range: s..s + "Doreen Pilbeam".len(), label: "REF".into() }]);
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(boxes.len(), 1, "one bar over the name");
        assert_eq!(boxes[0].0, union(p.words[1].bbox, p.words[2].bbox));
        // Two marks with one label side by side on a line are one bar.
        let l = p.text.find("Pilbeam").unwrap();
        let (_, boxes) = removed_words(
            &p,
            &[
                PixelMark::Words { range: s..s + 6, label: "REF".into() },
                PixelMark::Words { range: l..l + 7, label: "REF".into() },
            ],
        );
        assert_eq!(boxes.len(), 1);
        // A region takes every word under it.
        let (gone, _) = removed_words(&p, &[PixelMark::Region { rect: p.words[3].bbox, label: "TP".into() }]);
        assert_eq!(gone.into_iter().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn spans_map_into_the_ocr_text_after_the_page_text() {
        assert_eq!(ocr_range(0..5, 10), None);
        assert_eq!(ocr_range(8..15, 10), Some(0..5));
        assert_eq!(ocr_range(12..15, 10), Some(2..5));
        assert_eq!(ocr_range(3..4, 0), Some(3..4));
    }
}
