//! Rendering a whole page with hayro (pure Rust), for the check after redaction (the page as a
//! reader would see it: images, vector boxes and labels, any text) and for page images in review.

use super::images::{invert, Matrix};
use super::{ImageUse, OcrError};
use crate::pdf::image::GrayImage;

/// A rendered page and where its pixels lie in the page's default user space.
pub struct Rendered {
    pub image: GrayImage,
    /// The render as if it were an image drawn over the whole page: maps its pixels back to
    /// page space (`pixel_to_page`, `page_to_pixels`), page rotation and crop box included.
    pub placement: ImageUse,
    pub dpi: f32,
}

/// Render pages (0-based) of a PDF at `dpi` on white, in grey. An unreadable PDF or a page out of
/// range is an error.
pub fn render_pages(pdf: &[u8], indices: &[usize], dpi: f32) -> Result<Vec<Rendered>, OcrError> {
    use hayro::hayro_interpret::util::TransformExt;
    use hayro::vello_cpu::color::palette::css::WHITE;
    let doc = hayro::hayro_syntax::Pdf::new(pdf.to_vec()).map_err(|_| OcrError::Render { page: None })?;
    let pages = doc.pages();
    let cache = hayro::RenderCache::new();
    let settings = hayro::hayro_interpret::InterpreterSettings::default();
    let scale = dpi / 72.0;
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        let page = pages.get(i).ok_or(OcrError::PageIndex { index: i })?;
        let px = hayro::render(
            page,
            &cache,
            &settings,
            &hayro::RenderSettings::default(),
            &hayro::PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE },
        );
        let (w, h) = (px.width() as u32, px.height() as u32);
        if w == 0 || h == 0 {
            return Err(OcrError::Render { page: Some(i + 1) });
        }
        let data: Vec<u8> = px
            .data_as_u8_slice()
            .chunks_exact(4)
            .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114 + 500) / 1000) as u8)
            .collect();
        // Pixel = scale x initial transform x user point; its inverse maps pixels back.
        let c = page.initial_transform(true).to_kurbo().as_coeffs();
        let s = scale as f64;
        let t: Matrix = [c[0] * s, c[1] * s, c[2] * s, c[3] * s, c[4] * s, c[5] * s];
        let inv = invert(&t).ok_or(OcrError::Render { page: Some(i + 1) })?;
        let (wf, hf) = (w as f64, h as f64);
        let ctm: Matrix =
            [inv[0] * wf, inv[1] * wf, -inv[2] * hf, -inv[3] * hf, inv[2] * hf + inv[4], inv[3] * hf + inv[5]];
        let placement = ImageUse { object: None, ctm, width: w, height: h, bbox: super::images::bbox_of(&ctm) };
        out.push(Rendered { image: GrayImage { width: w, height: h, data }, placement, dpi });
    }
    Ok(out)
}
