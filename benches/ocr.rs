//! Reading and redacting 50 scanned pages with `disclose::ocr`, next to OCRmyPDF (Debian's
//! `ocrmypdf`) on the same 50 pages, both using every core. Run: `cargo bench --bench ocr`.
//!
//! The 50 pages are the harrowfield family's scans repeated (300 and 200 dpi letters, a skewed
//! page, a CCITT fax, a colour photo of a form, a born-digital page with a scanned note), put
//! together with qpdf. Our side is the export's own code for scans (`disclose::ocr::pages`): read
//! every page that needs it (Tesseract per page, pages in parallel), paint the boxes of a list of
//! words into the images, add the searchable layer of the other words, render every page that
//! lost words and read it again (the check that fails a page closed), save. OCRmyPDF's side: `ocrmypdf --force-ocr --jobs N --optimize 0 --output-type pdf`
//! (rasterise, read, add its text layer; no PDF/A conversion, no optimisation). Each side runs
//! `RUNS` times; the best time counts. Prints the times and the ratio.

use disclose::model::AttachmentId;
use disclose::ocr::pages::{self, PixelMark};
use disclose::ocr::{self, Tesseract};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::time::{Duration, Instant};

const PAGES: usize = 50;
const RUNS: usize = 2;
const REMOVE: [&str; 6] = ["pilbeam", "garside", "sorrel", "960771", "900562", "7qa"];

/// The export's own path for scans: read the PDF, read every page that needs OCR (pages in
/// parallel), paint the removed words, add the layer of the kept words, render and read each
/// page that lost words again, save.
fn ours(tess: &Tesseract, input: &[u8]) -> (Duration, usize, usize) {
    let t = Instant::now();
    let id = AttachmentId("att-fifty".into());
    let read = disclose::pdf::read_attachment(input).expect("input reads");
    let mut map = HashMap::new();
    map.insert(id.clone(), Ok(read));
    let scans = pages::read_scans(Some(tess), &map);
    let scans = &scans[&id];
    let mut marks: BTreeMap<usize, Vec<PixelMark>> = BTreeMap::new();
    for (i, s) in scans.iter().enumerate() {
        let Some((p, _)) = s.read() else { continue };
        for w in &p.words {
            if REMOVE.iter().any(|f| ocr::verify::normalise(&w.text).contains(f)) {
                marks.entry(i).or_default().push(PixelMark::Words { range: w.range.clone(), label: "TP".into() });
            }
        }
    }
    let Ok(read) = map.remove(&id).unwrap() else { unreachable!() };
    let mut doc = read.loaded.document().clone();
    let done = pages::redact_pages(&mut doc, scans, &marks, &BTreeSet::new(), Some(tess));
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    (t.elapsed(), done.removed.values().sum(), done.failed.len())
}

fn ocrmypdf(input: &std::path::Path, out: &std::path::Path, jobs: usize) -> Duration {
    let t = Instant::now();
    let o = Command::new("ocrmypdf")
        .args([
            "--force-ocr",
            "--jobs",
            &jobs.to_string(),
            "--optimize",
            "0",
            "--output-type",
            "pdf",
            "-l",
            "eng",
            "-q",
        ])
        .arg(input)
        .arg(out)
        .output()
        .expect("ocrmypdf runs (apt-get install ocrmypdf)");
    assert!(o.status.success(), "ocrmypdf failed: {}", String::from_utf8_lossy(&o.stderr));
    t.elapsed()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing else we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let att = root.join("fixtures/families/harrowfield/attachments");
    let scans = [
        "att-school-letter-300dpi.pdf",
        "att-mother-letter-200dpi.pdf",
        "att-visit-skewed.pdf",
        "att-police-fax.pdf",
        "att-contact-form-photo.pdf",
        "att-referral-with-note.pdf",
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("fifty.pdf");
    let mut args: Vec<String> = vec!["--empty".into(), "--pages".into()];
    for i in 0..PAGES {
        args.push(att.join(scans[i % scans.len()]).display().to_string());
    }
    args.push("--".into());
    args.push(input.display().to_string());
    let q = Command::new("qpdf").args(&args).output().expect("qpdf runs");
    assert!(q.status.success(), "qpdf failed");
    let bytes = std::fs::read(&input).expect("input");
    let tess = Tesseract::find(None, "eng").expect("tesseract");
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut best_ours = Duration::MAX;
    let mut best_theirs = Duration::MAX;
    let mut removed = 0;
    for run in 0..RUNS {
        let (d, n, failed) = ours(&tess, &bytes);
        removed = n;
        assert_eq!(failed, 0, "every page passes the check after redaction");
        let e = ocrmypdf(&input, &dir.path().join(format!("out{run}.pdf")), cores);
        println!("run {}: disclose::ocr {:.1} s, ocrmypdf {:.1} s", run + 1, d.as_secs_f64(), e.as_secs_f64());
        best_ours = best_ours.min(d);
        best_theirs = best_theirs.min(e);
    }
    println!(
        "{PAGES} scanned pages on {cores} cores: disclose (read, redact {removed} words, layer, read again, save) {:.1} s; \
         ocrmypdf (read, layer) {:.1} s; ratio ours/ocrmypdf {:.2}",
        best_ours.as_secs_f64(),
        best_theirs.as_secs_f64(),
        best_ours.as_secs_f64() / best_theirs.as_secs_f64()
    );
}
