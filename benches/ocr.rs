//! Reading and redacting 50 scanned pages with `disclose::ocr`, next to OCRmyPDF (Debian's
//! `ocrmypdf`) on the same 50 pages, both using every core. Run: `cargo bench --bench ocr`.
//!
//! The 50 pages are the harrowfield family's scans repeated (300 and 200 dpi letters, a skewed
//! page, a CCITT fax, a colour photo of a form, a born-digital page with a scanned note), put
//! together with qpdf. Our side: read every page (Tesseract per page, pages in parallel), paint
//! the boxes of a list of words into the images, add the searchable layer of the other words,
//! save. OCRmyPDF's side: `ocrmypdf --force-ocr --jobs N --optimize 0 --output-type pdf`
//! (rasterise, read, add its text layer; no PDF/A conversion, no optimisation). Each side runs
//! `RUNS` times; the best time counts. Prints the times and the ratio.

use disclose::ocr::{self, Tesseract};
use disclose::pdf::image::Paint;
use std::process::Command;
use std::time::{Duration, Instant};

const PAGES: usize = 50;
const RUNS: usize = 2;
const REMOVE: [&str; 6] = ["pilbeam", "garside", "sorrel", "960771", "900562", "7qa"];

fn ours(tess: &Tesseract, input: &[u8]) -> (Duration, usize) {
    use rayon::prelude::*;
    let t = Instant::now();
    let mut doc = lopdf::Document::load_mem(input).expect("input loads");
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().values().copied().collect();
    let idx: Vec<usize> = (0..pages.len()).collect();
    let read = ocr::read_pages(tess, &doc, &idx);
    // Paint each page's images (in parallel: every page has its own images here), then the layers.
    let mut jobs = Vec::new();
    for r in &read {
        let p = r.as_ref().expect("page reads");
        let gone: Vec<usize> = p
            .words
            .iter()
            .enumerate()
            .filter(|(_, w)| REMOVE.iter().any(|f| ocr::verify::normalise(&w.text).contains(f)))
            .map(|(i, _)| i)
            .collect();
        for (ii, img) in p.images.iter().enumerate() {
            let boxes: Vec<[f64; 4]> =
                gone.iter().filter(|&&i| p.words[i].image == ii).map(|&i| p.words[i].bbox).collect();
            jobs.push((img.clone(), boxes));
        }
    }
    let painted: Vec<_> = jobs
        .into_par_iter()
        .map(|(img, boxes)| ocr::redact::paint_image(&doc, &img, &boxes, Paint::House, 1.5).expect("paints"))
        .collect();
    let mut removed = 0;
    for r in painted.into_iter().flatten() {
        r.apply(&mut doc).expect("replaces");
    }
    for (r, &page) in read.iter().zip(&pages) {
        let p = r.as_ref().expect("page reads");
        let kept: Vec<&ocr::Word> =
            p.words.iter().filter(|w| !REMOVE.iter().any(|f| ocr::verify::normalise(&w.text).contains(f))).collect();
        removed += p.words.len() - kept.len();
        ocr::layer::add_text_layer(&mut doc, page, &kept).expect("layer");
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    (t.elapsed(), removed)
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
        let (d, n) = ours(&tess, &bytes);
        removed = n;
        let e = ocrmypdf(&input, &dir.path().join(format!("out{run}.pdf")), cores);
        println!("run {}: disclose::ocr {:.1} s, ocrmypdf {:.1} s", run + 1, d.as_secs_f64(), e.as_secs_f64());
        best_ours = best_ours.min(d);
        best_theirs = best_theirs.min(e);
    }
    println!(
        "{PAGES} scanned pages on {cores} cores: disclose::ocr (read, redact {removed} words, layer, save) {:.1} s; \
         ocrmypdf (read, layer) {:.1} s; ratio ours/ocrmypdf {:.2}",
        best_ours.as_secs_f64(),
        best_theirs.as_secs_f64(),
        best_ours.as_secs_f64() / best_theirs.as_secs_f64()
    );
}
