//! Scans (src/ocr, src/pdf/image.rs) on the harrowfield family's scans: reading them, decoding
//! every codec they use, removing pixels, the searchable layer and the check after redaction.
//! Tesseract is required: without it these tests fail with a line saying how to install it.
//! Each page is read once per test binary (a cache), so the suite reads only a few pages.
//!
//! Independent checks: poppler's `pdfimages` decodes the same images for comparison, and
//! `pdftoppm` + the `tesseract` command read the redacted output without any of our code.

use crate::util::*;
use disclose::ocr::{self, OcrError, OcrPage, Role, Tesseract};
use disclose::pdf::image::{self, Codec, Paint};
use lopdf::{Document, Object, ObjectId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

fn tess() -> Tesseract {
    Tesseract::find(None, "eng").unwrap_or_else(|e| {
        panic!("the OCR tests need Tesseract with English: {e} (CI: .ci/run installs tesseract-ocr tesseract-ocr-eng)")
    })
}

fn scan(name: &str) -> PathBuf {
    root().join("fixtures/families/harrowfield/attachments").join(name)
}

fn load(name: &str) -> Document {
    Document::load(scan(name)).unwrap()
}

/// Each fixture page is read once per run of the test binary.
fn read(name: &str) -> OcrPage {
    static CACHE: OnceLock<Mutex<HashMap<String, OcrPage>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap().get(name) {
        return p.clone();
    }
    let page = ocr::read_page(&tess(), &load(name), 0).unwrap();
    cache.lock().unwrap().insert(name.to_string(), page.clone());
    page
}

fn save(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn first_page(doc: &Document) -> ObjectId {
    *doc.get_pages().values().next().unwrap()
}

/// Byte ranges of every occurrence of `needle` (case-insensitive) in the page text.
fn spans(p: &OcrPage, needle: &str) -> Vec<std::ops::Range<usize>> {
    let hay = p.text.to_lowercase();
    let n = needle.to_lowercase();
    hay.match_indices(&n).map(|(i, _)| i..i + n.len()).collect()
}

/// Render a PDF with pdftoppm and read it with the tesseract command: no code of ours.
fn independent_ocr(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("in.pdf");
    std::fs::write(&f, pdf).unwrap();
    let o = tool("pdftoppm", &["-r", "300", "-gray", f.to_str().unwrap(), dir.path().join("p").to_str().unwrap()]);
    assert!(o.status.success());
    let mut text = String::new();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    pages.sort();
    for p in pages {
        let o = tool("tesseract", &[p.to_str().unwrap(), "-", "-l", "eng"]);
        assert!(o.status.success(), "tesseract failed");
        text.push_str(&stdout(&o));
    }
    fold(&text)
}

/// The images pdfimages extracts (PBM/PGM/PPM), as grey pixels.
fn pdfimages(pdf: &std::path::Path) -> Vec<(u32, u32, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let o = tool("pdfimages", &[pdf.to_str().unwrap(), dir.path().join("i").to_str().unwrap()]);
    assert!(o.status.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| pnm_gray(&std::fs::read(f).unwrap())).collect()
}

fn pnm_gray(b: &[u8]) -> (u32, u32, Vec<u8>) {
    // Header: magic, width, height, [maxval], one whitespace, data.
    let mut fields = Vec::new();
    let mut i = 0;
    let need = if &b[..2] == b"P4" { 3 } else { 4 };
    while fields.len() < need {
        while b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i] == b'#' {
            while b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let s = i;
        while !b[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&b[s..i]).into_owned());
    }
    i += 1;
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = &b[i..];
    let px = match fields[0].as_str() {
        "P4" => {
            let row = w.div_ceil(8) as usize;
            (0..h as usize)
                .flat_map(|y| (0..w as usize).map(move |x| (y, x)))
                .map(|(y, x)| if data[y * row + x / 8] & (0x80 >> (x % 8)) != 0 { 0 } else { 255 })
                .collect()
        }
        "P5" => data[..(w * h) as usize].to_vec(),
        "P6" => data[..(w * h * 3) as usize]
            .chunks_exact(3)
            .map(|p| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114 + 500) / 1000) as u8)
            .collect(),
        m => panic!("unexpected {m}"),
    };
    (w, h, px)
}

fn image_ids(doc: &Document) -> Vec<ObjectId> {
    let (read, _) = ocr::choose_images(doc, first_page(doc), 0).unwrap();
    read.iter().filter_map(|u| u.object).collect()
}

#[test]
fn every_codec_of_the_scans_decodes_as_poppler_decodes_it() {
    // Flate grey (300 dpi), DCT grey (200 dpi), CCITT G4 (fax), DCT colour (photo), Flate in a
    // born-digital page (reportlab).
    for (name, codec, exact) in [
        ("att-school-letter-300dpi.pdf", "samples", true),
        ("att-mother-letter-200dpi.pdf", "jpeg", false),
        ("att-police-fax.pdf", "ccitt", true),
        ("att-contact-form-photo.pdf", "jpeg", false),
        ("att-referral-with-note.pdf", "samples", true),
    ] {
        let doc = load(name);
        let ids = image_ids(&doc);
        assert_eq!(ids.len(), 1, "{name}: one image holds text");
        let Object::Stream(s) = doc.get_object(ids[0]).unwrap() else { panic!() };
        let d = image::decode(&doc, s).unwrap();
        let got = match d.info.codec {
            Codec::Samples => "samples",
            Codec::Jpeg { .. } => "jpeg",
            Codec::Ccitt => "ccitt",
            Codec::Jbig2 => "jbig2",
        };
        assert_eq!(got, codec, "{name}");
        let g = d.to_gray();
        let theirs = pdfimages(&scan(name));
        let (w, h, px) = theirs.iter().find(|(w, h, _)| (*w, *h) == (g.width, g.height)).expect("same image");
        assert_eq!((g.width, g.height), (*w, *h));
        let diff: u64 = g.data.iter().zip(px).map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs() as u64).sum();
        let mean = diff as f64 / g.data.len() as f64;
        if exact {
            assert_eq!(mean, 0.0, "{name}: decoded pixels differ from poppler's");
        } else {
            // Two JPEG decoders differ by rounding in the IDCT and colour conversion only.
            assert!(mean < 1.5, "{name}: mean difference {mean} from poppler's decode");
        }
    }
}

#[test]
fn a_scan_at_300_dpi_reads_as_text_with_words_mapped_to_boxes() {
    let p = read("att-school-letter-300dpi.pdf");
    let t = fold(&p.text);
    for phrase in ["attendance has improved", "doreen pilbeam of 12 sorrel close", "peter quinlan"] {
        assert!(t.contains(phrase), "missing {phrase}");
    }
    assert!(p.mean_confidence().unwrap() > 80.0);
    assert!(!p.is_weak(60.0));
    // Lines: the salutation is a line of its own; blocks are separated by a blank line.
    assert!(p.text.lines().any(|l| l.trim() == "Dear Ms Haddad,"), "{:?}", p.text.lines().take(8).collect::<Vec<_>>());
    assert!(p.text.contains("\n\n"));
    // Each word's bytes are its text; every box lies on the page, in reading order down the page.
    for w in &p.words {
        assert_eq!(&p.text[w.range.clone()], w.text);
        assert!(w.bbox[0] >= 0.0 && w.bbox[2] <= 595.3 && w.bbox[1] >= 0.0 && w.bbox[3] <= 841.9);
    }
    let s = spans(&p, "Sorrel Close")[0].clone();
    let boxes = p.boxes(s);
    assert_eq!(boxes.len(), 2);
    assert!(boxes[0][2] <= boxes[1][0] + 0.5, "Sorrel before Close");
    assert!((boxes[0][1] - boxes[1][1]).abs() < 3.0, "on one line");
    // 12 pt type at 300 dpi: a word is about 8 to 13 points tall.
    let h = boxes[0][3] - boxes[0][1];
    assert!((6.0..16.0).contains(&h), "height {h}");
}

#[test]
fn a_200_dpi_jpeg_a_skewed_page_and_a_noisy_fax_read_well_enough() {
    for (name, phrases) in [
        ("att-mother-letter-200dpi.pdf", &["want tia to stay at brookside", "07700 900562"][..]),
        ("att-visit-skewed.pdf", &["tia showed me her bedroom", "lee garside"][..]),
        ("att-police-fax.pdf", &["harrowfield police", "no offences were disclosed", "01632 960771"][..]),
    ] {
        let p = read(name);
        let t = fold(&p.text);
        for ph in phrases {
            assert!(t.contains(ph), "{name}: missing {ph}");
        }
        assert!(p.mean_confidence().unwrap() > 60.0, "{name}");
    }
}

#[test]
fn small_images_are_left_alone_and_an_embedded_scan_is_read() {
    let doc = load("att-referral-with-note.pdf");
    let (read, decorative) = ocr::choose_images(&doc, first_page(&doc), 0).unwrap();
    assert_eq!(read.len(), 1, "the scanned note");
    assert_eq!(decorative.len(), 1, "the logo");
    assert_eq!(decorative[0].role(), Role::Decorative);
    let p = ocr_page_of("att-referral-with-note.pdf");
    let t = fold(&p.text);
    assert!(t.contains("worried about the shouting"));
    // The page's own text layer is not in the OCR text: only the image's words are.
    assert!(!t.contains("safeguarding referral"));
    // Words lie inside the scanned note's place on the page.
    let b = read[0].bbox;
    assert!(p.words.iter().all(|w| w.bbox[0] >= b[0] - 1.0
        && w.bbox[2] <= b[2] + 1.0
        && w.bbox[1] >= b[1] - 1.0
        && w.bbox[3] <= b[3] + 1.0));
}

fn ocr_page_of(name: &str) -> OcrPage {
    read(name)
}

#[test]
fn pages_are_read_in_parallel_in_page_order() {
    // Two documents' pages merged into one (two pages): parallel equals one by one.
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids: Vec<Object> = Vec::new();
    for name in ["att-police-fax.pdf", "att-visit-skewed.pdf"] {
        let src = load(name);
        let (w, h, data) = {
            let id = image_ids(&src)[0];
            let Object::Stream(s) = src.get_object(id).unwrap() else { panic!() };
            let d = image::decode(&src, s).unwrap();
            (d.info.width, d.info.height, d.to_gray().data)
        };
        let img = doc.add_object(lopdf::Stream::new(
            lopdf::dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
            "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray"},
            data,
        ));
        let content =
            doc.add_object(lopdf::Stream::new(lopdf::dictionary! {}, b"q 595 0 0 842 0 0 cm /I Do Q".to_vec()));
        let page = doc.add_object(lopdf::dictionary! {"Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![Object::Integer(0), Object::Integer(0), Object::Integer(595), Object::Integer(842)], "Contents" => content,
            "Resources" => lopdf::dictionary! {"XObject" => lopdf::dictionary! {"I" => img}}});
        kids.push(page.into());
    }
    doc.objects
        .insert(pages_id, Object::Dictionary(lopdf::dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => 2}));
    let cat = doc.add_object(lopdf::dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", cat);
    let t = tess();
    let par = ocr::read_pages(&t, &doc, &[1, 0]);
    let seq: Vec<_> = [1usize, 0].iter().map(|&i| ocr::read_page(&t, &doc, i)).collect();
    assert_eq!(par, seq);
    let par: Vec<OcrPage> = par.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!((par[0].index, par[1].index), (1, 0));
    assert!(fold(&par[0].text).contains("tia showed me her bedroom"));
    assert!(fold(&par[1].text).contains("harrowfield police"));
}

#[test]
fn an_image_filter_nobody_decodes_holds_the_page() {
    let mut doc = load("att-school-letter-300dpi.pdf");
    let id = image_ids(&doc)[0];
    if let Ok(Object::Stream(s)) = doc.get_object_mut(id) {
        s.dict.set("Filter", Object::Name(b"JPXDecode".to_vec()));
    }
    let e = ocr::read_page(&tess(), &doc, 0).unwrap_err();
    assert_eq!(e, OcrError::Image { page: 1, error: image::ImageError::CannotDecode { filter: "JPXDecode".into() } });
    assert!(e.to_string().contains("stays held"), "{e}");
    // Pixel redaction of such an image fails too: nothing is half-done.
    let (read, _) = ocr::choose_images(&doc, first_page(&doc), 0).unwrap();
    let before = save(&mut doc.clone());
    assert!(ocr::redact::redact_image(&mut doc, &read[0], &[[100.0, 100.0, 200.0, 120.0]], Paint::Black, 1.0).is_err());
    assert_eq!(save(&mut doc), before);
}

/// Redact every occurrence of `removed` on a scan: paint the word boxes, then add the layer of
/// the other words. Returns the saved PDF and the words removed.
fn redact_scan(name: &str, removed: &[&str]) -> (Vec<u8>, Vec<usize>, Vec<String>, OcrPage) {
    let p = read(name);
    let mut doc = load(name);
    let mut gone: Vec<usize> = removed.iter().flat_map(|r| spans(&p, r)).flat_map(|s| p.words_in(s)).collect();
    gone.sort();
    gone.dedup();
    assert!(!gone.is_empty(), "{name}: nothing to remove");
    let boxes: Vec<[f64; 4]> = gone.iter().map(|&i| p.words[i].bbox).collect();
    let painted = ocr::redact::redact_image(&mut doc, &p.images[0], &boxes, Paint::House, 1.5).unwrap().unwrap();
    assert!(!painted.rects.is_empty());
    let kept: Vec<&ocr::Word> = p.words.iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, w)| w).collect();
    let page = first_page(&doc);
    let font = ocr::layer::LayerFont::add(&mut doc, kept.iter().copied()).unwrap();
    ocr::layer::add_text_layer(&mut doc, page, &font, &kept).unwrap();
    let words: Vec<String> = gone.iter().map(|&i| p.words[i].text.clone()).collect();
    (save(&mut doc), gone, words, p)
}

/// The original image is nowhere in the output: not its stream, and not the original samples of
/// any removed word in the decoded content of any stream of the file (images decoded, other
/// streams inflated), so a copy kept anywhere (an unreferenced object, a thumbnail, an alternate)
/// would be found. Pieces of the compressed stream are not compared: where the page is blank
/// paper, two JPEG encoders with the standard tables write the same bytes, and that is not the
/// removed content.
fn assert_original_gone(out: &[u8], name: &str, p: &OcrPage, removed: &[usize]) {
    let orig = load(name);
    let id = p.images[0].object.unwrap();
    let Object::Stream(os) = orig.get_object(id).unwrap() else { panic!() };
    let raw = &os.content;
    assert!(!out.windows(raw.len()).any(|w| w == raw.as_slice()), "{name}: the original stream survives");
    let d = image::decode(&orig, os).unwrap();
    let n = d.info.space.components();
    let width = d.info.width as usize;
    // One row through the middle of each removed word, as stored samples (one byte each).
    let rows: Vec<Vec<u8>> = removed
        .iter()
        .map(|&i| {
            let r = p.words[i].pixels;
            let y = ((r.y0 + r.y1) / 2) as usize;
            d.samples[(y * width + r.x0 as usize) * n..(y * width + r.x1 as usize) * n].to_vec()
        })
        .filter(|row| row.len() >= 16 && row.iter().any(|&v| v != row[0]))
        .collect();
    assert!(!rows.is_empty(), "{name}: the removed words have pixels to look for");
    let doc = Document::load_mem(out).unwrap();
    for (oid, o) in &doc.objects {
        let Object::Stream(s) = o else { continue };
        let is_image = s.dict.get(b"Subtype").ok().and_then(|t| t.as_name().ok()) == Some(b"Image");
        let data = if is_image {
            image::decode(&doc, s).map(|d| d.samples).unwrap_or_else(|_| s.content.clone())
        } else {
            s.decompressed_content().unwrap_or_else(|_| s.content.clone())
        };
        for row in &rows {
            assert!(!data.windows(row.len()).any(|w| w == row.as_slice()), "{name}: removed pixels in object {oid:?}");
        }
    }
}

#[test]
fn pixel_redaction_removes_the_words_from_a_flate_scan_and_the_layer_keeps_the_rest() {
    let forbid = ["Pilbeam", "Sorrel", "Close,", "7QA,", "01632 960771", "Garside"];
    let (out, gone, words, p) = redact_scan("att-school-letter-300dpi.pdf", &forbid);
    assert_original_gone(&out, "att-school-letter-300dpi.pdf", &p, &gone);
    // Read back without our code: the words are gone from the pixels...
    let seen = independent_ocr(&out);
    for f in ["pilbeam", "sorrel", "960771", "garside"] {
        assert!(!seen.contains(f), "{f} still readable in the pixels");
    }
    assert!(seen.contains("attendance has improved"), "kept words stay readable");
    // ...and pdftotext finds the kept words in the layer, never a removed one.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("out.pdf");
    std::fs::write(&f, &out).unwrap();
    let text = fold(&stdout(&tool("pdftotext", &[f.to_str().unwrap(), "-"])));
    for k in ["attendance has improved", "peter quinlan", "likes her art lessons", "doreen"] {
        assert!(text.contains(k), "layer lacks {k}: {text}");
    }
    assert!(words.iter().any(|w| w.contains("Pilbeam")) && words.iter().any(|w| w.contains("960771")));
    for f in ["pilbeam", "sorrel", "960771", "garside", "7qa"] {
        assert!(!text.contains(f), "the layer has the removed {f}");
    }
    // The layer is invisible text: qpdf finds the file sound.
    let q = tool("qpdf", &["--check", f.to_str().unwrap()]);
    assert!(q.status.success(), "{}", stdout(&q));
}

#[test]
fn painted_regions_are_uniform_and_codecs_keep_their_kind() {
    for (name, kind, level) in [
        ("att-mother-letter-200dpi.pdf", "jpeg", 26u8),
        ("att-police-fax.pdf", "1-bit", 0),
        ("att-contact-form-photo.pdf", "jpeg", 26),
    ] {
        let (out, gone, _, p) = redact_scan(name, &["Pilbeam", "Garside"]);
        assert_original_gone(&out, name, &p, &gone);
        let doc = Document::load_mem(&out).unwrap();
        let id = p.images[0].object.unwrap();
        let Object::Stream(s) = doc.get_object(id).unwrap() else { panic!() };
        let d = image::decode(&doc, s).unwrap();
        match kind {
            "jpeg" => assert!(matches!(d.info.codec, Codec::Jpeg { .. }), "{name} stays JPEG"),
            _ => {
                assert_eq!(d.info.bpc, 1, "{name} stays 1-bit");
                assert_eq!(s.dict.get(b"Filter").unwrap(), &Object::Name(b"FlateDecode".to_vec()));
            }
        }
        let g = d.to_gray();
        let w = p.words.iter().find(|w| w.text.contains("Pilbeam") || w.text.contains("PILBEAM")).unwrap();
        let r = w.pixels;
        // The word's own pixel box (inside the painted, padded one) is one flat colour.
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                let v = g.get(x, y);
                assert!((v as i32 - level as i32).abs() <= 3, "{name}: pixel {x},{y} is {v}");
            }
        }
    }
}

#[test]
fn the_check_after_redaction_finds_words_left_and_passes_words_removed() {
    let name = "att-school-letter-300dpi.pdf";
    let (out, _, words, p) = redact_scan(name, &["Pilbeam", "Garside"]);
    let t = tess();
    let redacted = Document::load_mem(&out).unwrap();
    assert_eq!(ocr::verify::still_readable(&t, &redacted, 0, &words, &[]).unwrap(), Vec::<usize>::new());
    // The same words on the original page are readable: the check can fail.
    let readable = ocr::verify::readable_in(&p, &words, &[]);
    assert_eq!(readable.len(), words.len());
    // Through the rendered page (hayro), as a reader sees it, the same holds.
    let r = ocr::render::render_pages(&out, &[0], 300.0).unwrap().remove(0);
    let words_read = ocr::read_image(&t, r.image, r.dpi as f64).unwrap();
    let page = ocr::page_from_words(0, vec![r.placement], vec![], vec![words_read]);
    assert!(fold(&page.text).contains("attendance has improved"));
    assert_eq!(ocr::verify::readable_in(&page, &words, &[]), Vec::<usize>::new());
    assert_eq!(ocr::verify::still_readable_rendered(&t, &out, 0, 300.0, &words, &[]).unwrap(), Vec::<usize>::new());
    // A kept occurrence of a word (the same text over a kept word's box) does not count.
    let doreen: Vec<ocr::Word> = page.words.iter().filter(|w| w.text == "Doreen").cloned().collect();
    assert!(!doreen.is_empty());
    assert_eq!(ocr::verify::readable_in(&page, &["Doreen".into()], &[]), vec![0]);
    assert_eq!(ocr::verify::readable_in(&page, &["Doreen".into()], &doreen), Vec::<usize>::new());
}
