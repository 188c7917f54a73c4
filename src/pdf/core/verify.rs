//! Verification: re-extract the redacted document with the same reader and compare with the
//! original text; then look through every object each page draws from for the removed words
//! ([`objects`]). Problems are reported as counts and kinds only, never text.

use super::{removed_glyphs, removed_spans, PageEdit, PageStatus, PageText, PageVerdict};
use aho_corasick::AhoCorasick;
use lopdf::{Document, Object, ObjectId};
use std::collections::{HashMap, HashSet};

fn alnum_lower(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect()
}

/// Counts of a set of words in texts, each word's occurrences counted without overlap, left to
/// right, as `str::match_indices` counts one word: one automaton for the words, one pass per
/// text, instead of a search per word (and a fold of the text per word).
struct Counter {
    ac: Option<AhoCorasick>,
    len: usize,
}

impl Counter {
    fn new(words: &[String]) -> Counter {
        let ac = (!words.is_empty()).then(|| AhoCorasick::new(words).expect("an automaton of a page's words"));
        Counter { ac, len: words.len() }
    }

    /// How often each word occurs in `hay`; texts joined by a character no word holds count as
    /// the sum of their counts.
    fn counts(&self, hay: &str) -> Vec<usize> {
        let mut counts = vec![0; self.len];
        let Some(ac) = &self.ac else { return counts };
        // overlapping matches come in order of their end; a word's occurrence counts when it
        // starts after the end of the last one counted (the leftmost non-overlapping ones)
        let mut last_end = vec![0usize; self.len];
        for m in ac.find_overlapping_iter(hay) {
            let w = m.pattern().as_usize();
            if m.start() >= last_end[w] {
                counts[w] += 1;
                last_end[w] = m.end();
            }
        }
        counts
    }
}

fn words(s: &str) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for w in s.split_whitespace() {
        *m.entry(w).or_insert(0) += 1;
    }
    m
}

pub fn verify(original: &[PageText], redacted: &Document, edits: &[PageEdit]) -> Vec<PageVerdict> {
    verify_with(original, redacted, edits, &super::interp::FontCache::default())
}

/// As [`verify`], reading the redacted document with `fonts` (fonts it holds, already loaded).
pub(crate) fn verify_with(
    original: &[PageText],
    redacted: &Document,
    edits: &[PageEdit],
    fonts: &super::interp::FontCache,
) -> Vec<PageVerdict> {
    let pages = match super::page_list(redacted) {
        Ok(p) => p,
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
    // the redacted pages, read in parallel (fonts loaded once for the document)
    let mut reads: Vec<Option<Result<super::PageText, super::PdfError>>> =
        super::scan_pages(redacted, &pages, true, fonts, |i, scan| super::layout::build(i, &scan))
            .into_iter()
            .map(Some)
            .collect();
    let mut out = Vec::new();
    for orig in original {
        let mut problems = Vec::new();
        let marks: Vec<super::Mark> =
            edits.iter().filter(|e| e.index == orig.index).flat_map(|e| e.marks.iter().cloned()).collect();
        let Some(read) = reads.get_mut(orig.index).and_then(|r| r.take()) else {
            out.push(PageVerdict { index: orig.index, ok: false, problems: vec!["page missing".into()] });
            continue;
        };
        let red = match read {
            Ok(v) => v,
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
        let spans = removed_spans(orig, &marks);
        let mut cut = String::with_capacity(orig.text.len());
        let mut pos = 0;
        let mut sorted: Vec<&std::ops::Range<usize>> = spans.iter().collect();
        sorted.sort_by_key(|m| m.start);
        for m in &sorted {
            let s = m.start.max(pos).min(orig.text.len());
            if orig.text.is_char_boundary(s) && orig.text.is_char_boundary(pos) && s >= pos {
                cut.push_str(&orig.text[pos..s]);
            }
            cut.push('\u{0}');
            pos = m.end.max(pos).min(orig.text.len());
        }
        if orig.text.is_char_boundary(pos) {
            cut.push_str(&orig.text[pos..]);
        }
        // each removed span's text, folded; the same words once in the automaton
        let mut needles: Vec<String> = Vec::new();
        let mut of_span: Vec<usize> = Vec::new();
        for m in &spans {
            let Some(t) = orig.text.get(m.clone()) else {
                problems.push("mark range invalid".into());
                continue;
            };
            let needle = alnum_lower(t);
            if needle.is_empty() {
                continue;
            }
            let k = match needles.iter().position(|n| *n == needle) {
                Some(k) => k,
                None => {
                    needles.push(needle);
                    needles.len() - 1
                }
            };
            of_span.push(k);
        }
        let counter = Counter::new(&needles);
        // '\0' is no letter or digit: no word matches across two texts joined by it
        let join = |parts: &mut dyn Iterator<Item = &str>| -> String {
            let mut s = String::new();
            for p in parts {
                s.push_str(&alnum_lower(p));
                s.push('\0');
            }
            s
        };
        let in_red = counter.counts(&alnum_lower(&red.text));
        let residual = counter.counts(&join(&mut cut.split('\0')));
        let in_labels = counter.counts(&join(&mut labels.iter().map(|l| l.as_str())));
        let leaked = of_span.iter().filter(|&&k| in_red[k] > residual[k] + in_labels[k]).count();
        if leaked > 0 {
            problems.push(format!("{leaked} marks still extractable"));
        }
        // 2. words outside marks unchanged (multiset), labels allowed
        let uncut = cut.replace('\0', " ");
        let mut expect = words(&uncut);
        let label_words: HashSet<&str> = labels.iter().flat_map(|l| l.split_whitespace()).collect();
        for l in &labels {
            for w in l.split_whitespace() {
                *expect.entry(w).or_insert(0) += 1;
            }
        }
        let got = words(&red.text);
        let mut missing = 0usize;
        let mut extra = 0usize;
        for (w, c) in &expect {
            let g = got.get(w).copied().unwrap_or(0);
            if g < *c && !label_words.contains(w) {
                missing += c - g;
            }
        }
        for (w, c) in &got {
            let e = expect.get(w).copied().unwrap_or(0);
            // label words may appear once per painted box (a mark can span lines)
            if *c > e && !label_words.contains(w) {
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

/// The words of removed text that the object check looks for: letters and digits, lower case, of
/// three characters or more (shorter ones are everywhere).
pub fn removed_words(original: &[PageText], edits: &[PageEdit]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for e in edits {
        let Some(p) = original.iter().find(|p| p.index == e.index) else { continue };
        for m in removed_spans(p, &e.marks) {
            let Some(t) = p.text.get(m) else { continue };
            for w in t.split(|c: char| !c.is_alphanumeric()) {
                let w: String = w.chars().flat_map(|c| c.to_lowercase()).collect();
                if w.chars().count() >= 3 && seen.insert(w.clone()) {
                    words.push(w);
                }
            }
        }
    }
    words
}

/// How an object was reached, which says how to read it.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// a dictionary or array: its strings are text
    Plain,
    /// a content stream: its comments and the strings of operators that show no text
    Content,
    /// a font dictionary or descriptor: names of fonts, not text (skipped, its streams followed)
    Font,
    /// a font program, a CMap or an image: binary, skipped
    Binary,
}

fn role_of(key: &[u8], obj: &Object, parent: Role) -> Role {
    let d = match obj {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    };
    let name = |k: &[u8]| d.and_then(|d| d.get(k).ok()).and_then(|o| o.as_name().ok());
    match key {
        b"FontFile" | b"FontFile2" | b"FontFile3" | b"ToUnicode" | b"Encoding" | b"CIDToGIDMap" | b"CIDSet" => {
            return Role::Binary
        }
        b"Contents" => return Role::Content,
        _ => {}
    }
    if parent == Role::Font && key == b"FontDescriptor" || matches!(name(b"Type"), Some(b"Font" | b"FontDescriptor")) {
        return Role::Font;
    }
    if name(b"Subtype") == Some(b"Image")
        || matches!(obj, Object::Stream(s) if s.dict.has(b"N") && !s.dict.has(b"Subtype"))
    {
        return Role::Binary; // images and ICC profiles
    }
    let tiling = d.and_then(|d| d.get(b"PatternType").ok()).and_then(|o| o.as_i64().ok()) == Some(1);
    if name(b"Subtype") == Some(b"Form") || tiling || parent == Role::Font && matches!(obj, Object::Stream(_)) {
        return Role::Content; // forms, pattern cells, Type3 glyph procedures
    }
    Role::Plain
}

fn folded(bytes: &[u8]) -> String {
    let text: String = if bytes.starts_with(&[0xfe, 0xff]) {
        let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
        char::decode_utf16(units).filter_map(|r| r.ok()).collect()
    } else {
        bytes.iter().map(|b| *b as char).collect()
    };
    alnum_lower(&text)
}

/// Walk the direct values of an object: strings to `texts` (unless a font's), names of resources
/// to `texts`, references to `next` with the role they are reached in.
fn walk(
    o: &Object,
    key: &[u8],
    role: Role,
    depth: usize,
    texts: &mut Vec<String>,
    next: &mut Vec<(ObjectId, Role, Vec<u8>)>,
) {
    if depth > 64 {
        return;
    }
    match o {
        Object::String(s, _) if role != Role::Font => texts.push(folded(s)),
        Object::Array(a) => a.iter().for_each(|x| walk(x, key, role, depth + 1, texts, next)),
        Object::Dictionary(d) => {
            // producers name resources after their sources ("/Im_<file name>"): those names count
            let resources = key == b"Resources";
            for (k, v) in d.iter() {
                if k == b"Parent" {
                    continue;
                }
                if resources
                    && [&b"XObject"[..], b"Font", b"ExtGState", b"Pattern", b"Shading", b"Properties", b"ColorSpace"]
                        .contains(&k.as_slice())
                {
                    if let Object::Dictionary(sub) = v {
                        texts.extend(sub.iter().map(|(n, _)| folded(n)));
                    }
                }
                walk(v, k, role, depth + 1, texts, next);
            }
        }
        Object::Stream(s) => walk(&Object::Dictionary(s.dict.clone()), key, role, depth + 1, texts, next),
        Object::Reference(id) => next.push((*id, role, key.to_vec())),
        _ => {}
    }
}

/// For each page, how many of the objects it draws from (its resources, content, forms, patterns,
/// fonts' glyph procedures, and what they refer to) still hold one of the removed `words`: in a
/// string, a resource's name, a content stream's comments or unshown strings, or the bytes of a
/// stream that is neither content, font nor image. Objects are read once for all pages.
pub fn objects(doc: &Document, pages: &[ObjectId], words: &[String]) -> Vec<usize> {
    if words.is_empty() {
        return vec![0; pages.len()];
    }
    // one automaton for all the words: a text holds one of them when it matches
    let ac = AhoCorasick::new(words).expect("an automaton of the removed words");
    let hit = |texts: &[String]| texts.iter().any(|t| ac.is_match(t));
    // per object: whether its own strings hold a removed word, and the objects it refers to
    type Walked = (bool, Vec<(ObjectId, Role, Vec<u8>)>);
    let mut cache: HashMap<ObjectId, Walked> = HashMap::new();
    let mut out = Vec::with_capacity(pages.len());
    for pid in pages {
        let mut seen: std::collections::HashSet<ObjectId> = std::collections::HashSet::new();
        let mut queue: Vec<(ObjectId, Role, Vec<u8>)> = vec![(*pid, Role::Plain, Vec::new())];
        let mut hits = 0;
        while let Some((id, parent, key)) = queue.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Ok(obj) = doc.get_object(id) else { continue };
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(id) {
                let role = if id == *pid { Role::Plain } else { role_of(&key, obj, parent) };
                let mut texts = Vec::new();
                let mut next = Vec::new();
                walk(obj, &key, role, 0, &mut texts, &mut next);
                if let Object::Stream(s) = obj {
                    let data = || super::font::stream_bytes(doc, obj).unwrap_or_else(|| s.content.clone());
                    match role {
                        Role::Content => texts.extend(super::lexer::unshown_strings(&data()).iter().map(|b| folded(b))),
                        Role::Plain => texts.push(folded(&data())),
                        Role::Font | Role::Binary => {}
                    }
                }
                // a page's other pages are not its objects
                next.retain(|(_, _, k)| k != b"Parent");
                slot.insert((hit(&texts), next));
            }
            let (h, next) = &cache[&id];
            hits += usize::from(*h);
            queue.extend(next.iter().cloned());
        }
        out.push(hits);
    }
    out
}
