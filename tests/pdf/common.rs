#![allow(dead_code)]
//! Shared helpers for the integration tests: external oracles (poppler, mupdf, qpdf, leakscan).
//! Missing tools make the tests FAIL with a clear message (never skip silently).

use disclose::pdf::core::*;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixture(rel: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    match rel.strip_prefix("northbrook/") {
        Some(name) => root.join("northbrook").join("attachments").join(name),
        None => root.join("pdf").join(rel),
    }
}

pub fn require_tool(cmd: &str, args: &[&str]) {
    match Command::new(cmd).args(args).output() {
        Ok(_) => {}
        Err(e) => panic!("required external tool `{cmd}` is not available ({e}); install poppler-utils, qpdf, mupdf-tools and `pip install pikepdf`"),
    }
}

pub fn run(cmd: &str, args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("cannot run `{cmd}`: {e} (is it installed?)"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn pdftotext(path: &Path) -> String {
    let (c, o, e) = run("pdftotext", &["-q", path.to_str().unwrap(), "-"]);
    assert_eq!(c, 0, "pdftotext failed: {e}");
    o
}

pub fn mutool_text(path: &Path) -> String {
    let (c, o, e) = run("mutool", &["draw", "-q", "-F", "txt", "-o", "-", path.to_str().unwrap()]);
    assert_eq!(c, 0, "mutool failed: {e}");
    o
}

/// qpdf --check must exit 0 (no errors, no warnings).
pub fn qpdf_check(path: &Path) -> Result<(), String> {
    let (c, o, e) = run("qpdf", &["--check", path.to_str().unwrap()]);
    if c == 0 {
        Ok(())
    } else {
        Err(format!(
            "qpdf --check exit {c}: {}{}",
            o.lines().rev().take(5).collect::<Vec<_>>().join(" | "),
            e.lines().take(5).collect::<Vec<_>>().join(" | ")
        ))
    }
}

/// Word boxes from `pdftotext -bbox`: (page, word, [x0, y0, x1, y1]).
pub fn word_boxes(path: &Path) -> Vec<(usize, String, [f64; 4])> {
    let (c, o, e) = run("pdftotext", &["-q", "-bbox", path.to_str().unwrap(), "-"]);
    assert_eq!(c, 0, "pdftotext -bbox failed: {e}");
    let mut out = Vec::new();
    let mut page = 0;
    for line in o.lines() {
        let l = line.trim();
        if l.starts_with("<page ") {
            page += 1;
        }
        if let Some(rest) = l.strip_prefix("<word ") {
            let attr = |k: &str| -> f64 {
                let p = rest.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                rest[p..].split('"').next().unwrap().parse().unwrap()
            };
            let w = rest.split('>').nth(1).unwrap_or("").split('<').next().unwrap_or("");
            let w = w
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'");
            out.push((page, w, [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")]));
        }
    }
    out
}

/// Every word of `before` that is not (part of) a forbidden term must be in `after` at the
/// same place (within 0.5 pt). Returns the number of words checked.
pub fn assert_words_in_place(before: &Path, after: &Path, forbidden: &[&str], allow_lost: &[&str]) -> usize {
    let b = word_boxes(before);
    let a = word_boxes(after);
    let mut checked = 0;
    let mut lost = Vec::new();
    for (p, w, bb) in &b {
        let lw = w.to_lowercase().trim_end_matches('-').to_string();
        if allow_lost.contains(&w.as_str()) {
            continue;
        }
        if forbidden
            .iter()
            .any(|f| f.to_lowercase().split_whitespace().any(|part| lw.contains(part) || part.contains(&lw)))
        {
            continue;
        }
        checked += 1;
        let found =
            a.iter().any(|(p2, w2, bb2)| p2 == p && w2 == w && bb.iter().zip(bb2).all(|(x, y)| (x - y).abs() <= 0.5));
        if !found {
            lost.push(format!("page {p} word #{checked} ({} chars) at {:?}", w.chars().count(), bb));
        }
    }
    assert!(lost.is_empty(), "{} words moved or lost: {:?}", lost.len(), &lost[..lost.len().min(10)]);
    checked
}

/// Run leakscan (every text channel and every object) with the forbidden terms.
pub fn leakscan(path: &Path, forbidden: &[&str], dir: &Path) {
    let (c, _, e) = run("python3", &["-c", "import pikepdf"]);
    assert_eq!(c, 0, "leakscan needs pikepdf: `pip install pikepdf` ({e})");
    let terms = dir.join("forbid.txt");
    std::fs::write(&terms, forbidden.join("\n")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tools/leakscan.py");
    let (c, o, e) =
        run("python3", &[script.to_str().unwrap(), path.to_str().unwrap(), "--forbid", terms.to_str().unwrap()]);
    assert_eq!(c, 0, "leakscan found leaks (exit {c}): {o} {e}");
}

/// Marks for every occurrence of `needle` (ASCII case-insensitive) in each page's text.
pub fn marks_for(pages: &[PageText], needle: &str) -> Vec<PageEdit> {
    let n = needle.to_ascii_lowercase();
    pages
        .iter()
        .map(|p| PageEdit {
            index: p.index,
            marks: p
                .text
                .to_ascii_lowercase()
                .match_indices(&n)
                .map(|(i, w)| Mark { range: i..i + w.len(), code: "TP".into(), label: None, region: None })
                .collect(),
        })
        .filter(|e| !e.marks.is_empty())
        .collect()
}

pub fn count_eof(b: &[u8]) -> usize {
    b.windows(5).filter(|w| w == b"%%EOF").count()
}

/// Full check of one redaction: verdicts ok, name gone from poppler, mupdf and every object,
/// other words in place, qpdf clean, one revision.
pub fn redact_and_check(
    input: &Path,
    needle: &str,
    forbidden: &[&str],
    allow_lost: &[&str],
    expect_marks: usize,
    render_check: Option<&[(usize, [f64; 4])]>,
) -> Redacted {
    for t in [
        ("pdftotext", &["-v"][..]),
        ("mutool", &["-v"][..]),
        ("qpdf", &["--version"][..]),
        ("python3", &["--version"][..]),
    ] {
        require_tool(t.0, t.1);
    }
    let bytes = std::fs::read(input).unwrap();
    let pdf = load(&bytes).expect("load");
    let pages = read_text(&pdf).expect("read_text");
    let edits = marks_for(&pages, needle);
    let n: usize = edits.iter().map(|e| e.marks.len()).sum();
    assert_eq!(n, expect_marks, "marks found for the needle");
    let mut r = redact(&pdf, &pages, &edits).expect("redact");
    for v in &r.verdicts {
        assert!(v.ok, "verdict page {}: {:?}", v.index + 1, v.problems);
    }
    let out = save(&mut r.doc).expect("save");
    assert_eq!(count_eof(&out), 1, "exactly one revision");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, &out).unwrap();
    qpdf_check(&path).unwrap();
    let t1 = pdftotext(&path).to_lowercase();
    let t2 = mutool_text(&path).to_lowercase();
    for f in forbidden {
        let f = f.to_lowercase();
        assert!(!t1.contains(&f), "pdftotext still finds a forbidden term");
        assert!(!t2.contains(&f), "mutool still finds a forbidden term");
    }
    leakscan(&path, forbidden, dir.path());
    assert_words_in_place(input, &path, forbidden, allow_lost);
    if let Some(extra) = render_check {
        let heights: Vec<f64> = pages.iter().map(|p| p.height).collect();
        let mut boxes = removed_boxes(&pages, &edits);
        boxes.extend_from_slice(extra);
        assert_render_same_outside(input, &path, &boxes, pages.len(), &heights);
    }
    // our own reader agrees
    let again = load(&out).expect("reload");
    for p in read_text(&again).unwrap() {
        assert!(!p.text.to_ascii_lowercase().contains(&needle.to_ascii_lowercase()));
    }
    r
}

/// Render page 1..n of both files with pdftoppm (gray, 50 dpi) and assert that no pixel differs
/// outside the given boxes (user space, per page index), dilated by 3 px. Returns the number of
/// compared pixels.
#[allow(clippy::needless_range_loop)]
pub fn assert_render_same_outside(
    before: &Path,
    after: &Path,
    boxes: &[(usize, [f64; 4])],
    pages: usize,
    page_height: &[f64],
) -> usize {
    require_tool("pdftoppm", &["-v"]);
    let dir = tempfile::tempdir().unwrap();
    let dpi = 50.0;
    let render = |p: &Path, stem: &str| {
        let out = dir.path().join(stem);
        let (c, _, e) = run("pdftoppm", &["-gray", "-r", "50", p.to_str().unwrap(), out.to_str().unwrap()]);
        assert_eq!(c, 0, "pdftoppm failed: {e}");
    };
    render(before, "b");
    render(after, "a");
    let read_pgm = |path: PathBuf| -> (usize, usize, Vec<u8>) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("missing render {path:?}: {e}"));
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while data[i].is_ascii_whitespace() {
                i += 1;
            }
            let s = i;
            while !data[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&data[s..i]).into_owned());
        }
        i += 1;
        let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        (w, h, data[i..i + w * h].to_vec())
    };
    let mut compared = 0;
    for pi in 0..pages {
        let name = |stem: &str| {
            // pdftoppm pads the page number to the width of the page count
            let w = pages.to_string().len();
            dir.path().join(format!("{stem}-{:0w$}.pgm", pi + 1, w = w))
        };
        let (w, h, b) = read_pgm(name("b"));
        let (w2, h2, a) = read_pgm(name("a"));
        assert_eq!((w, h), (w2, h2), "page size changed");
        let scale = dpi / 72.0;
        let mut mask = vec![false; w * h];
        for (_, bb) in boxes.iter().filter(|(p, _)| *p == pi) {
            let x0 = ((bb[0] * scale).floor() as i64 - 3).max(0) as usize;
            let x1 = ((bb[2] * scale).ceil() as i64 + 3).min(w as i64 - 1).max(0) as usize;
            let y0 = (((page_height[pi] - bb[3]) * scale).floor() as i64 - 3).max(0) as usize;
            let y1 = (((page_height[pi] - bb[1]) * scale).ceil() as i64 + 3).min(h as i64 - 1).max(0) as usize;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    mask[y * w + x] = true;
                }
            }
        }
        let mut diff = 0;
        for k in 0..w * h {
            if !mask[k] {
                compared += 1;
                if (a[k] as i32 - b[k] as i32).abs() > 24 {
                    diff += 1;
                }
            }
        }
        assert_eq!(diff, 0, "page {}: {diff} pixels changed outside the redaction boxes", pi + 1);
    }
    compared
}

/// Union boxes (per page) of the glyphs that the edits remove, for render comparisons.
pub fn removed_boxes(pages: &[PageText], edits: &[PageEdit]) -> Vec<(usize, [f64; 4])> {
    let mut out = Vec::new();
    for e in edits {
        let p = &pages[e.index];
        for g in &p.glyphs {
            let r = &g.text_range;
            let hit = e.marks.iter().any(|m| {
                if r.is_empty() {
                    m.range.start < r.start && r.start < m.range.end
                } else {
                    r.start < m.range.end && m.range.start < r.end
                }
            });
            if hit {
                out.push((e.index, g.bbox));
            }
        }
    }
    out
}
