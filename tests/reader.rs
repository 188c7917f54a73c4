//! The bundle as each reader meets it (issue 17): the letter worded for the subject, a parent
//! about a named child, or a party in proceedings; the council's contact details and the
//! request's reference and dates; the grouped schedule; readable codes on attachment pages; the
//! tagged structure a screen reader walks; the archival (PDF/A-2b) identification. Checked with
//! poppler (pdftotext, pdfinfo, pdffonts) and pikepdf (fixtures/tools/pdfcheck.py).

use crate::util::*;
use std::path::{Path, PathBuf};

struct Out {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn store(export: &Path) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", export.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    Out { dir, db }
}

impl Out {
    /// Export into a new folder; gives the run and the folder.
    fn export(&self, name: &str, args: &[&str]) -> (std::process::Output, PathBuf) {
        let out = self.dir.path().join(name);
        let mut a = vec!["export", "--db", self.db.to_str().unwrap(), "--out", out.to_str().unwrap()];
        a.extend_from_slice(args);
        (run(&a), out)
    }
    fn ok(&self, name: &str, args: &[&str]) -> PathBuf {
        let (o, out) = self.export(name, args);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    }
}

fn text(pdf: &Path) -> String {
    let o = tool("pdftotext", &["-q", pdf.to_str().unwrap(), "-"]);
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The letter (or front sheet): the text of the bundle up to the index.
fn letter(pdf: &Path) -> String {
    let o = tool("pdftotext", &["-q", "-layout", pdf.to_str().unwrap(), "-"]);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    let head = t.split("\nIndex\n").next().unwrap();
    fold(head)
}

fn bookmarks(pdf: &Path) -> Vec<String> {
    let doc = lopdf::Document::load(pdf).unwrap();
    let mut out = Vec::new();
    let root = doc.catalog().unwrap().get(b"Outlines").unwrap().as_reference().unwrap();
    let mut stack = vec![doc.get_dictionary(root).unwrap().get(b"First").and_then(|f| f.as_reference()).ok()];
    while let Some(next) = stack.pop() {
        let Some(id) = next else { continue };
        let d = doc.get_dictionary(id).unwrap();
        out.push(lopdf::decode_text_string(d.get(b"Title").unwrap()).unwrap_or_default());
        stack.push(d.get(b"Next").and_then(|f| f.as_reference()).ok());
        stack.push(d.get(b"First").and_then(|f| f.as_reference()).ok());
    }
    out
}

fn pdfcheck(cmd: &str, pdf: &Path) -> std::process::Output {
    need("python3");
    let o = std::process::Command::new("python3")
        .arg(root().join("fixtures/tools/pdfcheck.py"))
        .arg(cmd)
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        !stderr(&o).contains("No module named 'pikepdf'"),
        "the test needs the Python package pikepdf (pip install pikepdf)"
    );
    o
}

#[test]
fn each_letter_speaks_to_its_reader() {
    let s = store(&northbrook());
    let own = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let parent = s.ok("parent", &["--subject", "p-maisie", "--requester", "p-danielle", "--policy", "sar-parent"]);
    let court = s.ok("court", &["--subject", "p-leah", "--requester", "p-danielle", "--policy", "court"]);

    // The subject: their own records, and the care they may need reading them.
    let l = letter(&own.join("bundle.pdf"));
    assert!(l.contains("dear leah,") && l.contains("holds about you"), "{l}");
    assert!(l.contains("difficult memories"), "{l}");
    assert!(bookmarks(&own.join("bundle.pdf")).iter().any(|b| b == "Your records"));

    // A parent: whose file it is, named, and never the words meant for the subject.
    let pdf = parent.join("bundle.pdf");
    let l = letter(&pdf);
    assert!(l.contains("dear danielle marwick,"), "{l}");
    assert!(l.contains("records of maisie okafor-marwick"), "{l}");
    assert!(l.contains("it is maisie's file, not yours"), "{l}");
    assert!(!l.contains("difficult memories") && !l.contains("holds about you"), "{l}");
    let marks = bookmarks(&pdf);
    assert!(!marks.iter().any(|b| b.contains("Your records")), "{marks:?}");
    assert!(marks.iter().any(|b| b == "Records of Maisie Okafor-Marwick"), "{marks:?}");
    let info = stdout(&tool("pdfinfo", &[pdf.to_str().unwrap()]));
    assert!(info.contains("Title:           Records of Maisie Okafor-Marwick"), "{info}");
    assert!(!fold(&text(&pdf)).contains("your records"));

    // A party in proceedings: the front sheet is served on the party who asked, not the child.
    let l = letter(&court.join("bundle.pdf"));
    assert!(l.contains("served on danielle marwick"), "{l}");
    assert!(!l.contains("served on leah"), "{l}");
    assert!(!l.contains("dear "), "a front sheet is not a letter: {l}");
}

#[test]
fn a_court_bundle_is_never_served_on_the_child() {
    let s = store(&northbrook());
    // Without --requester the court policy does not default to the child.
    let (o, out) = s.export("court", &["--subject", "p-leah", "--policy", "court"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--requester"), "{}", stderr(&o));
    assert!(!out.exists());
    let (o, _) = s.export("court2", &["--subject", "p-leah", "--requester", "p-leah", "--policy", "court"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("served on the child"), "{}", stderr(&o));
}

const COUNCIL: &str = r#"
[[council]]
name = "Northbrook Metropolitan Borough Council"
[council.information_governance]
team = "Data Protection Office"
address = ["Northbrook Metropolitan Borough Council", "PO Box 4242", "Northbrook", "NB9 9ZZ"]
email = "dpo-test@northbrook.example.gov.uk"
phone = "0161 496 0999"
review_days = 20
[council.complaints]
body = "the Information Commissioner's Office (ICO)"
website = "ico.org.uk/make-a-complaint"
phone = "0303 123 1113"
"#;

#[test]
fn the_letter_gives_the_council_file_contacts_and_the_request_reference_and_dates() {
    let s = store(&northbrook());
    let council = s.dir.path().join("council.toml");
    std::fs::write(&council, COUNCIL).unwrap();
    let out = s.ok(
        "own",
        &[
            "--subject",
            "p-leah",
            "--policy",
            "sar-self",
            "--council",
            council.to_str().unwrap(),
            "--reference",
            "SAR/2024/0417",
            "--date",
            "2024-04-19",
            "--response-date",
            "2024-05-10",
        ],
    );
    let l = letter(&out.join("bundle.pdf"));
    for want in [
        "our reference sar/2024/0417",
        "request received 19/04/2024",
        "date of this response 10/05/2024",
        "data protection office",
        "po box 4242",
        "nb9 9zz",
        "dpo-test@northbrook.example.gov.uk",
        "0161 496 0999",
        "within 20 days",
        "information commissioner's office",
        "ico.org.uk/make-a-complaint",
    ] {
        assert!(l.contains(want), "missing {want:?} in {l}");
    }
    // The shipped council file is the default.
    let out = s.ok("default", &["--subject", "p-leah", "--policy", "sar-self"]);
    let l = letter(&out.join("bundle.pdf"));
    assert!(l.contains("information.governance@northbrook.example.gov.uk") && l.contains("0161 496 0000"), "{l}");
}

#[test]
fn a_bad_council_file_is_refused_naming_the_file_and_key_before_any_output() {
    let s = store(&northbrook());
    let bad = s.dir.path().join("bad-council.toml");
    for (text, key) in [
        (COUNCIL.replace("dpo-test@northbrook.example.gov.uk", "not an address"), "information_governance.email"),
        (COUNCIL.replace("review_days = 20", "review_days = 20\nfax = \"none\""), "fax"),
        (
            COUNCIL.replace("Northbrook Metropolitan Borough Council\"\n[council", "Other Council\"\n[council"),
            "no [[council]]",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let (o, out) =
            s.export("x", &["--subject", "p-leah", "--policy", "sar-self", "--council", bad.to_str().unwrap()]);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains("bad-council.toml") && e.contains(key), "{key}: {e}");
        assert!(!out.exists(), "nothing is written");
    }
}

/// Schedule pages of a bundle: from the page with its heading to the glossary.
fn schedule_pages(pdf: &Path) -> (usize, usize, String) {
    let t = text(pdf);
    let pages: Vec<&str> = t.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    let start = pages.iter().position(|p| p.contains("\nSchedule of redactions\n")).expect("a schedule");
    let end = pages.iter().rposition(|p| p.contains("\nGlossary\n")).expect("a glossary");
    (end - start, pages.len(), pages[start..end].join("\n"))
}

#[test]
fn the_printed_schedule_is_grouped_by_record_and_code_and_the_csv_keeps_every_mark() {
    let s = store(&northbrook());
    let out = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let (_, _, sched) = schedule_pages(&out.join("bundle.pdf"));
    // Grouped rows: a record's title and date, its pages, and codes with counts.
    assert!(fold(&sched).contains("police domestic abuse notification, 09/01/2024"), "{sched}");
    assert!(sched.contains("4 \u{d7} TP"), "{sched}");
    // No record ids and no rule ids (those are for the officer, in schedule.csv).
    for bad in ["rec-", "att-", "R3.", "R6.", "R5."] {
        assert!(!sched.contains(bad), "{bad} in the printed schedule: {sched}");
    }
    let plan = read_json(&out.join("plan.json"));
    let csv = std::fs::read_to_string(out.join("schedule.csv")).unwrap();
    let removed = plan["marks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| ["redact", "withhold", "review", "insert"].contains(&m["action"].as_str().unwrap()))
        .count();
    let held = plan["held_after_redaction"].as_array().unwrap().len();
    assert_eq!(csv.lines().count() - 1, removed + held, "schedule.csv keeps one row per mark");
    // Fewer printed rows than marks: they are grouped.
    let rows = sched.matches('\u{d7}').count();
    assert!(rows < removed, "{rows} printed counts for {removed} marks");
}

#[test]
fn the_printed_schedule_of_a_large_family_is_at_most_five_percent_of_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let fam = dir.path().join("fam");
    let o = run(&["synth", "--out", fam.to_str().unwrap(), "--records", "240", "--attachments", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = store(&fam.join("export.json"));
    let out = s.ok("own", &["--subject", "p-0", "--policy", "sar-self"]);
    let (sched, total, _) = schedule_pages(&out.join("bundle.pdf"));
    assert!(total > 100, "{total} pages");
    assert!(sched * 100 <= total * 5, "the schedule is {sched} of {total} pages");
}

#[test]
fn every_mark_on_an_attachment_page_carries_its_code_at_six_points_or_more() {
    let s = store(&northbrook());
    let out = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let o = pdfcheck("labels", &out.join("bundle.pdf"));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let boxes = v["boxes"].as_u64().unwrap();
    let sizes: Vec<f64> = v["texts"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert!(boxes >= 10, "{v}");
    assert!(sizes.len() as u64 >= boxes, "{} labels for {boxes} boxes: {v}", sizes.len());
    assert!(sizes.iter().all(|s| *s >= 6.0), "a label under 6 pt: {sizes:?}");
}

#[test]
fn every_text_operator_is_inside_marked_content_and_the_structure_reads_in_record_order() {
    let s = store(&northbrook());
    let out = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let pdf = out.join("bundle.pdf");
    let o = pdfcheck("marked", &pdf);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = pdfcheck("struct", &pdf);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["marked"], true);
    assert_eq!(v["lang"], "en-GB");
    let roles: Vec<&str> = v["elems"].as_array().unwrap().iter().map(|e| e["role"].as_str().unwrap()).collect();
    for r in ["Document", "H1", "H2", "P", "Table", "TR", "TH", "TD", "Span", "Figure"] {
        assert!(roles.contains(&r), "no {r} in the structure");
    }
    let alts: Vec<&str> = v["elems"].as_array().unwrap().iter().filter_map(|e| e["alt"].as_str()).collect();
    assert!(alts.iter().any(|a| a.starts_with("redacted: this is about another person")), "{alts:?}");
    // A screen reader's view: poppler reads the structure tree with its text, in order. The
    // record headings come in the order of the records' bookmarks.
    let o = tool("pdfinfo", &["-struct-text", pdf.to_str().unwrap()]);
    let tree = stdout(&o);
    let mut headings = Vec::new();
    let mut lines = tree.lines();
    while let Some(l) = lines.next() {
        if l.trim_start().starts_with("H1") {
            if let Some(t) = lines.next() {
                headings.push(t.trim().trim_matches('"').to_string());
            }
        }
    }
    let records: Vec<String> = bookmarks(&pdf)
        .into_iter()
        .filter(|b| b.as_bytes().first().is_some_and(|c| c.is_ascii_digit()))
        .map(|b| b.split(' ').next().unwrap().to_string())
        .collect();
    let heading_dates: Vec<String> = headings
        .iter()
        .filter(|h| h.as_bytes().first().is_some_and(|c| c.is_ascii_digit()))
        .map(|h| h.split(' ').next().unwrap().to_string())
        .collect();
    assert!(records.len() >= 10, "{records:?}");
    assert_eq!(heading_dates, records, "record headings (H1) in the structure, in record order");
    assert!(headings.first().is_some_and(|h| h == "Your records"), "{headings:?}");
}

#[test]
fn the_bundle_is_identified_as_pdfa_2b_with_every_font_embedded() {
    let s = store(&northbrook());
    let out = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let pdf = out.join("bundle.pdf");
    let doc = lopdf::Document::load(&pdf).unwrap();
    let cat = doc.catalog().unwrap();
    let md = doc.get_object(cat.get(b"Metadata").unwrap().as_reference().unwrap()).unwrap().as_stream().unwrap();
    let xmp = String::from_utf8_lossy(&md.content).to_string();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>") && xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
    assert!(xmp.contains("Your records: subject access request of 19/04/2024"), "{xmp}");
    let intents = cat.get(b"OutputIntents").unwrap().as_array().unwrap();
    let oi = match &intents[0] {
        lopdf::Object::Reference(r) => doc.get_dictionary(*r).unwrap(),
        o => o.as_dict().unwrap(),
    };
    assert_eq!(oi.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    assert!(oi.get(b"DestOutputProfile").is_ok());
    assert!(doc.trailer.get(b"Encrypt").is_err());
    let f = stdout(&tool("pdffonts", &[pdf.to_str().unwrap()]));
    for line in f.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 5 && cols[cols.len() - 5] == "yes", "not embedded: {line}");
    }
}

/// Attachments whose producers left Helvetica unembedded (ReportLab, ImageMagick, PyMuPDF):
/// in the bundle every font is embedded (Liberation in place of the standard 14), and the
/// attachment's words still read the same (pdftotext).
#[test]
fn unembedded_standard_fonts_of_attachments_are_embedded_as_liberation() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&northbrook());
    let files = ["013-reportlab-overlay/reportlab-overlay.pdf", "020-xmp/output_with_metadata_pymupdf.pdf"];
    std::fs::create_dir_all(dir.path().join("attachments")).unwrap();
    let mut atts = Vec::new();
    let mut words = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let src = root().join("fixtures/pdf/corpus").join(f);
        let fonts = stdout(&tool("pdffonts", &[src.to_str().unwrap()]));
        assert!(fonts
            .lines()
            .skip(2)
            .any(|l| l.contains("Helvetica") && l.split_whitespace().nth_back(4) == Some("no")));
        let t = stdout(&tool("pdftotext", &[src.to_str().unwrap(), "-"]));
        words.extend(
            t.split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| w.len() >= 4 && w.chars().all(char::is_alphabetic))
                .take(3)
                .map(str::to_string),
        );
        let name = format!("att-h{i}.pdf");
        std::fs::copy(&src, dir.path().join("attachments").join(&name)).unwrap();
        let sha = disclose::import::hex(&sha2::Sha256::digest(std::fs::read(&src).unwrap()));
        atts.push(
            serde_json::json!({"id": format!("att-h{i}"), "file": format!("attachments/{name}"), "text_layer": true,
            "title": format!("Document {i}"), "record": "rec-014", "on_files": ["p-leah"], "sha256": sha}),
        );
    }
    assert!(words.len() >= 3, "{words:?}");
    for r in v["records"].as_array_mut().unwrap() {
        if r["id"] == "rec-014" {
            r["attachments"] = serde_json::json!(atts.iter().map(|a| a["id"].clone()).collect::<Vec<_>>());
        } else {
            r.as_object_mut().unwrap().remove("attachments");
        }
    }
    v["attachments"] = serde_json::json!(atts);
    let p = dir.path().join("export.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let s = store(&p);
    let out = s.ok("own", &["--subject", "p-leah", "--policy", "sar-self"]);
    let pdf = out.join("bundle.pdf");
    let fonts = stdout(&tool("pdffonts", &[pdf.to_str().unwrap()]));
    assert!(fonts.contains("LiberationSans"), "{fonts}");
    for line in fonts.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 5 && cols[cols.len() - 5] == "yes", "not embedded: {line}");
    }
    let t = text(&pdf);
    for w in &words {
        assert!(t.contains(w.as_str()), "{w} no longer reads in the bundle");
    }
    let q = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(q.status.success(), "{}", stdout(&q));
}

/// Every tool the tests check outputs with, with the package that brings it (README, Install).
/// Missing ones fail here, one line each, besides the test that needed them.
#[test]
fn the_tools_the_tests_use_are_installed() {
    let tools = [
        ("pdftotext", "poppler-utils", "text of bundles"),
        ("pdffonts", "poppler-utils", "every font embedded"),
        ("pdfinfo", "poppler-utils", "document information and the structure tree"),
        ("pdfsig", "poppler-utils", "signatures"),
        ("pdftoppm", "poppler-utils", "page images"),
        ("pdfimages", "poppler-utils", "images of redacted scans"),
        ("qpdf", "qpdf", "the file's structure"),
        ("mutool", "mupdf-tools", "leakscan.py"),
        ("tesseract", "tesseract-ocr", "OCR of scans and of rendered pages"),
        ("openssl", "openssl", "PKCS#12 files"),
        ("python3", "python3", "fixtures/tools"),
        ("pyhanko", "pip install pyhanko pyhanko-cli", "signatures"),
    ];
    let mut missing = Vec::new();
    for (t, pkg, what) in tools {
        let ok = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            missing.push(format!("missing `{t}` ({what}): install {pkg}"));
        }
    }
    let py = std::process::Command::new("python3").args(["-c", "import pikepdf"]).output();
    if !py.is_ok_and(|o| o.status.success()) {
        missing.push("missing Python package pikepdf (leakscan.py, pdfcheck.py): pip install pikepdf".into());
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}
