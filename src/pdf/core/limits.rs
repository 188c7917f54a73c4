//! Limits on what a document may make anything that reads it do, checked once when it is loaded
//! and before any of it is decoded for use: a stream that inflates past the limits fails the
//! document (it is withheld and reported), so neither this reader, the bundle writer, nor the
//! viewer of a bundle ever inflates a bomb.
//!
//! - every stream decodes to at most [`MAX_STREAM`] bytes (a 300 dpi A4 colour scan is 26 MB, a
//!   600 dpi one 105 MB);
//! - a stream that decodes to more than [`RATIO_FLOOR`] bytes does so at most [`MAX_RATIO`]
//!   times its stored size: one Flate layer cannot pass 1032:1, so more is a chain of filters
//!   built to inflate;
//! - all streams of a document together decode to at most [`MAX_TOTAL`] bytes;
//! - an image declares at most [`MAX_STREAM`] bytes of pixels (what a viewer allocates for it,
//!   whatever its filter: JPEG, JPEG 2000, JBIG2 and fax images are not inflated here).
//!
//! Flate streams are counted as they inflate, into a small buffer, without being kept.

use super::font::{as_dict, deref, dget, num};
use super::PdfError;
use lopdf::{Dictionary, Document, Object, Stream};

/// The most bytes one stream may decode to.
pub const MAX_STREAM: usize = 128 << 20;
/// The most bytes all streams of a document may decode to together.
pub const MAX_TOTAL: usize = 1 << 30;
/// The highest ratio of decoded to stored size, for streams that decode past [`RATIO_FLOOR`].
pub const MAX_RATIO: usize = 1100;
/// Streams that decode to less than this are not held to [`MAX_RATIO`].
pub const RATIO_FLOOR: usize = 4 << 20;

/// Filters that only re-encode bytes (their output is counted); the others (image codecs) end a
/// chain.
fn inflating(f: &[u8]) -> bool {
    matches!(
        f,
        b"FlateDecode"
            | b"Fl"
            | b"LZWDecode"
            | b"LZW"
            | b"ASCII85Decode"
            | b"A85"
            | b"ASCIIHexDecode"
            | b"AHx"
            | b"RunLengthDecode"
            | b"RL"
            | b"BrotliDecode"
    )
}

fn filters(doc: &Document, d: &Dictionary) -> Vec<Vec<u8>> {
    match dget(doc, d, b"Filter").or_else(|| dget(doc, d, b"F")) {
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => {
            a.iter().filter_map(|o| super::font::name(deref(doc, o)).map(|n| n.to_vec())).collect()
        }
        _ => vec![],
    }
}

/// Why a stream is refused.
enum Over {
    Size,
}

/// How many bytes a Flate stream inflates to, counting up to `limit` (lenient as viewers are: a
/// corrupt stream counts what inflated before the damage; zlib, else raw deflate).
fn inflated_len(data: &[u8], limit: usize) -> Result<usize, Over> {
    use miniz_oxide::inflate::stream::{inflate, InflateState};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let count = |format: DataFormat, data: &[u8]| -> Result<usize, Over> {
        let mut state = InflateState::new_boxed(format);
        let mut buf = vec![0u8; 64 * 1024];
        let (mut pos, mut total) = (0usize, 0usize);
        loop {
            let r = inflate(&mut state, &data[pos..], &mut buf, MZFlush::None);
            pos += r.bytes_consumed;
            total += r.bytes_written;
            if total > limit {
                return Err(Over::Size);
            }
            match r.status {
                Ok(MZStatus::StreamEnd) => return Ok(total),
                Ok(_) if r.bytes_consumed == 0 && r.bytes_written == 0 => return Ok(total),
                Ok(_) => {}
                Err(_) => return Ok(total),
            }
        }
    };
    let n = count(DataFormat::Zlib, data)?;
    if n == 0 && data.len() > 2 {
        return count(DataFormat::Raw, &data[2..]);
    }
    Ok(n)
}

/// How many bytes a stream decodes to through its re-encoding filters, up to `limit`.
fn decoded_len(doc: &Document, s: &Stream, limit: usize) -> Result<usize, Over> {
    let fs = filters(doc, &s.dict);
    let chain: Vec<&Vec<u8>> = fs.iter().take_while(|f| inflating(f)).collect();
    match chain.as_slice() {
        [] => Ok(s.content.len()),
        [f] if matches!(f.as_slice(), b"FlateDecode" | b"Fl") => inflated_len(&s.content, limit),
        _ => {
            // rare chains: let lopdf decode them, bounded, through the re-encoding filters only
            let mut d = Dictionary::new();
            d.set("Filter", Object::Array(chain.iter().map(|f| Object::Name(f.to_vec())).collect()));
            if let Some(p) = dget(doc, &s.dict, b"DecodeParms") {
                d.set("DecodeParms", p.clone());
            }
            let tmp = Stream::new(d, s.content.clone());
            match tmp.decompressed_content_with_limit(limit) {
                Ok(v) => Ok(v.len()),
                Err(lopdf::Error::Decompress(
                    lopdf::DecompressError::MemoryLimitExceeded { .. } | lopdf::DecompressError::TooManyFilters { .. },
                )) => Err(Over::Size),
                Err(_) => Ok(0), // undecodable: a viewer shows nothing of it either
            }
        }
    }
}

/// Bytes of pixels an image declares (width x height x components x bits / 8).
fn declared_pixels(doc: &Document, d: &Dictionary) -> f64 {
    let n = |k: &[u8]| dget(doc, d, k).and_then(num).unwrap_or(0.0).max(0.0);
    let mask = matches!(dget(doc, d, b"ImageMask"), Some(Object::Boolean(true)));
    let bpc = if mask { 1.0 } else { n(b"BitsPerComponent").max(1.0) };
    let comps = if mask {
        1.0
    } else {
        match dget(doc, d, b"ColorSpace") {
            Some(Object::Name(c)) if c == b"DeviceGray" || c == b"CalGray" => 1.0,
            Some(Object::Name(c)) if c == b"DeviceRGB" || c == b"CalRGB" || c == b"Lab" => 3.0,
            _ => 4.0, // CMYK, ICC, or unknown: count the most common large case
        }
    };
    n(b"Width") * n(b"Height") * comps * bpc / 8.0
}

/// Check every stream of a freshly loaded document against the limits.
pub fn check(doc: &Document) -> Result<(), PdfError> {
    let mut total = 0usize;
    for (id, obj) in &doc.objects {
        let Object::Stream(s) = obj else { continue };
        let too_large = |what| PdfError::TooLarge { id: *id, what };
        let n = decoded_len(doc, s, MAX_STREAM).map_err(|Over::Size| too_large("a stream inflates past the limit"))?;
        if n > RATIO_FLOOR && n / s.content.len().max(1) > MAX_RATIO {
            return Err(too_large("a stream inflates far more than compression allows"));
        }
        total = total.saturating_add(n);
        if total > MAX_TOTAL {
            return Err(too_large("the document's streams inflate past the limit together"));
        }
        let image = as_dict(obj).and_then(|d| d.get(b"Subtype").ok()).and_then(super::font::name) == Some(b"Image");
        if image && declared_pixels(doc, &s.dict) > MAX_STREAM as f64 {
            return Err(too_large("an image declares more pixels than the limit"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
    }

    #[test]
    fn flate_is_counted_up_to_the_limit() {
        let z = zlib(&vec![0u8; 1 << 20]);
        assert!(matches!(inflated_len(&z, 2 << 20), Ok(n) if n == 1 << 20));
        assert!(inflated_len(&z, 1000).is_err());
        // damaged: what inflated before the damage
        let mut bad = z.clone();
        let l = bad.len();
        bad.truncate(l / 2);
        assert!(matches!(inflated_len(&bad, 2 << 20), Ok(n) if n < 1 << 20));
    }

    #[test]
    fn bombs_fail_the_document() {
        let mut doc = Document::with_version("1.7");
        let ok = Stream::new(dictionary! { "Filter" => "FlateDecode" }, zlib(&vec![b' '; 100_000]));
        doc.add_object(ok);
        assert!(check(&doc).is_ok());
        // two layers of Flate: small, but inflating far more than one layer could
        let inner = zlib(&vec![0u8; 5 << 20]);
        let outer = zlib(&inner);
        let id = doc.add_object(Stream::new(
            dictionary! { "Filter" => vec![Object::Name(b"FlateDecode".to_vec()), Object::Name(b"FlateDecode".to_vec())] },
            outer,
        ));
        assert!(matches!(check(&doc), Err(PdfError::TooLarge { id: i, .. }) if i == id));
        doc.objects.remove(&id);
        // an image that declares 60,000 x 60,000 RGB pixels, whatever its data
        let img = doc.add_object(Stream::new(
            dictionary! { "Subtype" => "Image", "Width" => 60000, "Height" => 60000, "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode" },
            vec![0xff, 0xd8],
        ));
        assert!(matches!(check(&doc), Err(PdfError::TooLarge { id: i, .. }) if i == img));
    }
}
