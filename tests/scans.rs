//! Scans through the whole pipeline (issue 14): the harrowfield family's scans are read by OCR,
//! decided by the same policy, redacted in their pixels, made searchable, and read again; pages
//! that cannot be read (an undecodable filter, nothing legible) are held and listed; without
//! Tesseract the scans stay held and the run says how to enable reading them.
//!
//! Independent checks: pdftotext (the kept words through the searchable layer), leakscan.py
//! `--ocr` (Tesseract on the pages as poppler renders them), and the bundle's bytes.

use crate::util::*;
use disclose::ocr;
use lopdf::{Document, Object};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn harrowfield() -> PathBuf {
    family_path("harrowfield")
}

fn attachment(name: &str) -> PathBuf {
    root().join("fixtures/families/harrowfield/attachments").join(name)
}

fn export(
    export: &Path,
    subject: &str,
    requester: &str,
    policy: &str,
    extra_env: &[(&str, &str)],
) -> (PathBuf, std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", export.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "export",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        subject,
        "--requester",
        requester,
        "--policy",
        policy,
        "--out",
        out.to_str().unwrap(),
    ]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    (out, o, dir)
}

/// The raw stream bytes of every image on a scan that can hold text.
fn text_images(name: &str) -> Vec<Vec<u8>> {
    let doc = Document::load(attachment(name)).unwrap();
    let page = *doc.get_pages().values().next().unwrap();
    let (read, _) = ocr::choose_images(&doc, page, 0).unwrap();
    read.iter()
        .map(|u| match doc.get_object(u.object.unwrap()).unwrap() {
            Object::Stream(s) => s.content.clone(),
            _ => panic!("an image stream"),
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const SCANS: [&str; 6] = [
    "att-school-letter-300dpi.pdf",
    "att-mother-letter-200dpi.pdf",
    "att-visit-skewed.pdf",
    "att-police-fax.pdf",
    "att-contact-form-photo.pdf",
    "att-referral-with-note.pdf",
];

/// The whole family through the pipeline: read, decided, painted, searchable, checked, and the
/// same bytes twice.
#[test]
fn harrowfield_scans_are_read_redacted_in_their_pixels_and_searchable() {
    let v = read_json(&harrowfield());
    let sc = v["test_scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "sar-tia-own").unwrap().clone();
    let (out, o, _d) = export(&harrowfield(), "p-tia", "p-tia", "sar-self", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Tesseract is not available"), "{}", stderr(&o));
    let pdf = out.join("bundle.pdf");
    let text = fold(&stdout(&tool("pdftotext", &["-q", pdf.to_str().unwrap(), "-"])));
    for r in sc["require"].as_array().unwrap() {
        assert!(text.contains(&fold(r.as_str().unwrap())), "pdftotext lacks the kept words {r}");
    }
    for f in sc["forbid"].as_array().unwrap() {
        assert!(!text.contains(&fold(f.as_str().unwrap())), "pdftotext finds the removed {f}");
    }
    // Every scan is read: nothing is held, nothing failed after redaction.
    // PDF/A-2b: every font embedded, the searchable layer's too (an embedded subset of Liberation
    // Sans, a CID font so that any character OCR reads has a code).
    let fonts = every_font_embedded(&pdf);
    assert!(
        fonts.lines().any(|l| l.contains("+LiberationSans ") && l.contains("CID TrueType")),
        "the layer's font: {fonts}"
    );
    let plan = read_json(&out.join("plan.json"));
    assert_eq!(plan["review"], Value::Array(vec![]), "{}", plan["review"]);
    assert_eq!(plan["held_after_redaction"], Value::Array(vec![]));
    let ocr_marks = plan["marks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "redact" && m["location"]["part"]["kind"] == "attachment_page")
        .count();
    assert!(ocr_marks >= 12, "marks on the scans' words: {ocr_marks}");
    // The original pixels are gone: no image stream that held a removed word is in the file...
    let bytes = std::fs::read(&pdf).unwrap();
    for name in SCANS {
        for raw in text_images(name) {
            assert!(!contains(&bytes, &raw), "{name}: the original image stream is in the bundle");
        }
    }
    // ...while the bundle does carry image streams as they came (the referral's logo, which is
    // decoration and left alone), so the check above can see a stream that was not replaced.
    let doc = Document::load(attachment("att-referral-with-note.pdf")).unwrap();
    let page = *doc.get_pages().values().next().unwrap();
    let (_, decorative) = ocr::choose_images(&doc, page, 0).unwrap();
    let Object::Stream(logo) = doc.get_object(decorative[0].object.unwrap()).unwrap() else { panic!() };
    assert!(contains(&bytes, &logo.content), "the logo's stream is copied as it is");
    // Independent OCR of the rendered bundle reads no forbidden word in any channel.
    let terms = out.join("forbid.txt");
    let list: Vec<&str> = sc["forbid"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    std::fs::write(&terms, list.join("\n") + "\n").unwrap();
    need("mutool");
    need("tesseract");
    let l = std::process::Command::new("python3")
        .arg(root().join("fixtures/tools/leakscan.py"))
        .arg(&pdf)
        .arg("--forbid")
        .arg(&terms)
        .arg("--ocr")
        .output()
        .unwrap();
    assert_eq!(l.status.code(), Some(0), "leakscan --ocr: {}{}", stdout(&l), stderr(&l));
    // Same inputs, same bytes.
    let (again, o, _d2) = export(&harrowfield(), "p-tia", "p-tia", "sar-self", &[]);
    assert!(o.status.success());
    for f in ["bundle.pdf", "plan.json", "preview.txt", "schedule.csv"] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(again.join(f)).unwrap(), "{f} differs");
    }
}

/// The pdffonts listing of a PDF, every font in it embedded.
fn every_font_embedded(pdf: &Path) -> String {
    let fonts = stdout(&tool("pdffonts", &[pdf.to_str().unwrap()]));
    assert!(fonts.lines().count() > 2, "no fonts listed: {fonts}");
    for line in fonts.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 5 && cols[cols.len() - 5] == "yes", "font not embedded: {line}");
    }
    fonts
}

/// Words and their boxes as `pdftotext -bbox` gives them (top-left origin, points).
fn bbox_words(pdf: &Path) -> Vec<(String, [f64; 4])> {
    let html = stdout(&tool("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]));
    let attr = |l: &str, k: &str| -> f64 {
        let at = l.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
        l[at..at + l[at..].find('"').unwrap()].parse().unwrap()
    };
    html.lines()
        .filter_map(|l| {
            let l = l.trim();
            let body = l.strip_prefix("<word ")?;
            let text = &body[body.find('>')? + 1..body.rfind("</word>")?];
            let text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'");
            let text = text.replace("&amp;", "&");
            Some((text, [attr(l, "xMin"), attr(l, "yMin"), attr(l, "xMax"), attr(l, "yMax")]))
        })
        .collect()
}

/// The searchable layer of a read scan on its own: its font is embedded (pdffonts), every word
/// comes back from pdftotext exactly as OCR read it (letters outside WinAnsi and a character the
/// font lacks included), and each word lies over its box in the image (pdftotext -bbox: the same
/// left and right edges within a point, the box's middle within its height), so that a search
/// hit or a selection highlights the word in the scan.
#[test]
fn the_searchable_layer_embeds_its_font_and_lays_each_word_exactly_over_its_box() {
    need("tesseract");
    let name = "att-school-letter-300dpi.pdf";
    let mut doc = Document::load(attachment(name)).unwrap();
    let tess = ocr::Tesseract::find(None, "eng").unwrap();
    let mut page = ocr::read_page(&tess, &doc, 0).unwrap();
    // Words OCR can read in other letters: Polish, Czech, Maori, Greek, and Chinese, which
    // Liberation Sans has no glyphs for. Put in place of some long words across the page.
    let others = [
        "\u{141}\u{f3}d\u{17a}",
        "Dvo\u{159}\u{e1}k",
        "\u{14c}taki",
        "\u{395}\u{3bb}\u{3ad}\u{3bd}\u{3b7}",
        "\u{4e00}\u{4e8c}",
    ];
    let long: Vec<usize> = (0..page.words.len())
        .filter(|&i| page.words[i].text.chars().filter(|c| c.is_alphabetic()).count() >= 5)
        .collect();
    assert!(long.len() >= 40, "{} long words", long.len());
    for (k, o) in others.iter().enumerate() {
        page.words[long[k * long.len() / others.len()]].text = o.to_string();
    }
    let words: Vec<&ocr::Word> = page.words.iter().collect();
    let font = ocr::layer::LayerFont::add(&mut doc, words.iter().copied()).unwrap();
    let pid = *doc.get_pages().values().next().unwrap();
    ocr::layer::add_text_layer(&mut doc, pid, &font, &words).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("layer.pdf");
    std::fs::write(&pdf, save(&mut doc)).unwrap();
    every_font_embedded(&pdf);
    let height = match doc.get_dictionary(pid).unwrap().get(b"MediaBox").unwrap() {
        Object::Array(a) => a[3].as_float().unwrap() as f64,
        o => panic!("{o:?}"),
    };
    let found = bbox_words(&pdf);
    for w in &page.words {
        let [x0, y0, x1, y1] = w.bbox;
        let mid = height - (y0 + y1) / 2.0;
        let over = found.iter().any(|(t, b)| {
            *t == w.text && (b[0] - x0).abs() <= 1.0 && (b[2] - x1).abs() <= 1.0 && b[1] <= mid && mid <= b[3]
        });
        assert!(over, "word at bytes {:?} is not over its box {:?}: {found:?}", w.range, w.bbox);
    }
    assert_eq!(found.len(), page.words.len(), "pdftotext finds each word once, and nothing else");
    for o in others {
        assert!(found.iter().any(|(t, _)| t == o), "{o} extracts as itself");
    }
}

/// A copy of harrowfield holding only the given attachments (file name, bytes), the others taken
/// out of the export and its records.
fn family_with(dir: &Path, atts: &[(&str, &str, Vec<u8>)]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut v = read_json(&harrowfield());
    let keep: Vec<&str> = atts.iter().map(|a| a.0).collect();
    v["attachments"].as_array_mut().unwrap().retain(|a| keep.contains(&a["id"].as_str().unwrap()));
    for r in v["records"].as_array_mut().unwrap() {
        r["attachments"].as_array_mut().unwrap().retain(|a| keep.contains(&a.as_str().unwrap()));
    }
    std::fs::create_dir_all(dir.join("attachments")).unwrap();
    for (id, file, bytes) in atts {
        std::fs::write(dir.join("attachments").join(file), bytes).unwrap();
        let a = v["attachments"].as_array_mut().unwrap().iter_mut().find(|a| a["id"] == *id).unwrap();
        a["file"] = format!("attachments/{file}").into();
        a["sha256"] = disclose::import::hex(&Sha256::digest(bytes)).into();
        a["bytes"] = (bytes.len() as u64).into();
    }
    let p = dir.join("export.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    p
}

fn save(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A scan whose image filter nobody decodes (JPX), and a scan on which nothing can be read well (an
/// image of speckle, read with a low mean confidence), are held for a person and listed, never
/// passed through.
#[test]
fn a_scan_that_cannot_be_decoded_or_read_is_held_and_listed() {
    // The school letter with its image's filter renamed: its data cannot be decoded.
    let mut jpx = Document::load(attachment("att-school-letter-300dpi.pdf")).unwrap();
    let page = *jpx.get_pages().values().next().unwrap();
    let id = ocr::choose_images(&jpx, page, 0).unwrap().0[0].object.unwrap();
    if let Ok(Object::Stream(s)) = jpx.get_object_mut(id) {
        s.dict.set("Filter", Object::Name(b"JPXDecode".to_vec()));
    }
    // The mother's letter with its image replaced by speckle: no word can be read in it.
    let mut noise = Document::load(attachment("att-mother-letter-200dpi.pdf")).unwrap();
    let page = *noise.get_pages().values().next().unwrap();
    let id = ocr::choose_images(&noise, page, 0).unwrap().0[0].object.unwrap();
    let (w, h) = (200u32, 280u32);
    let mut x: u32 = 12345;
    let data: Vec<u8> = (0..w * h)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if (x >> 16).is_multiple_of(7) {
                0
            } else {
                255
            }
        })
        .collect();
    noise.objects.insert(
        id,
        Object::Stream(lopdf::Stream::new(
            lopdf::dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
            "BitsPerComponent" => 8, "ColorSpace" => "DeviceGray"},
            data,
        )),
    );
    let dir = tempfile::tempdir().unwrap();
    let fam = family_with(
        dir.path(),
        &[("att-school-letter", "jpx.pdf", save(&mut jpx)), ("att-mother-letter", "noise.pdf", save(&mut noise))],
    );
    let (out, o, _d) = export(&fam, "p-tia", "p-tia", "sar-self", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = read_json(&out.join("plan.json"));
    let review = plan["review"].as_array().unwrap();
    let held = |att: &str| {
        review
            .iter()
            .find(|r| r["location"]["attachment"] == att && r["location"]["part"]["kind"] == "attachment_page")
            .unwrap_or_else(|| panic!("{att} page held and listed: {review:?}"))
            .clone()
    };
    let j = held("att-school-letter");
    assert_eq!(j["reason"], "REV");
    assert!(j["why"].as_str().unwrap().contains("JPXDecode"), "{j}");
    let n = held("att-mother-letter");
    assert!(n["why"].as_str().unwrap().contains("mean confidence"), "{n}");
    // Neither page reaches the bundle; the placeholder says it is held.
    let pdf = out.join("bundle.pdf");
    let text = fold(&stdout(&tool("pdftotext", &["-q", pdf.to_str().unwrap(), "-"])));
    for kept in ["likes her art lessons", "want tia to stay at brookside"] {
        assert!(!text.contains(kept), "a held page's words are in the bundle: {kept}");
    }
    let bytes = std::fs::read(&pdf).unwrap();
    let Object::Stream(s) = jpx.get_object(id_of(&jpx)).unwrap() else { panic!() };
    assert!(!contains(&bytes, &s.content[..4096]), "the undecodable image is not passed through");
}

fn id_of(doc: &Document) -> lopdf::ObjectId {
    let page = *doc.get_pages().values().next().unwrap();
    ocr::choose_images(doc, page, 0).unwrap().0[0].object.unwrap()
}

/// Without Tesseract the scans stay held as before OCR, the born-digital page with a scanned
/// note is held too (its image cannot be read), and the run says once how to enable reading.
/// A Tesseract named with --tesseract that cannot be run is refused before anything is written.
#[test]
fn without_tesseract_scans_stay_held_and_the_run_says_how_to_enable_it() {
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap().to_string();
    let (out, o, _d) = export(&harrowfield(), "p-tia", "p-tia", "sar-self", &[("PATH", &path)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> =
        err.lines().filter(|l| l.contains("apt-get install tesseract-ocr tesseract-ocr-eng")).collect();
    assert_eq!(lines.len(), 1, "one line says how to enable reading scans: {err}");
    assert!(lines[0].contains("--tesseract PATH"), "{}", lines[0]);
    let plan = read_json(&out.join("plan.json"));
    let review = plan["review"].as_array().unwrap();
    for att in ["att-school-letter", "att-mother-letter", "att-police-fax", "att-visit-notes", "att-contact-form"] {
        assert!(
            review.iter().any(|r| r["location"]["attachment"] == att && r["rule"] == "R3.scan"),
            "{att} held as a scan: {review:?}"
        );
    }
    let note = review
        .iter()
        .find(|r| r["location"]["attachment"] == "att-school-referral")
        .expect("the born-digital page with a scanned note is held");
    assert_eq!(note["location"]["part"]["kind"], "attachment_page");
    assert!(note["why"].as_str().unwrap().contains("could not be read"), "{note}");
    let text = fold(&stdout(&tool("pdftotext", &["-q", out.join("bundle.pdf").to_str().unwrap(), "-"])));
    assert!(!text.contains("worried about the shouting"), "the unread note is not passed through");
    // An explicit program that cannot be run: refused, nothing written.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    assert!(run(&["import", harrowfield().to_str().unwrap(), "--db", db.to_str().unwrap()]).status.success());
    let out = dir.path().join("out");
    let o = run(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        "p-tia",
        "--policy",
        "sar-self",
        "--out",
        out.to_str().unwrap(),
        "--tesseract",
        "/nonexistent/tesseract",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tesseract cannot be run"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
}
