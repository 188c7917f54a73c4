//! Pixel redaction: boxes in page space are painted into the image's samples, the image is
//! encoded again and its stream replaced in the document, so the original pixels are gone from
//! the file (not covered by a box that a reader could move).
//!
//! The stream is replaced in place, under the same object id: every page that draws the image
//! shows the painted version, so no copy of the original is left anywhere. A soft mask (`/SMask`)
//! is painted opaque over the same boxes, so the paint shows. Whoever calls this draws the label
//! over the box as vector text.

use super::images::ImageUse;
use crate::pdf::image::{self, ImageError, Paint, PixelRect};
use lopdf::{Document, Object, ObjectId, Stream};

/// What was painted into one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Painted {
    pub object: ObjectId,
    /// The pixel rectangles painted (a JPEG's are widened to its 16-pixel blocks).
    pub rects: Vec<PixelRect>,
    /// The soft mask painted opaque, if the image has one.
    pub smask: Option<ObjectId>,
}

/// Put `stream` in place of the object `id` (an image XObject), keeping its id.
pub fn replace_image_stream(doc: &mut Document, id: ObjectId, stream: Stream) -> Result<(), ImageError> {
    match doc.objects.get(&id) {
        Some(Object::Stream(s)) if s.dict.get(b"Subtype").ok().and_then(|o| o.as_name().ok()) == Some(b"Image") => {}
        _ => return Err(ImageError::Damaged { what: format!("object {} {} is not an image XObject", id.0, id.1) }),
    }
    doc.objects.insert(id, Object::Stream(stream));
    Ok(())
}

fn stream(doc: &Document, id: ObjectId) -> Result<&Stream, ImageError> {
    match doc.get_object(id) {
        Ok(Object::Stream(s)) => Ok(s),
        _ => Err(ImageError::Damaged { what: format!("object {} {} is not a stream", id.0, id.1) }),
    }
}

/// New streams for an image (and its soft mask) with boxes painted, not yet in the document:
/// made from a shared `&Document`, so that many images can be painted in parallel.
#[derive(Debug, Clone)]
pub struct Repaint {
    pub painted: Painted,
    streams: Vec<(ObjectId, Stream)>,
}

impl Repaint {
    /// Put the new streams in place of the old ones (same object ids).
    pub fn apply(self, doc: &mut Document) -> Result<Painted, ImageError> {
        for (id, s) in self.streams {
            if id == self.painted.object {
                replace_image_stream(doc, id, s)?;
            } else {
                doc.objects.insert(id, Object::Stream(s));
            }
        }
        Ok(self.painted)
    }
}

/// Paint `boxes` (page space, widened by `pad` points on each side) into the image drawn as
/// `image`. `None` when no box falls on the image. Fails closed: an image that cannot be decoded
/// or encoded again is an error.
pub fn paint_image(
    doc: &Document,
    image: &ImageUse,
    boxes: &[[f64; 4]],
    paint: Paint,
    pad: f64,
) -> Result<Option<Repaint>, ImageError> {
    let id = image.object.ok_or_else(|| ImageError::Unsupported { what: "an inline image".into() })?;
    let rects: Vec<PixelRect> =
        boxes.iter().filter_map(|b| image.page_to_pixels(&[b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad])).collect();
    paint_pixels(doc, id, (image.width, image.height), &rects, paint)
}

/// As [`paint_image`], with the rectangles already in the image's pixels (`size` is the image's
/// size where it is drawn, checked against the stream): the rectangles of every place an image is
/// drawn are painted in one pass, so the image is decoded and encoded once.
pub fn paint_pixels(
    doc: &Document,
    id: ObjectId,
    size: (u32, u32),
    rects: &[PixelRect],
    paint: Paint,
) -> Result<Option<Repaint>, ImageError> {
    if rects.is_empty() {
        return Ok(None);
    }
    let original = stream(doc, id)?;
    let mut decoded = image::decode(doc, original)?;
    if (decoded.info.width, decoded.info.height) != size {
        return Err(ImageError::Damaged { what: "image size differs from where it is drawn".into() });
    }
    let painted = decoded.paint(rects, paint);
    let mut streams = vec![(id, decoded.encode(original)?)];
    // The soft mask, if any, is made opaque over the painted rectangles (scaled to its size).
    let smask = match original.dict.get(b"SMask") {
        Ok(Object::Reference(r)) => Some(*r),
        _ => None,
    };
    if let Some(mid) = smask {
        let ms = stream(doc, mid)?;
        let mut m = image::decode(doc, ms)?;
        let (sx, sy) = (m.info.width as f64 / size.0 as f64, m.info.height as f64 / size.1 as f64);
        let scaled: Vec<PixelRect> = painted
            .iter()
            .map(|r| PixelRect {
                x0: (r.x0 as f64 * sx).floor() as u32,
                y0: (r.y0 as f64 * sy).floor() as u32,
                x1: (r.x1 as f64 * sx).ceil() as u32,
                y1: (r.y1 as f64 * sy).ceil() as u32,
            })
            .collect();
        m.paint_level(&scaled, 255);
        streams.push((mid, m.encode(ms)?));
    }
    Ok(Some(Repaint { painted: Painted { object: id, rects: painted, smask }, streams }))
}

/// [`paint_image`], then [`Repaint::apply`]: the image's stream is replaced in the document.
/// On an error the document is unchanged.
pub fn redact_image(
    doc: &mut Document,
    image: &ImageUse,
    boxes: &[[f64; 4]],
    paint: Paint,
    pad: f64,
) -> Result<Option<Painted>, ImageError> {
    match paint_image(doc, image, boxes, paint, pad)? {
        Some(r) => r.apply(doc).map(Some),
        None => Ok(None),
    }
}
