//! Which images a page draws, where, and which of them can hold text.
//!
//! A page's content (and the Form XObjects it draws, with their matrices) is walked for `Do` and
//! inline images with the graphics state's matrix, which maps the image's unit square onto the
//! page. Each image drawn becomes an [`ImageUse`].
//!
//! **Text or decoration.** An image is read when it is drawn at least [`TEXT_MIN_SIDE_PT`] on
//! its shorter side *and* covers at least [`TEXT_MIN_AREA_PT2`] of the page, and has at least
//! [`TEXT_MIN_PIXELS`] pixels on each side. A letterhead logo (say 2.5 x 0.8 in), a signature
//! (2 x 0.6 in), a stamp or a rule is smaller than that on one count and is left alone, as it is
//! today: it is drawn as it was. A scanned page (8.3 x 11.7 in), an embedded scan of a letter
//! (half a page) or a photographed form (4 x 3 in and up) is read. Resolution is not part of the
//! test: a large image at low resolution is still read, and its low confidence then holds it for
//! a person, which is the safe way round.

use super::OcrError;
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// The shorter drawn side of an image that may hold text (0.75 in).
pub const TEXT_MIN_SIDE_PT: f64 = 54.0;
/// The drawn area of an image that may hold text (4 square inches).
pub const TEXT_MIN_AREA_PT2: f64 = 4.0 * 72.0 * 72.0;
/// Fewer pixels than this on a side cannot hold a line of readable text.
pub const TEXT_MIN_PIXELS: u32 = 16;

/// A 2-D affine matrix `[a b c d e f]` as PDF writes it.
pub type Matrix = [f64; 6];

pub(crate) fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

pub(crate) fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

pub(crate) fn invert(m: &Matrix) -> Option<Matrix> {
    let det = m[0] * m[3] - m[1] * m[2];
    if det.abs() < 1e-12 {
        return None;
    }
    let (a, b, c, d) = (m[3] / det, -m[1] / det, -m[2] / det, m[0] / det);
    Some([a, b, c, d, -(m[4] * a + m[5] * c), -(m[4] * b + m[5] * d)])
}

/// One image drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageUse {
    /// The image XObject; `None` for an inline image (which cannot be replaced, only held).
    pub object: Option<ObjectId>,
    /// Maps the image's unit square to the page's default user space.
    pub ctm: Matrix,
    pub width: u32,
    pub height: u32,
    /// x0, y0, x1, y1 in the page's default user space
    pub bbox: [f64; 4],
}

/// Whether an image is read or left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Large enough to hold text: decoded and read.
    Read,
    /// Small (a logo, a signature, a rule): drawn as it is.
    Decorative,
}

impl ImageUse {
    /// Drawn lengths of the image's sides (in points), for any rotation or skew.
    pub fn sides(&self) -> (f64, f64) {
        let m = &self.ctm;
        ((m[0] * m[0] + m[1] * m[1]).sqrt(), (m[2] * m[2] + m[3] * m[3]).sqrt())
    }

    /// See the module doc for the rule.
    pub fn role(&self) -> Role {
        let (w, h) = self.sides();
        let area = (self.ctm[0] * self.ctm[3] - self.ctm[1] * self.ctm[2]).abs();
        if w.min(h) >= TEXT_MIN_SIDE_PT && area >= TEXT_MIN_AREA_PT2 && self.width.min(self.height) >= TEXT_MIN_PIXELS {
            Role::Read
        } else {
            Role::Decorative
        }
    }

    /// The resolution it is drawn at (pixels per inch), the mean of both axes.
    pub fn dpi(&self) -> f64 {
        let (w, h) = self.sides();
        let x = self.width as f64 / (w / 72.0).max(1e-6);
        let y = self.height as f64 / (h / 72.0).max(1e-6);
        (x + y) / 2.0
    }

    /// Pixel coordinates (x right, y down, top-left origin, in pixels) to the page.
    pub fn pixel_to_page(&self, x: f64, y: f64) -> (f64, f64) {
        apply(&self.ctm, x / self.width as f64, 1.0 - y / self.height as f64)
    }

    /// A page-space rectangle to the pixels it covers (rounded outwards, clipped).
    pub fn page_to_pixels(&self, b: &[f64; 4]) -> Option<crate::pdf::image::PixelRect> {
        let inv = invert(&self.ctm)?;
        let pts = [(b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])];
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (px, py) in pts {
            let (u, v) = apply(&inv, px, py);
            let (x, y) = (u * self.width as f64, (1.0 - v) * self.height as f64);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let clip = |v: f64, max: u32| v.clamp(0.0, max as f64);
        let r = crate::pdf::image::PixelRect {
            // A hair of tolerance so that float error does not widen an exact edge by a pixel.
            x0: clip((x0 + 1e-6).floor(), self.width) as u32,
            y0: clip((y0 + 1e-6).floor(), self.height) as u32,
            x1: clip((x1 - 1e-6).ceil(), self.width) as u32,
            y1: clip((y1 - 1e-6).ceil(), self.height) as u32,
        };
        (r.x0 < r.x1 && r.y0 < r.y1).then_some(r)
    }
}

pub(crate) fn bbox_of(m: &Matrix) -> [f64; 4] {
    let pts = [apply(m, 0.0, 0.0), apply(m, 1.0, 0.0), apply(m, 0.0, 1.0), apply(m, 1.0, 1.0)];
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (x, y) in pts {
        b[0] = b[0].min(x);
        b[1] = b[1].min(y);
        b[2] = b[2].max(x);
        b[3] = b[3].max(y);
    }
    b
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    match o {
        Object::Reference(r) => doc.get_object(*r).unwrap_or(&Object::Null),
        o => o,
    }
}

fn num(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(*r as f64),
        _ => None,
    }
}

/// The resource dictionaries in force for a page, nearest first (the page's, then inherited).
fn page_resources(doc: &Document, page: ObjectId) -> Vec<Dictionary> {
    let mut out = Vec::new();
    if let Ok((own, inherited)) = doc.get_page_resources(page) {
        out.extend(own.cloned());
        for id in inherited {
            if let Ok(d) = doc.get_dictionary(id) {
                out.push(d.clone());
            }
        }
    }
    out
}

fn lookup_xobject(doc: &Document, resources: &[Dictionary], name: &[u8]) -> Option<Object> {
    resources.iter().find_map(|r| {
        let xo = r.get(b"XObject").ok().map(|o| deref(doc, o))?;
        let d = xo.as_dict().ok()?;
        d.get(name).ok().cloned()
    })
}

struct Walk<'a> {
    doc: &'a Document,
    page: usize,
    out: Vec<ImageUse>,
    stack: Vec<ObjectId>,
}

impl Walk<'_> {
    fn content(&mut self, data: &[u8], resources: &[Dictionary], base: Matrix) -> Result<(), OcrError> {
        let content = Content::decode(data).map_err(|_| OcrError::Content { page: self.page })?;
        let mut ctm = base;
        let mut saved: Vec<Matrix> = Vec::new();
        for op in &content.operations {
            match op.operator.as_str() {
                "q" => saved.push(ctm),
                "Q" => ctm = saved.pop().unwrap_or(base),
                "cm" => {
                    let v: Vec<f64> = op.operands.iter().filter_map(num).collect();
                    if v.len() == 6 {
                        ctm = mul(&[v[0], v[1], v[2], v[3], v[4], v[5]], &ctm);
                    }
                }
                "Do" => {
                    let Some(Object::Name(name)) = op.operands.first() else { continue };
                    let Some(obj) = lookup_xobject(self.doc, resources, name) else { continue };
                    let id = obj.as_reference().ok();
                    let Object::Stream(s) = deref(self.doc, &obj) else { continue };
                    let subtype = s.dict.get(b"Subtype").ok().and_then(|o| o.as_name().ok()).unwrap_or_default();
                    if subtype == b"Image" {
                        let dims = crate::pdf::image::info(self.doc, s);
                        let (w, h) = match &dims {
                            Ok(i) => (i.width, i.height),
                            Err(_) => (
                                s.dict.get(b"Width").ok().and_then(num).unwrap_or(0.0) as u32,
                                s.dict.get(b"Height").ok().and_then(num).unwrap_or(0.0) as u32,
                            ),
                        };
                        self.out.push(ImageUse { object: id, ctm, width: w, height: h, bbox: bbox_of(&ctm) });
                    } else if subtype == b"Form" {
                        if id.is_some_and(|i| self.stack.contains(&i)) || self.stack.len() > 12 {
                            continue;
                        }
                        let m: Matrix = match s.dict.get(b"Matrix").ok().map(|o| deref(self.doc, o)) {
                            Some(Object::Array(a)) if a.len() == 6 => {
                                let v: Vec<f64> = a.iter().filter_map(|o| num(deref(self.doc, o))).collect();
                                if v.len() == 6 {
                                    [v[0], v[1], v[2], v[3], v[4], v[5]]
                                } else {
                                    [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
                                }
                            }
                            _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                        };
                        let mut res: Vec<Dictionary> = Vec::new();
                        if let Some(Object::Dictionary(d)) = s.dict.get(b"Resources").ok().map(|o| deref(self.doc, o)) {
                            res.push(d.clone());
                        }
                        res.extend(resources.iter().cloned());
                        let data = s
                            .decompressed_content_with_limit(256 << 20)
                            .or_else(|_| if s.dict.get(b"Filter").is_err() { Ok(s.content.clone()) } else { Err(()) })
                            .map_err(|_| OcrError::Content { page: self.page })?;
                        if let Some(i) = id {
                            self.stack.push(i);
                        }
                        self.content(&data, &res, mul(&m, &ctm))?;
                        if id.is_some() {
                            self.stack.pop();
                        }
                    }
                }
                "BI" => {
                    // An inline image whose data lopdf could not parse still has its place on the
                    // page: its size in pixels is taken as enough to hold text, so that a large
                    // one is read (and, being inline, holds the page) rather than passed.
                    let (w, h) = match op.operands.first() {
                        Some(Object::Stream(s)) => (
                            s.dict.get(b"W").or_else(|_| s.dict.get(b"Width")).ok().and_then(num).unwrap_or(0.0) as u32,
                            s.dict.get(b"H").or_else(|_| s.dict.get(b"Height")).ok().and_then(num).unwrap_or(0.0)
                                as u32,
                        ),
                        _ => (TEXT_MIN_PIXELS, TEXT_MIN_PIXELS),
                    };
                    self.out.push(ImageUse { object: None, ctm, width: w, height: h, bbox: bbox_of(&ctm) });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Every image a page draws, in drawing order.
pub fn page_images(doc: &Document, page: ObjectId, index: usize) -> Result<Vec<ImageUse>, OcrError> {
    let data = doc.get_page_content(page);
    let resources = page_resources(doc, page);
    let mut w = Walk { doc, page: index + 1, out: Vec::new(), stack: Vec::new() };
    w.content(&data, &resources, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0])?;
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ctm: Matrix, w: u32, h: u32) -> ImageUse {
        ImageUse { object: None, ctm, width: w, height: h, bbox: bbox_of(&ctm) }
    }

    #[test]
    fn scans_and_embedded_letters_are_read_logos_and_signatures_are_not() {
        // A full A4 scan at 300 dpi.
        assert_eq!(at([595.0, 0.0, 0.0, 842.0, 0.0, 0.0], 2480, 3508).role(), Role::Read);
        // Half a page: an embedded scan of a letter.
        assert_eq!(at([450.0, 0.0, 0.0, 320.0, 70.0, 300.0], 1875, 1333).role(), Role::Read);
        // A photographed form, 4 x 3 in, rotated a quarter turn.
        assert_eq!(at([0.0, 288.0, -216.0, 0.0, 300.0, 100.0], 1200, 900).role(), Role::Read);
        // A letterhead logo 2.5 x 0.8 in, a signature 2 x 0.6 in, a wide rule.
        assert_eq!(at([180.0, 0.0, 0.0, 58.0, 50.0, 760.0], 750, 240).role(), Role::Decorative);
        assert_eq!(at([144.0, 0.0, 0.0, 43.0, 50.0, 100.0], 600, 180).role(), Role::Decorative);
        assert_eq!(at([500.0, 0.0, 0.0, 4.0, 50.0, 400.0], 2000, 16).role(), Role::Decorative);
        // A tiny image stretched over the page (a tint) has no room for text.
        assert_eq!(at([595.0, 0.0, 0.0, 842.0, 0.0, 0.0], 1, 256).role(), Role::Decorative);
    }

    #[test]
    fn pixels_and_page_space_map_both_ways() {
        // 200 x 100 pixels drawn at 100,50 scaled to 400 x 200 points.
        let u = at([400.0, 0.0, 0.0, 200.0, 100.0, 50.0], 200, 100);
        assert_eq!(u.pixel_to_page(0.0, 0.0), (100.0, 250.0));
        assert_eq!(u.pixel_to_page(200.0, 100.0), (500.0, 50.0));
        let r = u.page_to_pixels(&[120.0, 230.0, 140.0, 250.0]).unwrap();
        assert_eq!((r.x0, r.y0, r.x1, r.y1), (10, 0, 20, 10));
        assert!(u.page_to_pixels(&[0.0, 0.0, 10.0, 10.0]).is_none());
        assert!((u.dpi() - 36.0).abs() < 1e-9);
    }
}
