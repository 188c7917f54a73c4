//! Scans: reading the words in a page's images with Tesseract, removing pixels, giving the page a
//! searchable layer of the kept words, and checking after redaction that removed words are gone.
//!
//! Owns: finding Tesseract ([`Tesseract::find`]), choosing which images of a page hold text
//! ([`images`]), decoding them ([`crate::pdf::image`]) and reading them ([`read_page`],
//! [`read_pages`]: words with page-space boxes, confidences and block/paragraph/line ids, and the
//! page text in reading order with a map from its bytes back to the words), painting boxes into
//! image XObjects ([`redact`]), the invisible text layer ([`layer`]) and the check by reading the
//! redacted page again ([`verify`]).
//!
//! Must not: decide what is removed (detection and policy do, on [`OcrPage::text`] like any other
//! text); pass an image it cannot decode (an [`OcrError`] holds the page); write pixels or words
//! to a file (images go to Tesseract on a pipe); put words, file names or values in an error.

pub mod images;
pub mod layer;
pub mod pages;
pub mod redact;
pub mod render;
pub mod tesseract;
pub mod verify;

pub use images::{ImageUse, Role};
pub use tesseract::{RawWord, Tesseract};

use crate::pdf::image::{GrayImage, ImageError, PixelRect};
use lopdf::{Document, Object, ObjectId};
use std::ops::Range;

/// Errors carry page numbers (1-based), object ids, exit codes and line numbers: never text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OcrError {
    #[error(
        "tesseract cannot be run ({program}): scans stay held for review; to read them, {}",
        tesseract::HOW_TO_ENABLE
    )]
    NotFound { program: String },
    #[error("tesseract has no '{lang}' language data: scans stay held for review; to read them, install tesseract-ocr-{lang} or {}", tesseract::HOW_TO_ENABLE)]
    LanguageMissing { lang: String },
    #[error("tesseract failed (exit status {}): the page stays held", status.map(|s| s.to_string()).unwrap_or_else(|| "none".into()))]
    Failed { status: Option<i32> },
    #[error("tesseract output cannot be read (line {line}): the page stays held")]
    BadOutput { line: usize },
    #[error("page {page}: {error}")]
    Image { page: usize, error: ImageError },
    #[error("page {page}: an inline image large enough to hold text cannot be redacted: the page stays held")]
    InlineImage { page: usize },
    #[error("page {page}: the content stream cannot be read: the page stays held")]
    Content { page: usize },
    #[error("object {}.{} is not an image XObject", id.0, id.1)]
    NotAnImage { id: (u32, u16) },
    #[error("the page cannot be rendered{}", page.map(|p| format!(" (page {p})")).unwrap_or_default())]
    Render { page: Option<usize> },
    #[error("page index {index} out of range")]
    PageIndex { index: usize },
}

/// One word read on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    /// Tesseract's confidence, 0..=100
    pub conf: f32,
    /// x0, y0, x1, y1 in the page's default user space (the bounding box of `quad`)
    pub bbox: [f64; 4],
    /// The word's box as drawn: its lower-left corner and the vectors along its width and up its
    /// height, in page space (a rotated image gives rotated words).
    pub quad: Quad,
    /// Index into [`OcrPage::images`] of the image it was read in, and its box there.
    pub image: usize,
    pub pixels: PixelRect,
    /// Tesseract's ids, made unique over the images of the page (blocks are numbered on).
    pub block: u32,
    pub par: u32,
    pub line: u32,
    /// Bytes of [`OcrPage::text`] that are this word.
    pub range: Range<usize>,
}

/// A parallelogram: `origin`, `origin + along`, `origin + up`, `origin + along + up`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad {
    pub origin: (f64, f64),
    pub along: (f64, f64),
    pub up: (f64, f64),
}

impl Quad {
    pub fn width(&self) -> f64 {
        self.along.0.hypot(self.along.1)
    }
    pub fn height(&self) -> f64 {
        self.up.0.hypot(self.up.1)
    }
}

/// What OCR made of one page.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrPage {
    /// 0-based page index
    pub index: usize,
    /// The images read, in reading order (top to bottom, then left to right).
    pub images: Vec<ImageUse>,
    /// The images left alone as decoration (see [`images`] for the rule).
    pub decorative: Vec<ImageUse>,
    /// Words in reading order.
    pub words: Vec<Word>,
    /// The page text for detection: one line per OCR line, words joined by one space, a blank
    /// line between blocks (and between images).
    pub text: String,
}

impl OcrPage {
    /// The mean confidence of the page's words (`None` when no word was read).
    pub fn mean_confidence(&self) -> Option<f32> {
        if self.words.is_empty() {
            return None;
        }
        Some(self.words.iter().map(|w| w.conf).sum::<f32>() / self.words.len() as f32)
    }

    /// Whether the page as a whole reads too poorly to be trusted: its mean confidence is under
    /// `min_mean`. A page with images to read and no word at all is weak too (handwriting, a
    /// photograph of a document at an angle): nobody can say it holds nothing.
    pub fn is_weak(&self, min_mean: f32) -> bool {
        match self.mean_confidence() {
            Some(m) => m < min_mean,
            None => !self.images.is_empty(),
        }
    }

    /// Indices of the words a byte range of [`OcrPage::text`] touches.
    pub fn words_in(&self, range: Range<usize>) -> Vec<usize> {
        // Words are in text order: find the first that ends after the start.
        let first = self.words.partition_point(|w| w.range.end <= range.start);
        self.words[first..]
            .iter()
            .enumerate()
            .take_while(|(_, w)| w.range.start < range.end)
            .map(|(i, _)| first + i)
            .collect()
    }

    /// Page-space boxes of the words a detected span touches (one per word).
    pub fn boxes(&self, range: Range<usize>) -> Vec<[f64; 4]> {
        self.words_in(range).into_iter().map(|i| self.words[i].bbox).collect()
    }

    /// Words under `min_conf` within `near` words (on the same line) of a span, the span's own
    /// words included: a mark whose neighbours were misread may have missed part of a name.
    pub fn weak_words_near(&self, range: Range<usize>, min_conf: f32, near: usize) -> Vec<usize> {
        let hit = self.words_in(range);
        let (Some(&first), Some(&last)) = (hit.first(), hit.last()) else { return vec![] };
        let lo = first.saturating_sub(near);
        let hi = (last + near).min(self.words.len() - 1);
        (lo..=hi)
            .filter(|&i| {
                let w = &self.words[i];
                let same_line = [first, last].iter().any(|&j| {
                    let o = &self.words[j];
                    (o.image, o.block, o.par, o.line) == (w.image, w.block, w.par, w.line)
                });
                same_line && w.conf < min_conf
            })
            .collect()
    }
}

/// Build the page text and the words' byte ranges from words of several images (each list in
/// Tesseract's order, `read[i]` read in `images[i]`). Blocks are renumbered so that ids are unique
/// over the page.
pub fn page_from_words(
    index: usize,
    images: Vec<ImageUse>,
    decorative: Vec<ImageUse>,
    read: Vec<Vec<RawWord>>,
) -> OcrPage {
    let mut text = String::new();
    let mut words = Vec::new();
    let mut block_base = 0u32;
    for (ii, (img, raw)) in images.iter().zip(read).enumerate() {
        let mut last: Option<(u32, u32, u32)> = None;
        let mut max_block = 0;
        for w in raw {
            let key = (w.block, w.par, w.line);
            match last {
                None => {
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                }
                Some(k) if k.0 != key.0 => text.push_str("\n\n"),
                Some(k) if k != key => text.push('\n'),
                Some(_) => text.push(' '),
            }
            last = Some(key);
            max_block = max_block.max(w.block);
            let start = text.len();
            text.push_str(&w.text);
            let (x0, y0) = (w.left as f64, w.top as f64);
            let (x1, y1) = ((w.left + w.width) as f64, (w.top + w.height) as f64);
            let origin = img.pixel_to_page(x0, y1);
            let right = img.pixel_to_page(x1, y1);
            let top = img.pixel_to_page(x0, y0);
            let quad = Quad {
                origin,
                along: (right.0 - origin.0, right.1 - origin.1),
                up: (top.0 - origin.0, top.1 - origin.1),
            };
            let far = img.pixel_to_page(x1, y0);
            let xs = [origin.0, right.0, top.0, far.0];
            let ys = [origin.1, right.1, top.1, far.1];
            let bbox = [
                xs.iter().cloned().fold(f64::MAX, f64::min),
                ys.iter().cloned().fold(f64::MAX, f64::min),
                xs.iter().cloned().fold(f64::MIN, f64::max),
                ys.iter().cloned().fold(f64::MIN, f64::max),
            ];
            words.push(Word {
                text: w.text,
                conf: w.conf,
                bbox,
                quad,
                image: ii,
                pixels: PixelRect { x0: w.left, y0: w.top, x1: w.left + w.width, y1: w.top + w.height },
                block: block_base + w.block,
                par: w.par,
                line: w.line,
                range: start..text.len(),
            });
        }
        block_base += max_block + 1;
    }
    if !text.is_empty() {
        text.push('\n');
    }
    OcrPage { index, images, decorative, words, text }
}

/// Enlarge an image read at low resolution (Tesseract reads body text best at about 300 dpi):
/// by 2 under 150 dpi, by 3 under 100 dpi. Returns the factor used.
fn upscale(g: GrayImage, dpi: f64) -> (GrayImage, u32) {
    let f: u32 = if dpi < 100.0 {
        3
    } else if dpi < 150.0 {
        2
    } else {
        1
    };
    if f == 1 {
        return (g, 1);
    }
    let (w, h) = (g.width * f, g.height * f);
    let mut data = vec![0u8; w as usize * h as usize];
    for y in 0..h {
        // Bilinear, sampling at pixel centres.
        let sy = ((y as f64 + 0.5) / f as f64 - 0.5).clamp(0.0, (g.height - 1) as f64);
        let (y0, ty) = (sy.floor() as u32, sy - sy.floor());
        let y1 = (y0 + 1).min(g.height - 1);
        for x in 0..w {
            let sx = ((x as f64 + 0.5) / f as f64 - 0.5).clamp(0.0, (g.width - 1) as f64);
            let (x0, tx) = (sx.floor() as u32, sx - sx.floor());
            let x1 = (x0 + 1).min(g.width - 1);
            let v = g.get(x0, y0) as f64 * (1.0 - tx) * (1.0 - ty)
                + g.get(x1, y0) as f64 * tx * (1.0 - ty)
                + g.get(x0, y1) as f64 * (1.0 - tx) * ty
                + g.get(x1, y1) as f64 * tx * ty;
            data[(y * w + x) as usize] = v.round() as u8;
        }
    }
    (GrayImage { width: w, height: h, data }, f)
}

/// Read one grey image at the resolution it is drawn at; word boxes in the image's own pixels.
pub fn read_image(tess: &Tesseract, gray: GrayImage, dpi: f64) -> Result<Vec<RawWord>, OcrError> {
    let (g, f) = upscale(gray, dpi);
    let mut words = tess.read(&g, (dpi * f as f64).round() as u32)?;
    if f > 1 {
        for w in &mut words {
            let x1 = (w.left + w.width).div_ceil(f);
            let y1 = (w.top + w.height).div_ceil(f);
            w.left /= f;
            w.top /= f;
            w.width = x1 - w.left;
            w.height = y1 - w.top;
        }
    }
    Ok(words)
}

/// The images of a page to read and to leave alone; an inline image that would be read is an
/// error (it cannot be replaced in place, so the page stays held).
pub fn choose_images(doc: &Document, page: ObjectId, index: usize) -> Result<(Vec<ImageUse>, Vec<ImageUse>), OcrError> {
    let all = images::page_images(doc, page, index)?;
    let (mut read, decorative): (Vec<ImageUse>, Vec<ImageUse>) = all.into_iter().partition(|u| u.role() == Role::Read);
    if read.iter().any(|u| u.object.is_none()) {
        return Err(OcrError::InlineImage { page: index + 1 });
    }
    // The same image drawn twice is read once, at its first place.
    let mut seen = Vec::new();
    read.retain(|u| {
        let new = !seen.contains(&u.object);
        seen.push(u.object);
        new
    });
    // Reading order: top to bottom, then left to right.
    read.sort_by(|a, b| b.bbox[3].total_cmp(&a.bbox[3]).then(a.bbox[0].total_cmp(&b.bbox[0])));
    Ok((read, decorative))
}

/// Decode an image XObject to its grey view.
pub fn decode_gray(doc: &Document, id: ObjectId, page: usize) -> Result<GrayImage, OcrError> {
    let s = match doc.get_object(id) {
        Ok(Object::Stream(s)) => s,
        _ => return Err(OcrError::NotAnImage { id }),
    };
    let d = crate::pdf::image::decode(doc, s).map_err(|error| OcrError::Image { page, error })?;
    Ok(d.to_gray())
}

/// Read the images of one page (0-based `index`) that can hold text.
pub fn read_page(tess: &Tesseract, doc: &Document, index: usize) -> Result<OcrPage, OcrError> {
    let pages: Vec<ObjectId> = doc.get_pages().values().copied().collect();
    let page = *pages.get(index).ok_or(OcrError::PageIndex { index })?;
    let (read, decorative) = choose_images(doc, page, index)?;
    let mut words = Vec::with_capacity(read.len());
    for u in &read {
        let id = u.object.ok_or(OcrError::InlineImage { page: index + 1 })?;
        let gray = decode_gray(doc, id, index + 1)?;
        words.push(read_image(tess, gray, u.dpi())?);
    }
    Ok(page_from_words(index, read, decorative, words))
}

/// Read several pages in parallel (rayon); the results come back in the order asked.
pub fn read_pages(tess: &Tesseract, doc: &Document, indices: &[usize]) -> Vec<Result<OcrPage, OcrError>> {
    use rayon::prelude::*;
    indices.par_iter().map(|&i| read_page(tess, doc, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str, block: u32, line: u32, left: u32, conf: f32) -> RawWord {
        RawWord { text: text.into(), conf, left, top: 10, width: 40, height: 20, block, par: 1, line, word: 1 }
    }

    fn scan() -> ImageUse {
        // 1000 x 1000 pixels over 500 x 500 points at the origin.
        ImageUse {
            object: Some((1, 0)),
            ctm: [500.0, 0.0, 0.0, 500.0, 0.0, 0.0],
            width: 1000,
            height: 1000,
            bbox: [0.0, 0.0, 500.0, 500.0],
        }
    }

    #[test]
    fn page_text_has_lines_and_blank_lines_between_blocks_and_maps_back_to_words() {
        let words = vec![
            raw("Dear", 1, 1, 0, 95.0),
            raw("Ms", 1, 1, 50, 95.0),
            raw("Castell,", 1, 1, 100, 95.0),
            raw("Gordon", 1, 2, 0, 40.0),
            raw("Brannock", 1, 2, 50, 90.0),
            raw("Yours", 2, 1, 0, 92.0),
        ];
        let p = page_from_words(0, vec![scan()], vec![], vec![words]);
        assert_eq!(p.text, "Dear Ms Castell,\nGordon Brannock\n\nYours\n");
        let at = p.text.find("Brannock").unwrap();
        assert_eq!(p.words_in(at..at + 8), vec![4]);
        assert_eq!(&p.text[p.words[4].range.clone()], "Brannock");
        // A span over a line break touches both words.
        let s = p.text.find("Castell").unwrap();
        assert_eq!(p.words_in(s..s + 12), vec![2, 3]);
        // Pixel 50..90, 10..30 of a 2 px/pt image at the origin: points 25..45, 485..495.
        assert_eq!(p.words[4].bbox, [25.0, 485.0, 45.0, 495.0]);
        assert_eq!(p.boxes(at..at + 8), vec![[25.0, 485.0, 45.0, 495.0]]);
        assert!((p.mean_confidence().unwrap() - 84.5).abs() < 1e-4);
        assert!(p.is_weak(85.0) && !p.is_weak(80.0));
        // "Gordon" (conf 40) is next to the span "Brannock" on its line; "Castell," is not.
        assert_eq!(p.weak_words_near(at..at + 8, 60.0, 2), vec![3]);
    }

    #[test]
    fn words_of_several_images_get_their_own_blocks() {
        let a = vec![raw("one", 1, 1, 0, 90.0)];
        let b = vec![raw("two", 1, 1, 0, 90.0)];
        let p = page_from_words(3, vec![scan(), scan()], vec![], vec![a, b]);
        assert_eq!(p.text, "one\n\ntwo\n");
        assert_ne!(p.words[0].block, p.words[1].block);
        assert_eq!(p.words[1].image, 1);
    }

    #[test]
    fn an_image_page_with_no_words_is_weak() {
        let p = page_from_words(0, vec![scan()], vec![], vec![vec![]]);
        assert_eq!(p.mean_confidence(), None);
        assert!(p.is_weak(50.0));
        let empty = page_from_words(0, vec![], vec![], vec![]);
        assert!(!empty.is_weak(50.0));
    }

    #[test]
    fn upscaling_keeps_a_flat_image_flat_and_scales_boxes_back() {
        let g = GrayImage { width: 4, height: 2, data: vec![200; 8] };
        let (u, f) = upscale(g.clone(), 90.0);
        assert_eq!((f, u.width, u.height), (3, 12, 6));
        assert!(u.data.iter().all(|&v| v == 200));
        assert_eq!(upscale(g, 300.0).1, 1);
    }
}
