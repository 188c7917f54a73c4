//! Section bodies as plain text. HTML bodies (`body_format: html`) are converted to text with an
//! offset map back to the source, so a redaction found in the text can be located in the original.
//! Every body is in Unicode normalisation form C (composed), whatever form it was typed in.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfc, UnicodeNormalization};

/// A body converted to plain text, with `map[i]` = byte offset in the source of text byte `i`.
/// An empty map means the identity (a plain-text body), which keeps plain files small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainText {
    pub text: String,
    pub map: Vec<u32>,
}

impl PlainText {
    /// Plain text stays as it is (identity map, not stored), unless it is not in NFC: then it is
    /// composed, with a map back to the source.
    pub fn plain(s: &str) -> PlainText {
        if is_nfc(s) {
            return PlainText { text: s.to_string(), map: Vec::new() };
        }
        let map = (0..s.len() as u32).collect();
        let (text, map) = nfc_mapped(s.to_string(), map);
        PlainText { text, map }
    }

    /// Whether the text is the source itself.
    pub fn is_identity(&self) -> bool {
        self.map.is_empty()
    }

    /// Where text byte `i` came from in the source body.
    pub fn source_offset(&self, i: usize) -> usize {
        if self.is_identity() {
            return i;
        }
        self.map.get(i).map(|&o| o as usize).unwrap_or_else(|| self.map.last().map(|&o| o as usize + 1).unwrap_or(0))
    }
}

/// Whether `c` is a default-ignorable code point (Unicode DerivedCoreProperties.txt,
/// Default_Ignorable_Code_Point): drawn as nothing (zero-width characters, bidi controls,
/// variation selectors, soft hyphens), so a name with one inside looks the same to a reader.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// A recorded value made safe to print on a terminal: control characters (C0, DEL, C1, ESC
/// included), line and paragraph separators, bidi controls and other invisible characters are
/// written as `\u{..}` escapes, so a value can neither drive the terminal nor hide or reorder
/// what is shown. Other text is unchanged.
pub fn escape_for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() || is_invisible(c) || matches!(c, '\u{2028}' | '\u{2029}');
    if !s.chars().any(bad) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

const BLOCK_TAGS: &[&str] =
    &["p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section"];

/// Convert a small HTML body (paragraphs, breaks, lists, inline tags, entities) to text.
/// Block tags become line breaks, `<li>` a "- " bullet; every named and numeric character reference
/// is decoded as the HTML standard reads it; scripts and styles are dropped.
pub fn html_to_text(src: &str) -> PlainText {
    let mut text = String::new();
    let mut map: Vec<u32> = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    let mut skip_until: Option<&str> = None;
    let push = |text: &mut String, map: &mut Vec<u32>, s: &str, at: usize| {
        text.push_str(s);
        map.extend(std::iter::repeat_n(at as u32, s.len()));
    };
    while i < b.len() {
        if b[i] == b'<' {
            let end = match src[i..].find('>') {
                Some(e) => i + e,
                None => {
                    // A lone '<' is text.
                    if skip_until.is_none() {
                        push(&mut text, &mut map, "<", i);
                    }
                    i += 1;
                    continue;
                }
            };
            let inner = src[i + 1..end].trim();
            let closing = inner.starts_with('/');
            let name: String = inner
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(stop) = skip_until {
                if closing && name == stop {
                    skip_until = None;
                }
                i = end + 1;
                continue;
            }
            if !closing && (name == "script" || name == "style") {
                skip_until = Some(if name == "script" { "script" } else { "style" });
            } else if BLOCK_TAGS.contains(&name.as_str()) {
                let need_break = !text.is_empty() && !text.ends_with('\n');
                if name == "br" || need_break {
                    push(&mut text, &mut map, "\n", i);
                }
                if name == "p" && closing {
                    push(&mut text, &mut map, "\n", i);
                }
                if name == "li" && !closing {
                    push(&mut text, &mut map, "- ", i);
                }
            }
            i = end + 1;
            continue;
        }
        if skip_until.is_some() {
            i += 1;
            continue;
        }
        if b[i] == b'&' {
            if let Some((len, expansion)) = char_ref(&src[i..]) {
                // A no-break space is a space to the reader and to the sentence splitter.
                let expansion = if expansion == "\u{a0}" { " ".into() } else { expansion };
                push(&mut text, &mut map, &expansion, i);
                i += len;
                continue;
            }
        }
        let ch = src[i..].chars().next().unwrap_or(' ');
        let l = ch.len_utf8();
        if ch == '\n' || ch == '\r' || ch == '\t' {
            // HTML whitespace collapses to a space.
            if !text.ends_with([' ', '\n']) && !text.is_empty() {
                push(&mut text, &mut map, " ", i);
            }
        } else {
            text.push(ch);
            for k in 0..l {
                map.push((i + k) as u32);
            }
        }
        i += l;
    }
    // Trim trailing whitespace and collapse 3+ newlines.
    while text.ends_with(['\n', ' ']) {
        text.pop();
        map.pop();
    }
    let mut out = String::new();
    let mut omap = Vec::new();
    let mut nl = 0;
    for (idx, ch) in text.char_indices() {
        if ch == '\n' {
            nl += 1;
            if nl > 2 {
                continue;
            }
        } else {
            nl = 0;
        }
        out.push(ch);
        for k in 0..ch.len_utf8() {
            omap.push(map[idx + k]);
        }
    }
    let (text, map) = nfc_mapped(out, omap);
    PlainText { text, map }
}

/// The HTML character reference at the start of `s` (which starts with `&`), as the WHATWG parser
/// reads it in text: how many bytes it takes and what it stands for. Named references come from
/// htmlize's copy of the standard's table (all 2,231, with the legacy ones that need no `;`; the
/// longest match wins, so `&notit;` is `¬` and `it;`); numeric ones are parsed here and expanded
/// by htmlize, which applies the standard's corrections (`&#150;` is `–`, `&#0;` is U+FFFD).
/// `None` when `&` starts no reference.
fn char_ref(s: &str) -> Option<(usize, std::borrow::Cow<'_, str>)> {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let hex = matches!(b.get(2), Some(b'x' | b'X'));
        let from = if hex { 3 } else { 2 };
        let digits =
            b[from..].iter().take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }).count();
        if digits == 0 {
            return None;
        }
        let mut end = from + digits;
        if b.get(end) == Some(&b';') {
            end += 1;
        }
        return Some((end, htmlize::unescape(&s[..end])));
    }
    let max = htmlize::ENTITY_MAX_LENGTH.min(s.len());
    (htmlize::ENTITY_MIN_LENGTH..=max).rev().find_map(|len| {
        let v = htmlize::ENTITIES.get(&b[..len])?;
        Some((len, std::borrow::Cow::Borrowed(std::str::from_utf8(v).ok()?)))
    })
}

/// `text` in Unicode normalisation form C (composed: "e" + U+0301 becomes "é"), with `map` carried
/// over: every byte of a composed character maps where its first source character came from.
/// Bodies are shown, printed and searched in NFC, the form PDF readers and fonts expect.
fn nfc_mapped(text: String, map: Vec<u32>) -> (String, Vec<u32>) {
    if is_nfc(&text) {
        return (text, map);
    }
    let mut out = String::with_capacity(text.len());
    let mut omap = Vec::with_capacity(map.len());
    // Runs that start at an ASCII character normalise independently: an ASCII character never
    // composes with what comes before it.
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < text.len() {
        let mut end = start + text[start..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        while end < text.len() && !bytes[end].is_ascii() {
            end += text[end..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        }
        let run = &text[start..end];
        if is_nfc(run) {
            out.push_str(run);
            omap.extend_from_slice(&map[start..end]);
        } else {
            // Finer: each starter with its marks, when that composes the same as the whole run.
            let mut pieces: Vec<(usize, usize)> = Vec::new();
            for (k, c) in run.char_indices() {
                if k == 0 || canonical_combining_class(c) == 0 {
                    pieces.push((start + k, start + k));
                }
                if let Some(p) = pieces.last_mut() {
                    p.1 = start + k + c.len_utf8();
                }
            }
            let whole: String = run.nfc().collect();
            let parts: Vec<String> = pieces.iter().map(|&(a, b)| text[a..b].nfc().collect()).collect();
            if parts.concat() == whole {
                for (&(a, _), part) in pieces.iter().zip(&parts) {
                    out.push_str(part);
                    omap.extend(std::iter::repeat_n(map[a], part.len()));
                }
            } else {
                out.push_str(&whole);
                omap.extend(std::iter::repeat_n(map[start], whole.len()));
            }
        }
        start = end;
    }
    (out, omap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_converts_with_offsets() {
        let src = "<p>Mum &amp; Dad</p><p>Tom&#39;s <b>bike</b></p><ul><li>one</li><li>two</li></ul>";
        let pt = html_to_text(src);
        assert_eq!(pt.text, "Mum & Dad\n\nTom's bike\n\n- one\n- two");
        assert_eq!(pt.text.len(), pt.map.len());
        let t = pt.text.find("bike").unwrap();
        assert_eq!(&src[pt.source_offset(t)..pt.source_offset(t) + 4], "bike");
        let a = pt.text.find('&').unwrap();
        assert_eq!(&src[pt.source_offset(a)..pt.source_offset(a) + 5], "&amp;");
    }

    #[test]
    fn every_character_reference_decodes_and_maps_to_its_ampersand() {
        let rows: &[(&str, &str)] = &[
            ("Ren&eacute;e", "Renée"),
            ("Ren&eacutee", "Renée"), // a legacy name needs no semicolon
            ("&Eacute;LODIE", "ÉLODIE"),
            ("Fran&ccedil;ois", "François"),
            ("Zo&euml; &amp; Se&aacute;n", "Zoë & Seán"),
            ("&NotNestedGreaterGreater; &nGg;", "\u{2aa2}\u{338} \u{22d9}\u{338}"),
            ("&notit;", "¬it;"), // the longest name that matches wins
            ("Jos&#233; Jos&#xE9; Jos&#XE9 &#x1F600;", "José José José \u{1f600}"),
            ("&#150; &#0; &#xD800; &#1114112;", "– \u{fffd} \u{fffd} \u{fffd}"),
            ("AT&T &bogus; &#; &#x; & alone", "AT&T &bogus; &#; &#x; & alone"),
            ("a&nbsp;b&NonBreakingSpace;c", "a b c"),
            ("&ZeroWidthSpace;&zwj;", "\u{200b}\u{200d}"),
        ];
        for (src, want) in rows {
            let pt = html_to_text(src);
            assert_eq!(&pt.text, want, "{src:?}");
            assert_eq!(pt.text.len(), pt.map.len());
        }
        // Each decoded character maps back to the ampersand of its reference.
        let src = "<p>Ren&eacute;e L&#xE9;a</p>";
        let pt = html_to_text(src);
        assert_eq!(pt.text, "Renée Léa");
        let e = pt.text.find('é').unwrap();
        assert_eq!(&src[pt.source_offset(e)..pt.source_offset(e) + 8], "&eacute;");
        assert_eq!(&src[pt.source_offset(e + 1)..pt.source_offset(e + 1) + 8], "&eacute;");
        let l = pt.text.rfind('é').unwrap();
        assert_eq!(&src[pt.source_offset(l)..pt.source_offset(l) + 6], "&#xE9;");
        assert_eq!(&src[pt.source_offset(l + 2)..pt.source_offset(l + 2) + 1], "a");
    }

    #[test]
    fn bodies_are_composed_with_the_map_kept() {
        // Typed decomposed (e + U+0301): composed for output, each byte still maps to its source.
        let src = "Jose\u{301} and Zoe\u{308} came";
        let pt = PlainText::plain(src);
        assert_eq!(pt.text, "José and Zoë came");
        assert!(!pt.is_identity());
        let e = pt.text.find('é').unwrap();
        assert_eq!(pt.source_offset(e), 3);
        assert_eq!(pt.source_offset(e + 1), 3);
        let and = pt.text.find("and").unwrap();
        assert_eq!(&src[pt.source_offset(and)..pt.source_offset(and) + 3], "and");
        let came = pt.text.find("came").unwrap();
        assert_eq!(&src[pt.source_offset(came)..], "came");
        // The same through HTML, with a numeric reference for the accent.
        let src = "<p>Jose&#769; rang</p>";
        let pt = html_to_text(src);
        assert_eq!(pt.text, "José rang");
        assert_eq!(pt.source_offset(pt.text.find('é').unwrap()), src.find("e&").unwrap());
        // Already composed: the identity, nothing stored.
        assert!(PlainText::plain("José").is_identity());
    }

    #[test]
    fn plain_is_identity() {
        let pt = PlainText::plain("abc");
        assert!(pt.is_identity());
        assert_eq!(pt.source_offset(2), 2);
    }
}
