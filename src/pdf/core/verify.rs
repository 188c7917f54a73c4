//! Verification: re-extract the redacted document with the same reader and compare with the
//! original text. Problems are reported as counts and kinds only, never text.

use super::{read_doc, removed_glyphs, LoadedPdf, PageEdit, PageStatus, PageText, PageVerdict};
use lopdf::Document;
use std::collections::HashMap;

fn alnum_lower(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect()
}

fn count_occ(hay: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return 0;
    }
    hay.match_indices(needle).count()
}

fn words(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s.split_whitespace() {
        *m.entry(w.to_string()).or_insert(0) += 1;
    }
    m
}

pub fn verify(original: &[PageText], redacted: &Document, edits: &[PageEdit]) -> Vec<PageVerdict> {
    let loaded = match LoadedPdf::from_document(redacted.clone()) {
        Ok(l) => l,
        Err(e) => {
            return original
                .iter()
                .map(|p| PageVerdict {
                    index: p.index,
                    ok: false,
                    problems: vec![format!("redacted document unreadable: {}", kind_of(&e))],
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for orig in original {
        let mut problems = Vec::new();
        let marks: Vec<super::Mark> =
            edits.iter().filter(|e| e.index == orig.index).flat_map(|e| e.marks.iter().cloned()).collect();
        let Some(pid) = loaded.pages.get(orig.index) else {
            out.push(PageVerdict { index: orig.index, ok: false, problems: vec!["page missing".into()] });
            continue;
        };
        let red = match read_doc(&loaded.doc, std::slice::from_ref(pid)) {
            Ok(mut v) => v.remove(0),
            Err(e) => {
                out.push(PageVerdict {
                    index: orig.index,
                    ok: false,
                    problems: vec![format!("page unreadable: {}", kind_of(&e))],
                });
                continue;
            }
        };
        if let PageStatus::Unmapped { glyphs } = red.status {
            problems.push(format!("{glyphs} glyphs without unicode"));
        }
        // labels are painted in WinAnsi: characters it cannot encode read back as '?'
        let labels: Vec<String> = marks
            .iter()
            .map(|m| m.label.clone().unwrap_or_else(|| m.code.clone()))
            .map(|l| l.chars().map(|c| if super::font::winansi_code(c) == b'?' { '?' } else { c }).collect())
            .collect();
        // 1. removed text must not be extractable any more (beyond what is left outside marks)
        let mut cut = String::with_capacity(orig.text.len());
        let mut pos = 0;
        let mut sorted: Vec<&super::Mark> = marks.iter().collect();
        sorted.sort_by_key(|m| m.range.start);
        for m in &sorted {
            let s = m.range.start.max(pos).min(orig.text.len());
            if orig.text.is_char_boundary(s) && orig.text.is_char_boundary(pos) && s >= pos {
                cut.push_str(&orig.text[pos..s]);
            }
            cut.push('\u{0}');
            pos = m.range.end.max(pos).min(orig.text.len());
        }
        if orig.text.is_char_boundary(pos) {
            cut.push_str(&orig.text[pos..]);
        }
        let red_alnum = alnum_lower(&red.text);
        let mut leaked = 0;
        for m in &marks {
            let Some(t) = orig.text.get(m.range.clone()) else {
                problems.push("mark range invalid".into());
                continue;
            };
            let needle = alnum_lower(t);
            if needle.is_empty() {
                continue;
            }
            let residual: usize = cut.split('\u{0}').map(|seg| count_occ(&alnum_lower(seg), &needle)).sum();
            let in_labels: usize = labels.iter().map(|l| count_occ(&alnum_lower(l), &needle)).sum();
            if count_occ(&red_alnum, &needle) > residual + in_labels {
                leaked += 1;
            }
        }
        if leaked > 0 {
            problems.push(format!("{leaked} marks still extractable"));
        }
        // 2. words outside marks unchanged (multiset), labels allowed
        let mut expect = words(&cut.replace('\u{0}', " "));
        for l in &labels {
            for w in l.split_whitespace() {
                *expect.entry(w.to_string()).or_insert(0) += 1;
            }
        }
        let got = words(&red.text);
        let mut missing = 0usize;
        let mut extra = 0usize;
        for (w, c) in &expect {
            let g = got.get(w).copied().unwrap_or(0);
            if g < *c && !labels.iter().any(|l| l.split_whitespace().any(|x| x == w)) {
                missing += c - g;
            }
        }
        for (w, c) in &got {
            let e = expect.get(w).copied().unwrap_or(0);
            // label words may appear once per painted box (a mark can span lines)
            if *c > e && !labels.iter().any(|l| l.split_whitespace().any(|x| x == w)) {
                extra += c - e;
            }
        }
        if missing > 0 {
            problems.push(format!("{missing} words outside marks vanished or changed"));
        }
        if extra > 0 {
            problems.push(format!("{extra} unexpected words"));
        }
        // 3. kept glyphs in the same places (same order; label glyphs come last)
        let removed = removed_glyphs(orig, &marks);
        let kept: Vec<&super::Glyph> =
            orig.glyphs.iter().zip(&removed).filter(|(_, r)| r.is_none()).map(|(g, _)| g).collect();
        if red.glyphs.len() < kept.len() {
            problems.push(format!("{} glyphs lost", kept.len() - red.glyphs.len()));
        } else {
            let moved = kept
                .iter()
                .zip(&red.glyphs)
                .filter(|(a, b)| {
                    a.unicode != b.unicode || a.bbox.iter().zip(b.bbox.iter()).any(|(x, y)| (x - y).abs() > 0.5)
                })
                .count();
            if moved > 0 {
                problems.push(format!("{moved} glyphs moved or changed"));
            }
        }
        out.push(PageVerdict { index: orig.index, ok: problems.is_empty(), problems });
    }
    out
}

fn kind_of(e: &super::PdfError) -> String {
    let s = e.to_string();
    s.split(':').next().unwrap_or("error").to_string()
}
