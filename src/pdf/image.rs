//! Image XObjects: decode their samples, paint boxes into them, and encode them again.
//!
//! Owns the image codecs of the engine: DCTDecode (zune-jpeg to decode, jpeg-encoder to encode),
//! CCITTFaxDecode (hayro-ccitt), JBIG2Decode (hayro-jbig2) and the general filters in front of them
//! (lopdf: Flate and LZW with predictors, ASCII85, ASCIIHex, RunLength). It must not decide what
//! to paint, and it never passes an image it cannot read: a filter, colour space or bit depth it
//! does not know is an [`ImageError`], so that the caller holds the page (fail closed).
//!
//! Samples are kept as stored (one byte per sample, the stream's own colour space and bit depth),
//! so that painting and re-encoding change nothing but the painted pixels. [`Decoded::to_gray`]
//! is the reader's view (colour space, `/Decode` and palettes applied) used for OCR.

use lopdf::{Dictionary, Document, Object, Stream};

/// Largest image accepted, in samples (width x height x components): about a 600 dpi A3 colour
/// scan. Larger images are refused rather than risking memory on a crafted file.
const MAX_SAMPLES: u64 = 400_000_000;

/// Why an image cannot be read or written. Messages carry filter names and sizes, never content.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ImageError {
    #[error("cannot decode an image filtered with {filter}: the page stays held")]
    CannotDecode { filter: String },
    #[error("unsupported image: {what}: the page stays held")]
    Unsupported { what: String },
    #[error("damaged image: {what}")]
    Damaged { what: String },
    #[error("image too large: {width} x {height} pixels")]
    TooLarge { width: u32, height: u32 },
}

fn unsupported(what: impl Into<String>) -> ImageError {
    ImageError::Unsupported { what: what.into() }
}

fn damaged(what: impl Into<String>) -> ImageError {
    ImageError::Damaged { what: what.into() }
}

/// The colour space of the stored samples.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    Gray,
    Rgb,
    Cmyk,
    /// A palette: one stored component, `lookup` holds `(hival + 1) x base components` bytes.
    Indexed {
        base: Box<Space>,
        hival: u8,
        lookup: Vec<u8>,
    },
}

impl Space {
    /// Components per stored sample.
    pub fn components(&self) -> usize {
        match self {
            Space::Gray => 1,
            Space::Rgb => 3,
            Space::Cmyk => 4,
            Space::Indexed { .. } => 1,
        }
    }
}

/// How the samples were compressed, which decides how they are written back.
#[derive(Debug, Clone, PartialEq)]
pub enum Codec {
    /// General filters only (Flate, LZW, ...) or none: written back as Flate.
    Samples,
    /// DCTDecode: written back as JPEG at the quality estimated from its tables.
    Jpeg { quality: u8 },
    /// CCITTFaxDecode: written back as 1-bit Flate.
    Ccitt,
    /// JBIG2Decode: written back as 1-bit Flate (the globals are no longer referenced).
    Jbig2,
}

/// The image dictionary as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    pub width: u32,
    pub height: u32,
    pub bpc: u8,
    pub space: Space,
    /// A stencil mask (`/ImageMask true`): one 1-bit component that says where the fill colour
    /// is painted.
    pub image_mask: bool,
    /// `/Decode`, two numbers per component (defaults filled in).
    pub decode: Vec<f64>,
    pub codec: Codec,
}

/// An image decoded to its stored samples.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub info: ImageInfo,
    /// One byte per sample (values 0 ..= 2^bpc - 1), rows top to bottom, components interleaved.
    pub samples: Vec<u8>,
}

/// An 8-bit grey image (0 black, 255 white), the reader's view of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl GrayImage {
    /// A binary PGM (P5): what Tesseract is fed on stdin (no compression to spend time on).
    pub fn to_pgm(&self) -> Vec<u8> {
        let mut out = format!("P5\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.data);
        out
    }

    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.data[(y as usize) * self.width as usize + x as usize]
    }
}

/// The colour the boxes are painted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Black,
    /// The house mark colour: the 0.1 grey of the vector boxes.
    House,
}

impl Paint {
    /// Grey level 0..=255.
    pub fn level(self) -> u8 {
        match self {
            Paint::Black => 0,
            Paint::House => 26,
        }
    }
}

/// A rectangle in pixels: columns x0..x1, rows y0..y1 (row 0 at the top), end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

fn name_of(doc: &Document, o: &Object) -> Option<Vec<u8>> {
    match deref(doc, o) {
        Object::Name(n) => Some(n.clone()),
        _ => None,
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    let mut cur = o;
    for _ in 0..16 {
        match cur {
            Object::Reference(r) => match doc.get_object(*r) {
                Ok(next) => cur = next,
                Err(_) => return &Object::Null,
            },
            _ => return cur,
        }
    }
    &Object::Null
}

fn num(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(*r as f64),
        _ => None,
    }
}

fn dict_num(doc: &Document, d: &Dictionary, keys: &[&[u8]]) -> Option<f64> {
    keys.iter().find_map(|k| d.get(k).ok()).and_then(|o| num(deref(doc, o)))
}

fn dict_bool(doc: &Document, d: &Dictionary, key: &[u8]) -> Option<bool> {
    d.get(key).ok().and_then(|o| match deref(doc, o) {
        Object::Boolean(b) => Some(*b),
        _ => None,
    })
}

fn string_or_stream_bytes(doc: &Document, o: &Object) -> Result<Vec<u8>, ImageError> {
    match deref(doc, o) {
        Object::String(s, _) => Ok(s.clone()),
        Object::Stream(s) => s.decompressed_content_with_limit(1 << 20).map_err(|_| damaged("palette stream")),
        _ => Err(damaged("palette")),
    }
}

/// Resolve a colour space object.
fn space_of(doc: &Document, o: &Object, depth: u8) -> Result<Space, ImageError> {
    if depth > 4 {
        return Err(unsupported("colour space nesting"));
    }
    match deref(doc, o) {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"G" | b"CalGray" => Ok(Space::Gray),
            b"DeviceRGB" | b"RGB" | b"CalRGB" => Ok(Space::Rgb),
            b"DeviceCMYK" | b"CMYK" => Ok(Space::Cmyk),
            other => Err(unsupported(format!("colour space {}", String::from_utf8_lossy(other)))),
        },
        Object::Array(a) => {
            let head = a.first().and_then(|h| name_of(doc, h)).unwrap_or_default();
            match head.as_slice() {
                b"ICCBased" => {
                    let n = a
                        .get(1)
                        .and_then(|s| match deref(doc, s) {
                            Object::Stream(s) => dict_num(doc, &s.dict, &[b"N"]),
                            _ => None,
                        })
                        .ok_or_else(|| damaged("ICCBased colour space without /N"))?;
                    match n as i64 {
                        1 => Ok(Space::Gray),
                        3 => Ok(Space::Rgb),
                        4 => Ok(Space::Cmyk),
                        _ => Err(unsupported("ICCBased colour space with unusual /N")),
                    }
                }
                b"CalGray" => Ok(Space::Gray),
                b"CalRGB" => Ok(Space::Rgb),
                b"Indexed" | b"I" => {
                    let base = space_of(doc, a.get(1).ok_or_else(|| damaged("Indexed without base"))?, depth + 1)?;
                    if matches!(base, Space::Indexed { .. }) {
                        return Err(damaged("Indexed over Indexed"));
                    }
                    let hival = a.get(2).and_then(|h| num(deref(doc, h))).ok_or_else(|| damaged("Indexed hival"))?;
                    if !(0.0..=255.0).contains(&hival) {
                        return Err(damaged("Indexed hival out of range"));
                    }
                    let hival = hival as u8;
                    let mut lookup = string_or_stream_bytes(doc, a.get(3).ok_or_else(|| damaged("Indexed lookup"))?)?;
                    let need = (hival as usize + 1) * base.components();
                    if lookup.len() < need {
                        // A short palette reads as black for the missing entries (as readers do).
                        lookup.resize(need, 0);
                    }
                    lookup.truncate(need);
                    Ok(Space::Indexed { base: Box::new(base), hival, lookup })
                }
                other => Err(unsupported(format!("colour space {}", String::from_utf8_lossy(other)))),
            }
        }
        _ => Err(damaged("colour space")),
    }
}

fn filters(doc: &Document, s: &Stream) -> Vec<Vec<u8>> {
    match s.dict.get(b"Filter").map(|o| deref(doc, o)) {
        Ok(Object::Name(n)) => vec![n.clone()],
        Ok(Object::Array(a)) => a.iter().filter_map(|o| name_of(doc, o)).collect(),
        _ => vec![],
    }
}

fn params(doc: &Document, s: &Stream, index: usize) -> Option<Dictionary> {
    match s.dict.get(b"DecodeParms").or_else(|_| s.dict.get(b"DP")).map(|o| deref(doc, o)) {
        Ok(Object::Dictionary(d)) if index == 0 => Some(d.clone()),
        Ok(Object::Array(a)) => a.get(index).and_then(|o| match deref(doc, o) {
            Object::Dictionary(d) => Some(d.clone()),
            _ => None,
        }),
        _ => None,
    }
}

fn canonical_filter(f: &[u8]) -> &[u8] {
    match f {
        b"AHx" => b"ASCIIHexDecode",
        b"A85" => b"ASCII85Decode",
        b"LZW" => b"LZWDecode",
        b"Fl" => b"FlateDecode",
        b"RL" => b"RunLengthDecode",
        b"CCF" => b"CCITTFaxDecode",
        b"DCT" => b"DCTDecode",
        other => other,
    }
}

/// Read the image dictionary (no decoding yet).
pub fn info(doc: &Document, s: &Stream) -> Result<ImageInfo, ImageError> {
    let d = &s.dict;
    let width = dict_num(doc, d, &[b"Width", b"W"]).ok_or_else(|| damaged("no /Width"))?;
    let height = dict_num(doc, d, &[b"Height", b"H"]).ok_or_else(|| damaged("no /Height"))?;
    if !(1.0..=1e6).contains(&width) || !(1.0..=1e6).contains(&height) {
        return Err(damaged("width or height out of range"));
    }
    let (width, height) = (width as u32, height as u32);
    let image_mask = dict_bool(doc, d, b"ImageMask").or_else(|| dict_bool(doc, d, b"IM")).unwrap_or(false);
    let fs = filters(doc, s);
    let last = fs.last().map(|f| canonical_filter(f).to_vec()).unwrap_or_default();
    let codec = match last.as_slice() {
        b"DCTDecode" => Codec::Jpeg { quality: 85 },
        b"CCITTFaxDecode" => Codec::Ccitt,
        b"JBIG2Decode" => Codec::Jbig2,
        _ => Codec::Samples,
    };
    // An image codec anywhere but last, or a filter nobody here decodes, fails closed.
    for (i, f) in fs.iter().enumerate() {
        let f = canonical_filter(f);
        let general =
            matches!(f, b"FlateDecode" | b"LZWDecode" | b"ASCII85Decode" | b"ASCIIHexDecode" | b"RunLengthDecode");
        let image_last = i + 1 == fs.len() && codec != Codec::Samples;
        if !general && !image_last {
            return Err(ImageError::CannotDecode { filter: String::from_utf8_lossy(f).into_owned() });
        }
    }
    let (space, bpc) = if image_mask {
        (Space::Gray, 1)
    } else {
        let bpc = match codec {
            Codec::Ccitt | Codec::Jbig2 => 1.0,
            _ => dict_num(doc, d, &[b"BitsPerComponent", b"BPC"]).unwrap_or(8.0),
        };
        let space = match d.get(b"ColorSpace").or_else(|_| d.get(b"CS")) {
            Ok(o) => space_of(doc, o, 0)?,
            Err(_) => match codec {
                Codec::Ccitt | Codec::Jbig2 => Space::Gray,
                _ => return Err(damaged("no /ColorSpace")),
            },
        };
        (space, bpc as u8)
    };
    if ![1, 2, 4, 8].contains(&bpc) {
        return Err(unsupported(format!("{bpc} bits per component")));
    }
    let comps = space.components();
    let samples = width as u64 * height as u64 * comps as u64;
    if samples > MAX_SAMPLES {
        return Err(ImageError::TooLarge { width, height });
    }
    let max = ((1u32 << bpc) - 1) as f64;
    let default: Vec<f64> = match &space {
        Space::Indexed { .. } => vec![0.0, max],
        _ => (0..comps).flat_map(|_| [0.0, 1.0]).collect(),
    };
    let decode = match d.get(b"Decode").or_else(|_| d.get(b"D")).map(|o| deref(doc, o)) {
        Ok(Object::Array(a)) if a.len() == default.len() => {
            a.iter().map(|o| num(deref(doc, o))).collect::<Option<Vec<f64>>>().unwrap_or(default)
        }
        _ => default,
    };
    Ok(ImageInfo { width, height, bpc, space, image_mask, decode, codec })
}

/// The general filters in front of the image codec, undone by lopdf (with a size limit).
fn pre_decode(doc: &Document, s: &Stream, limit: usize) -> Result<Vec<u8>, ImageError> {
    let fs = filters(doc, s);
    let n = if fs
        .last()
        .map(|f| canonical_filter(f))
        .is_some_and(|f| matches!(f, b"DCTDecode" | b"CCITTFaxDecode" | b"JBIG2Decode"))
    {
        fs.len() - 1
    } else {
        fs.len()
    };
    if n == 0 {
        return Ok(s.content.clone());
    }
    let mut d = Dictionary::new();
    d.set("Filter", Object::Array(fs[..n].iter().map(|f| Object::Name(canonical_filter(f).to_vec())).collect()));
    d.set(
        "DecodeParms",
        Object::Array((0..n).map(|i| params(doc, s, i).map(Object::Dictionary).unwrap_or(Object::Null)).collect()),
    );
    let tmp = Stream::new(d, s.content.clone());
    tmp.decompressed_content_with_limit(limit).map_err(|_| damaged("compressed data cannot be read"))
}

/// Decode an image XObject to its stored samples.
pub fn decode(doc: &Document, s: &Stream) -> Result<Decoded, ImageError> {
    let mut info = info(doc, s)?;
    let (w, h) = (info.width as usize, info.height as usize);
    let comps = info.space.components();
    let row_bytes = (w * comps * info.bpc as usize).div_ceil(8);
    let limit = match info.codec {
        Codec::Samples => row_bytes * h + 1024,
        _ => 512 << 20,
    };
    let data = pre_decode(doc, s, limit)?;
    let samples = match info.codec {
        Codec::Samples => unpack(&data, w, h, comps, info.bpc)?,
        Codec::Jpeg { .. } => {
            info.codec = Codec::Jpeg { quality: jpeg_quality(&data).unwrap_or(85) };
            decode_jpeg(&data, &info)?
        }
        Codec::Ccitt => decode_ccitt(&data, &info, params(doc, s, filters(doc, s).len().saturating_sub(1)))?,
        Codec::Jbig2 => {
            let globals = params(doc, s, filters(doc, s).len().saturating_sub(1))
                .and_then(|p| p.get(b"JBIG2Globals").ok().cloned())
                .map(|g| match deref(doc, &g) {
                    Object::Stream(gs) => {
                        gs.decompressed_content_with_limit(64 << 20).map_err(|_| damaged("JBIG2 globals"))
                    }
                    _ => Err(damaged("JBIG2 globals")),
                })
                .transpose()?;
            decode_jbig2(&data, globals.as_deref(), &info)?
        }
    };
    Ok(Decoded { info, samples })
}

/// Unpack rows of `bpc`-bit samples (rows padded to a byte) into one byte per sample.
fn unpack(data: &[u8], w: usize, h: usize, comps: usize, bpc: u8) -> Result<Vec<u8>, ImageError> {
    let per_row = w * comps;
    let row_bytes = (per_row * bpc as usize).div_ceil(8);
    if data.len() < row_bytes * h {
        // A short stream would show as blank rows in a reader and hide what the encoder wrote.
        return Err(damaged("image data shorter than its size"));
    }
    if bpc == 8 {
        return Ok(data[..row_bytes * h].to_vec());
    }
    let mut out = Vec::with_capacity(per_row * h);
    let mask = (1u16 << bpc) - 1;
    for row in data[..row_bytes * h].chunks_exact(row_bytes) {
        for i in 0..per_row {
            let bit = i * bpc as usize;
            let byte = row[bit / 8] as u16;
            let shift = 8 - bpc as usize - (bit % 8);
            out.push(((byte >> shift) & mask) as u8);
        }
    }
    Ok(out)
}

/// Pack one byte per sample into rows of `bpc`-bit samples padded to a byte.
fn pack(samples: &[u8], w: usize, h: usize, comps: usize, bpc: u8) -> Vec<u8> {
    if bpc == 8 {
        return samples.to_vec();
    }
    let per_row = w * comps;
    let row_bytes = (per_row * bpc as usize).div_ceil(8);
    let mut out = vec![0u8; row_bytes * h];
    for (r, row) in samples.chunks_exact(per_row).enumerate() {
        let dst = &mut out[r * row_bytes..(r + 1) * row_bytes];
        for (i, &v) in row.iter().enumerate() {
            let bit = i * bpc as usize;
            let shift = 8 - bpc as usize - (bit % 8);
            dst[bit / 8] |= v << shift;
        }
    }
    out
}

fn decode_jpeg(data: &[u8], info: &ImageInfo) -> Result<Vec<u8>, ImageError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let out_space = match info.space {
        Space::Gray => ColorSpace::Luma,
        Space::Rgb => ColorSpace::RGB,
        Space::Cmyk => ColorSpace::CMYK,
        Space::Indexed { .. } => return Err(unsupported("an indexed JPEG")),
    };
    if info.bpc != 8 {
        return Err(unsupported("a JPEG with other than 8 bits per component"));
    }
    let opts = DecoderOptions::default()
        .set_max_width(info.width as usize + 1)
        .set_max_height(info.height as usize + 1)
        .jpeg_set_out_colorspace(out_space);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), opts);
    let pixels = dec.decode().map_err(|_| damaged("JPEG data cannot be decoded"))?;
    let (jw, jh) = dec.dimensions().ok_or_else(|| damaged("JPEG without a size"))?;
    if jw != info.width as usize || jh != info.height as usize {
        return Err(damaged("JPEG size differs from the image dictionary"));
    }
    let need = jw * jh * info.space.components();
    if pixels.len() != need {
        return Err(damaged("JPEG components differ from the colour space"));
    }
    Ok(pixels)
}

/// Estimate the IJG quality a JPEG was written at, from its luminance quantisation table.
pub fn jpeg_quality(data: &[u8]) -> Option<u8> {
    const STD: [u16; 64] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29,
        51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121,
        120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];
    let mut i = 2;
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return None;
    }
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 || marker == 0xFF {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        if marker == 0xDB {
            let seg = data.get(i + 4..i + 2 + len)?;
            let mut j = 0;
            while j < seg.len() {
                let pq = seg[j] >> 4;
                let tq = seg[j] & 15;
                let n = if pq == 0 { 64 } else { 128 };
                let t = seg.get(j + 1..j + 1 + n)?;
                if tq == 0 {
                    // Both tables are stored in zigzag order; compare entry by entry in that order.
                    let vals: Vec<u16> = if pq == 0 {
                        t.iter().map(|&v| v as u16).collect()
                    } else {
                        t.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
                    };
                    let zz = zigzag_std(&STD);
                    let sum_q: f64 = vals.iter().map(|&v| v as f64).sum();
                    let sum_s: f64 = zz.iter().map(|&v| v as f64).sum();
                    let scale = sum_q * 100.0 / sum_s;
                    let q = if scale <= 100.0 { (200.0 - scale) / 2.0 } else { 5000.0 / scale };
                    return Some(q.round().clamp(1.0, 100.0) as u8);
                }
                j += 1 + n;
            }
        }
        i += 2 + len;
    }
    None
}

fn zigzag_std(natural: &[u16; 64]) -> [u16; 64] {
    const ZZ: [usize; 64] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
        21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
        61, 54, 47, 55, 62, 63,
    ];
    let mut out = [0u16; 64];
    for (k, &n) in ZZ.iter().enumerate() {
        out[k] = natural[n];
    }
    out
}

/// Rows of a bilevel image as stored samples: `black` is the sample value of a black pixel.
struct BitRows {
    width: usize,
    black: u8,
    out: Vec<u8>,
    rows: usize,
}

impl hayro_ccitt::Decoder for BitRows {
    fn push_row(&mut self, changes: &[u32]) {
        let white = 1 - self.black;
        let start = self.out.len();
        self.out.resize(start + self.width, white);
        let row = &mut self.out[start..];
        for pair in changes.chunks(2) {
            let a = (pair[0] as usize).min(self.width);
            let b = pair.get(1).map(|&b| (b as usize).min(self.width)).unwrap_or(self.width);
            row[a..b].fill(self.black);
        }
        self.rows += 1;
    }
}

fn decode_ccitt(data: &[u8], info: &ImageInfo, p: Option<Dictionary>) -> Result<Vec<u8>, ImageError> {
    let get = |k: &[u8]| p.as_ref().and_then(|d| d.get(k).ok());
    let int = |k: &[u8], dflt: i64| get(k).and_then(|o| o.as_i64().ok()).unwrap_or(dflt);
    let flag = |k: &[u8], dflt: bool| get(k).and_then(|o| o.as_bool().ok()).unwrap_or(dflt);
    let k = int(b"K", 0);
    let columns = int(b"Columns", 1728);
    let rows = int(b"Rows", info.height as i64);
    if columns as u32 != info.width {
        return Err(damaged("CCITT columns differ from the image width"));
    }
    let settings = hayro_ccitt::DecodeSettings {
        columns: columns as u32,
        rows: rows.max(0) as u32,
        end_of_block: flag(b"EndOfBlock", true),
        end_of_line: flag(b"EndOfLine", false),
        rows_are_byte_aligned: flag(b"EncodedByteAlign", false),
        encoding: if k < 0 {
            hayro_ccitt::EncodingMode::Group4
        } else if k == 0 {
            hayro_ccitt::EncodingMode::Group3_1D
        } else {
            hayro_ccitt::EncodingMode::Group3_2D
        },
        strict: false,
    };
    // PDF's CCITT output: 0 is black unless /BlackIs1 (then /Decode maps it like any grey sample).
    let black = u8::from(flag(b"BlackIs1", false));
    let mut sink = BitRows { width: info.width as usize, black, out: Vec::new(), rows: 0 };
    let mut ctx = hayro_ccitt::DecoderContext::new(settings);
    let res = hayro_ccitt::decode(data, &mut sink, &mut ctx);
    if sink.rows < info.height as usize {
        // Rows missing: a reader would show white where the encoder may have written text.
        let _ = res;
        return Err(damaged("CCITT data ends before the last row"));
    }
    sink.out.truncate(info.width as usize * info.height as usize);
    Ok(sink.out)
}

struct Jbig2Sink {
    out: Vec<u8>,
    row: usize,
    width: usize,
}

impl hayro_jbig2::Decoder for Jbig2Sink {
    fn push_pixel(&mut self, black: bool) {
        self.out.push(u8::from(!black));
        self.row += 1;
    }
    fn push_pixel_chunk(&mut self, black: bool, chunk_count: u32) {
        let n = chunk_count as usize * 8;
        self.out.extend(std::iter::repeat_n(u8::from(!black), n));
        self.row += n;
    }
    fn next_line(&mut self) {
        // Chunks may run past the width on the last byte of a row; rows are cut to the width.
        let start = self.out.len() - self.row;
        self.out.truncate(start + self.row.min(self.width));
        self.out.resize(start + self.width, 1);
        self.row = 0;
    }
}

fn decode_jbig2(data: &[u8], globals: Option<&[u8]>, info: &ImageInfo) -> Result<Vec<u8>, ImageError> {
    let settings = hayro_jbig2::DecodeSettings::default();
    let g =
        globals.map(|g| hayro_jbig2::Globals::new(g, &settings)).transpose().map_err(|_| damaged("JBIG2 globals"))?;
    let page = hayro_jbig2::Page::new_embedded(data, g.as_ref(), &settings).map_err(|_| damaged("JBIG2 data"))?;
    if page.width() != info.width || page.height() != info.height {
        return Err(damaged("JBIG2 size differs from the image dictionary"));
    }
    let mut sink = Jbig2Sink { out: Vec::new(), row: 0, width: info.width as usize };
    page.decode(&mut sink).map_err(|_| damaged("JBIG2 data"))?;
    // In PDF, JBIG2's 1 (black) reads as sample 0 under the default /Decode: stored as such.
    if sink.out.len() < info.width as usize * info.height as usize {
        return Err(damaged("JBIG2 data ends before the last row"));
    }
    sink.out.truncate(info.width as usize * info.height as usize);
    Ok(sink.out)
}

/// Components of one stored sample as colour values 0..=1 (Decode and palette applied).
fn colour_of(info: &ImageInfo, px: &[u8], out: &mut [f64; 4]) -> usize {
    let max = ((1u32 << info.bpc) - 1) as f64;
    match &info.space {
        Space::Indexed { base, hival, lookup } => {
            let v = info.decode[0] + px[0] as f64 * (info.decode[1] - info.decode[0]) / max;
            let idx = (v.round().clamp(0.0, *hival as f64)) as usize;
            let n = base.components();
            for c in 0..n {
                out[c] = lookup[idx * n + c] as f64 / 255.0;
            }
            n
        }
        s => {
            let n = s.components();
            for c in 0..n {
                let (d0, d1) = (info.decode[2 * c], info.decode[2 * c + 1]);
                out[c] = d0 + px[c] as f64 * (d1 - d0) / max;
            }
            n
        }
    }
}

fn gray_of(space: &Space, c: &[f64; 4]) -> f64 {
    match space {
        Space::Gray => c[0],
        Space::Rgb => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2],
        // As poppler converts CMYK to RGB (each ink plus black, clipped), then to grey.
        Space::Cmyk => {
            0.299 * (1.0 - (c[0] + c[3]).min(1.0))
                + 0.587 * (1.0 - (c[1] + c[3]).min(1.0))
                + 0.114 * (1.0 - (c[2] + c[3]).min(1.0))
        }
        Space::Indexed { base, .. } => gray_of(base, c),
    }
}

impl Decoded {
    /// The image as a reader shows it, in grey. A stencil mask shows its painted samples black.
    pub fn to_gray(&self) -> GrayImage {
        let info = &self.info;
        let n = info.space.components();
        let data: Vec<u8> = if info.image_mask {
            // Sample 0 paints under the default /Decode [0 1]; [1 0] paints sample 1.
            let paint = if info.decode[0] < info.decode[1] { 0 } else { 1 };
            self.samples.iter().map(|&s| if s == paint { 0 } else { 255 }).collect()
        } else if info.bpc == 8 && info.space == Space::Gray && info.decode == [0.0, 1.0] {
            self.samples.clone()
        } else {
            let mut lut: Option<Vec<u8>> = None;
            if n == 1 {
                // One component: a table over the possible sample values.
                let mut c = [0.0; 4];
                let base = match &info.space {
                    Space::Indexed { base, .. } => base.as_ref().clone(),
                    s => s.clone(),
                };
                lut = Some(
                    (0..=((1u32 << info.bpc) - 1))
                        .map(|v| {
                            colour_of(info, &[v as u8], &mut c);
                            (gray_of(&base, &c).clamp(0.0, 1.0) * 255.0).round() as u8
                        })
                        .collect(),
                );
            }
            match lut {
                Some(t) => self.samples.iter().map(|&s| t[s as usize]).collect(),
                None => {
                    let mut c = [0.0; 4];
                    self.samples
                        .chunks_exact(n)
                        .map(|px| {
                            colour_of(info, px, &mut c);
                            (gray_of(&info.space, &c).clamp(0.0, 1.0) * 255.0).round() as u8
                        })
                        .collect()
                }
            }
        };
        GrayImage { width: info.width, height: info.height, data }
    }

    /// The stored sample that shows as grey `level` (the closest the image can show).
    fn paint_sample(&self, level: u8) -> Vec<u8> {
        let info = &self.info;
        let max = ((1u32 << info.bpc) - 1) as f64;
        let g = level as f64 / 255.0;
        let inv = |c: usize, want: f64| -> u8 {
            let (d0, d1) = (info.decode[2 * c], info.decode[2 * c + 1]);
            if (d1 - d0).abs() < 1e-9 {
                return 0;
            }
            ((want - d0) / (d1 - d0) * max).round().clamp(0.0, max) as u8
        };
        if info.image_mask {
            // The mask paints the fill colour where it is set: the box is painted over the text.
            return vec![if info.decode[0] < info.decode[1] { 0 } else { 1 }];
        }
        match &info.space {
            Space::Gray => vec![inv(0, g)],
            Space::Rgb => vec![inv(0, g), inv(1, g), inv(2, g)],
            Space::Cmyk => vec![inv(0, 0.0), inv(1, 0.0), inv(2, 0.0), inv(3, 1.0 - g)],
            Space::Indexed { base, hival, .. } => {
                // The palette entry closest to the paint.
                let mut c = [0.0; 4];
                let mut best = (f64::MAX, 0u8);
                for v in 0..=(*hival as u32).min(max as u32) {
                    colour_of(info, &[v as u8], &mut c);
                    let d = (gray_of(base, &c) - g).abs();
                    if d < best.0 {
                        best = (d, v as u8);
                    }
                }
                vec![best.1]
            }
        }
    }

    /// Paint rectangles (in pixels) with `paint`; rectangles are clipped to the image. A JPEG's
    /// rectangles are first widened to its 16-pixel blocks, so that no block mixes painted and
    /// original pixels when it is encoded again.
    pub fn paint(&mut self, rects: &[PixelRect], paint: Paint) -> Vec<PixelRect> {
        self.paint_level(rects, paint.level())
    }

    /// As [`Decoded::paint`], with any grey level (a soft mask is painted opaque, 255).
    pub fn paint_level(&mut self, rects: &[PixelRect], level: u8) -> Vec<PixelRect> {
        let value = self.paint_sample(level);
        let n = value.len();
        let (w, h) = (self.info.width, self.info.height);
        let mut done = Vec::new();
        for r in rects {
            let mut r = PixelRect { x0: r.x0.min(w), y0: r.y0.min(h), x1: r.x1.min(w), y1: r.y1.min(h) };
            if r.x0 >= r.x1 || r.y0 >= r.y1 {
                continue;
            }
            if matches!(self.info.codec, Codec::Jpeg { .. }) {
                r = PixelRect {
                    x0: r.x0 / 16 * 16,
                    y0: r.y0 / 16 * 16,
                    x1: r.x1.div_ceil(16).saturating_mul(16).min(w),
                    y1: r.y1.div_ceil(16).saturating_mul(16).min(h),
                };
            }
            for y in r.y0..r.y1 {
                let start = (y as usize * w as usize + r.x0 as usize) * n;
                let end = (y as usize * w as usize + r.x1 as usize) * n;
                for px in self.samples[start..end].chunks_exact_mut(n) {
                    px.copy_from_slice(&value);
                }
            }
            done.push(r);
        }
        done
    }

    /// Encode the samples again as a stream that replaces `original`: the same dictionary
    /// (size, colour space, bit depth, `/Decode`, masks) with new data. JPEG stays JPEG at the
    /// quality estimated from its tables (CMYK JPEGs become 8-bit Flate, whose inverted-CMYK
    /// conventions differ between producers); everything else, CCITT and JBIG2 included, becomes
    /// Flate at the same bit depth.
    pub fn encode(&self, original: &Stream) -> Result<Stream, ImageError> {
        let info = &self.info;
        let (w, h) = (info.width as usize, info.height as usize);
        let comps = info.space.components();
        let mut dict = original.dict.clone();
        for k in [&b"Filter"[..], b"F", b"DecodeParms", b"DP", b"Length", b"Metadata", b"Alternates", b"OPI"] {
            dict.remove(k);
        }
        let jpeg = match (&info.codec, &info.space) {
            (Codec::Jpeg { quality }, Space::Gray) => Some((*quality, jpeg_encoder::ColorType::Luma)),
            (Codec::Jpeg { quality }, Space::Rgb) => Some((*quality, jpeg_encoder::ColorType::Rgb)),
            _ => None,
        };
        let content = match jpeg {
            Some((q, ct)) => {
                if w > u16::MAX as usize || h > u16::MAX as usize {
                    return Err(ImageError::TooLarge { width: info.width, height: info.height });
                }
                let mut out = Vec::new();
                let enc = jpeg_encoder::Encoder::new(&mut out, q);
                enc.encode(&self.samples, w as u16, h as u16, ct).map_err(|_| damaged("JPEG encoding failed"))?;
                dict.set("Filter", Object::Name(b"DCTDecode".to_vec()));
                out
            }
            None => {
                let packed = pack(&self.samples, w, h, comps, info.bpc);
                dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
                miniz_oxide::deflate::compress_to_vec_zlib(&packed, 6)
            }
        };
        if info.image_mask {
            dict.set("BitsPerComponent", Object::Integer(1));
        } else {
            dict.set("BitsPerComponent", Object::Integer(info.bpc as i64));
        }
        let mut s = Stream::new(dict, content);
        s.allows_compression = false;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray_stream(w: u32, h: u32, bpc: u8, data: Vec<u8>, filter: Option<&str>) -> Stream {
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"XObject".to_vec()));
        d.set("Subtype", Object::Name(b"Image".to_vec()));
        d.set("Width", Object::Integer(w as i64));
        d.set("Height", Object::Integer(h as i64));
        d.set("BitsPerComponent", Object::Integer(bpc as i64));
        d.set("ColorSpace", Object::Name(b"DeviceGray".to_vec()));
        if let Some(f) = filter {
            d.set("Filter", Object::Name(f.as_bytes().to_vec()));
        }
        Stream::new(d, data)
    }

    #[test]
    fn pack_and_unpack_round_trip_every_depth() {
        for bpc in [1u8, 2, 4, 8] {
            let max = (1u16 << bpc) - 1;
            let (w, h) = (13usize, 3usize);
            let samples: Vec<u8> = (0..w * h).map(|i| (i as u16 % (max + 1)) as u8).collect();
            let packed = pack(&samples, w, h, 1, bpc);
            assert_eq!(packed.len(), (w * bpc as usize).div_ceil(8) * h);
            assert_eq!(unpack(&packed, w, h, 1, bpc).unwrap(), samples, "bpc {bpc}");
        }
    }

    #[test]
    fn short_data_is_damaged_not_padded() {
        let doc = Document::with_version("1.7");
        let s = gray_stream(10, 10, 8, vec![0; 99], None);
        assert!(matches!(decode(&doc, &s), Err(ImageError::Damaged { .. })));
    }

    #[test]
    fn unknown_filter_cannot_be_decoded() {
        let doc = Document::with_version("1.7");
        for f in ["JPXDecode", "Crypt", "MadeUpDecode"] {
            let s = gray_stream(10, 10, 8, vec![0; 100], Some(f));
            assert_eq!(decode(&doc, &s).unwrap_err(), ImageError::CannotDecode { filter: f.into() });
        }
        // An image codec that is not the last filter is not decoded either.
        let mut s = gray_stream(10, 10, 8, vec![0; 100], None);
        s.dict.set(
            "Filter",
            Object::Array(vec![Object::Name(b"DCTDecode".to_vec()), Object::Name(b"FlateDecode".to_vec())]),
        );
        assert!(matches!(decode(&doc, &s), Err(ImageError::CannotDecode { .. })));
    }

    #[test]
    fn unknown_colour_space_is_unsupported() {
        let doc = Document::with_version("1.7");
        let mut s = gray_stream(2, 2, 8, vec![0; 12], None);
        s.dict.set("ColorSpace", Object::Name(b"Lab".to_vec()));
        assert!(matches!(decode(&doc, &s), Err(ImageError::Unsupported { .. })));
    }

    #[test]
    fn flate_with_png_predictor_decodes() {
        let doc = Document::with_version("1.7");
        // Two rows of 3 grey pixels, each row with PNG "Sub" predictor (type 1).
        let raw = [1u8, 10, 5, 5, 1, 200, 0, 1];
        let z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
        let mut s = gray_stream(3, 2, 8, z, Some("FlateDecode"));
        let mut p = Dictionary::new();
        p.set("Predictor", Object::Integer(15));
        p.set("Columns", Object::Integer(3));
        s.dict.set("DecodeParms", Object::Dictionary(p));
        let d = decode(&doc, &s).unwrap();
        assert_eq!(d.samples, vec![10, 15, 20, 200, 200, 201]);
    }

    #[test]
    fn decode_array_and_palette_reach_the_gray_view() {
        let doc = Document::with_version("1.7");
        // 1-bit with /Decode [1 0]: sample 1 is black.
        let mut s = gray_stream(8, 1, 1, vec![0b1111_0000], None);
        s.dict.set("Decode", Object::Array(vec![Object::Integer(1), Object::Integer(0)]));
        let g = decode(&doc, &s).unwrap().to_gray();
        assert_eq!(g.data, vec![0, 0, 0, 0, 255, 255, 255, 255]);
        // An RGB palette of two entries: red and white.
        let mut s = gray_stream(2, 1, 8, vec![0, 1], None);
        s.dict.set(
            "ColorSpace",
            Object::Array(vec![
                Object::Name(b"Indexed".to_vec()),
                Object::Name(b"DeviceRGB".to_vec()),
                Object::Integer(1),
                Object::String(vec![255, 0, 0, 255, 255, 255], lopdf::StringFormat::Hexadecimal),
            ]),
        );
        let d = decode(&doc, &s).unwrap();
        assert_eq!(d.to_gray().data, vec![76, 255]);
        // Painting black picks the darkest entry the palette has (red here).
        let mut d = d;
        d.paint(&[PixelRect { x0: 0, y0: 0, x1: 2, y1: 1 }], Paint::Black);
        assert_eq!(d.samples, vec![0, 0]);
    }

    #[test]
    fn jpeg_quality_is_read_back_from_the_tables() {
        for q in [50u8, 75, 90] {
            let mut out = Vec::new();
            let pixels: Vec<u8> = (0..64 * 64).map(|i| (i * 7 % 251) as u8).collect();
            jpeg_encoder::Encoder::new(&mut out, q).encode(&pixels, 64, 64, jpeg_encoder::ColorType::Luma).unwrap();
            let est = jpeg_quality(&out).unwrap();
            assert!((est as i32 - q as i32).abs() <= 2, "quality {q} read as {est}");
        }
    }

    #[test]
    fn painted_jpeg_is_uniform_and_keeps_its_size() {
        let doc = Document::with_version("1.7");
        let (w, h) = (96u32, 64u32);
        let pixels: Vec<u8> = (0..w * h).map(|i| if (i / 3) % 2 == 0 { 20 } else { 235 }).collect();
        let mut jpg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpg, 80)
            .encode(&pixels, w as u16, h as u16, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let s = gray_stream(w, h, 8, jpg.clone(), Some("DCTDecode"));
        let mut d = decode(&doc, &s).unwrap();
        assert_eq!(d.info.codec, Codec::Jpeg { quality: 80 });
        let done = d.paint(&[PixelRect { x0: 20, y0: 10, x1: 40, y1: 30 }], Paint::House);
        assert_eq!(done, vec![PixelRect { x0: 16, y0: 0, x1: 48, y1: 32 }]);
        let out = d.encode(&s).unwrap();
        assert_eq!(out.dict.get(b"Filter").unwrap(), &Object::Name(b"DCTDecode".to_vec()));
        assert_ne!(out.content, jpg);
        let again = decode(&doc, &out).unwrap().to_gray();
        assert_eq!((again.width, again.height), (w, h));
        for y in 0..32 {
            for x in 16..48 {
                let v = again.get(x, y) as i32;
                assert!((v - 26).abs() <= 2, "pixel {x},{y} is {v}");
            }
        }
    }
}
