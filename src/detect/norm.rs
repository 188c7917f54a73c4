//! Text folded for matching, with an exact byte map back to the original. The same folding is
//! applied to the text and to every form in the case graph (`pattern`), so that spellings of one
//! name meet:
//!
//! - compatibility decomposition (NFKD, by the `unicode-normalization` crate), then combining marks
//!   dropped: "José", "Jose\u{301}" and "JOSÉ" all read "jose"; ligatures and full-width forms
//!   read as their letters ("ﬁ" is "fi");
//! - lower case (and "ß" as "ss");
//! - default-ignorable code points dropped: zero-width characters, bidi controls, variation
//!   selectors, soft hyphens ("Gw\u{200b}en" is "gwen");
//! - every run of white space (line breaks included) one space; curly apostrophes straight;
//! - a word hyphenated across a line break joined, whatever the case after the break
//!   ("Penhal-\nlow" and "MARWI-\nCK" read "penhallow", "marwick"). A hyphenated name broken at
//!   its own hyphen ("Okafor-\nMarwick") then reads "okaformarwick": the recognizers index every
//!   hyphenated form also without its hyphens, so both readings match.
//!
//! `map` and `ends` take each folded byte back to the original character it came from; characters
//! dropped right after it (a combining accent, a zero-width joiner) belong to it, so a match on
//! "jose" covers all of "Jose\u{301}" in the source.

pub use crate::model::text::is_invisible;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Folded text with a byte map back to the original.
pub struct Normalized {
    pub text: String,
    /// `map[i]` is the original byte offset where the character giving folded byte `i` starts;
    /// `map[len]` = original length.
    map: Vec<usize>,
    /// `ends[i]` is the original byte offset where that character ends, with the invisible
    /// characters and combining marks dropped right after it.
    ends: Vec<usize>,
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// After a hyphen at `j`: if only white space with a line break (and invisible characters)
/// follows, then a letter, the offset of that letter.
fn broken_word(src: &str, j: usize) -> Option<usize> {
    let mut newline = false;
    for (k, c) in src[j..].char_indices() {
        if is_line_break(c) {
            newline = true;
            continue;
        }
        if !(c.is_whitespace() || is_invisible(c)) {
            return (newline && c.is_alphabetic()).then_some(j + k);
        }
    }
    None
}

struct Builder {
    text: String,
    map: Vec<usize>,
    ends: Vec<usize>,
    in_ws: bool,
    /// Where the last character pushed starts in `text`.
    last: usize,
}

impl Builder {
    fn push(&mut self, c: char, start: usize, end: usize) {
        self.last = self.text.len();
        self.text.push(c);
        for _ in self.last..self.text.len() {
            self.map.push(start);
            self.ends.push(end);
        }
        self.in_ws = false;
    }

    fn space(&mut self, start: usize, end: usize) {
        if !self.in_ws {
            self.push(' ', start, end);
            self.in_ws = true;
        }
    }

    /// A dropped character at `[.., end)` belongs to the character before it.
    fn attach(&mut self, end: usize) {
        for e in &mut self.ends[self.last..] {
            *e = end;
        }
    }

    fn last_is_letter(&self) -> bool {
        self.text.chars().next_back().is_some_and(|c| c.is_alphabetic())
    }
}

impl Normalized {
    pub fn new(src: &str) -> Normalized {
        let mut b = Builder {
            text: String::with_capacity(src.len()),
            map: Vec::with_capacity(src.len() + 1),
            ends: Vec::with_capacity(src.len()),
            in_ws: false,
            last: 0,
        };
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            // ASCII fast path: most case text is ASCII.
            if c < 0x80 {
                if c == b'-' && b.last_is_letter() {
                    if let Some(next) = broken_word(src, i + 1) {
                        b.attach(next);
                        i = next;
                        continue;
                    }
                }
                if c.is_ascii_whitespace() || c == 0x0B {
                    b.space(i, i + 1);
                } else {
                    b.push(if c == b'`' { '\'' } else { c.to_ascii_lowercase() as char }, i, i + 1);
                }
                i += 1;
                continue;
            }
            let ch = src[i..].chars().next().expect("char boundary");
            let end = i + ch.len_utf8();
            if ch.is_whitespace() {
                b.space(i, end);
                i = end;
                continue;
            }
            if is_invisible(ch) {
                // A soft hyphen at a line end joins like a hyphen; anywhere else it is nothing.
                if ch == '\u{AD}' && b.last_is_letter() {
                    if let Some(next) = broken_word(src, end) {
                        b.attach(next);
                        i = next;
                        continue;
                    }
                }
                if !b.text.is_empty() {
                    b.attach(end);
                }
                i = end;
                continue;
            }
            let ch = match ch {
                '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
                '\u{2010}' | '\u{2011}' => '-',
                _ => ch,
            };
            if ch == '-' && b.last_is_letter() {
                if let Some(next) = broken_word(src, end) {
                    b.attach(next);
                    i = next;
                    continue;
                }
            }
            let mut pushed = false;
            decompose_compatible(ch, |d| {
                for l in d.to_lowercase() {
                    if is_combining_mark(l) || is_invisible(l) {
                        continue;
                    }
                    if l.is_whitespace() {
                        b.space(i, end);
                    } else if l == 'ß' {
                        b.push('s', i, end);
                        b.push('s', i, end);
                    } else {
                        b.push(if l == 'ς' { 'σ' } else { l }, i, end);
                    }
                    pushed = true;
                }
            });
            if !pushed && !b.text.is_empty() {
                // A combining mark after its letter ("e" + U+0301) belongs to that letter.
                b.attach(end);
            }
            i = end;
        }
        b.map.push(src.len());
        Normalized { text: b.text, map: b.map, ends: b.ends }
    }

    /// The original byte range of folded range `[s, e)`.
    pub fn original(&self, s: usize, e: usize, _src: &str) -> (usize, usize) {
        let os = self.map[s];
        let oe = if e > s { self.ends[e - 1] } else { os };
        (os, oe.max(os))
    }
}

/// Fold a pattern the same way (for building automata).
pub fn pattern(s: &str) -> String {
    Normalized::new(s.trim()).text.trim().to_string()
}

/// A folded pattern with some or all of its hyphens between letters left out ("okafor-marwick" ->
/// "okaformarwick"): the reading of a name broken at its hyphen across a line. At most three
/// hyphens are combined (seven variants); the pattern itself is not included.
pub fn unhyphenated(p: &str) -> Vec<String> {
    let at: Vec<usize> = p
        .char_indices()
        .filter(|&(k, c)| {
            c == '-'
                && p[..k].chars().next_back().is_some_and(|x| x.is_alphabetic())
                && p[k + 1..].chars().next().is_some_and(|x| x.is_alphabetic())
        })
        .map(|(k, _)| k)
        .take(3)
        .collect();
    let mut out = Vec::new();
    for mask in 1u32..(1 << at.len()) {
        let mut s = String::with_capacity(p.len());
        let mut from = 0;
        for (n, &k) in at.iter().enumerate() {
            if mask & (1 << n) != 0 {
                s.push_str(&p[from..k]);
                from = k + 1;
            }
        }
        s.push_str(&p[from..]);
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span<'a>(src: &'a str, n: &Normalized, needle: &str) -> &'a str {
        let s = n.text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {:?}", n.text));
        let (a, b) = n.original(s, s + needle.len(), src);
        &src[a..b]
    }

    #[test]
    fn maps_back_across_line_breaks() {
        let src = "Met Gwen\n  Aldous’s dog";
        let n = Normalized::new(src);
        assert_eq!(n.text, "met gwen aldous's dog");
        assert_eq!(span(src, &n, "gwen aldous"), "Gwen\n  Aldous");
        let n = Normalized::new("Mr Penhal-\nlow and Salt\u{ad}mouth");
        assert_eq!(n.text, "mr penhallow and saltmouth");
    }

    #[test]
    fn a_word_broken_at_a_line_end_is_joined_whatever_its_case() {
        // An upper-case surname split by a line break, as police logs print it.
        let src = "Suspect MARWI-\nCK arrested; Tyler Okafor-\n  Marwick seen; Salt\u{ad}\nmouth";
        let n = Normalized::new(src);
        assert_eq!(n.text, "suspect marwick arrested; tyler okaformarwick seen; saltmouth");
        assert_eq!(span(src, &n, "marwick arrested"), "MARWI-\nCK arrested");
        assert_eq!(span(src, &n, "okaformarwick"), "Okafor-\n  Marwick");
        // Not a broken word: a hyphen before a number, or with no line break.
        assert_eq!(Normalized::new("ages 3-\n5 and well-known").text, "ages 3- 5 and well-known");
        assert_eq!(unhyphenated("okafor-marwick"), vec!["okaformarwick"]);
        assert_eq!(unhyphenated("a-b c-d"), vec!["ab c-d", "a-b cd", "ab cd"]);
        assert!(unhyphenated("nb-12 2-3").is_empty());
    }

    #[test]
    fn accents_fold_and_map_back_to_every_code_point() {
        // Precomposed, decomposed (e + U+0301) and upper case all read "jose".
        for src in ["José rang", "Jose\u{301} rang", "JOSÉ rang", "JOSE\u{301}\u{200d} rang"] {
            let n = Normalized::new(src);
            assert_eq!(n.text, "jose rang", "{src:?}");
            let got = span(src, &n, "jose");
            assert_eq!(got, src.split(' ').next().unwrap(), "the match covers the accent: {src:?}");
        }
        assert_eq!(Normalized::new("Stra\u{df}e Gri\u{fb03}ths \u{ff2d}r").text, "strasse griffiths mr");
        assert_eq!(pattern(" Zo\u{eb} "), "zoe");
    }

    #[test]
    fn invisible_characters_are_folded_out() {
        let src = "Gw\u{200b}en Al\u{200d}do\u{2060}us and \u{202e}Ryan\u{202c} \u{feff}Okafor\u{200f}";
        let n = Normalized::new(src);
        assert_eq!(n.text, "gwen aldous and ryan okafor");
        assert_eq!(span(src, &n, "gwen aldous"), "Gw\u{200b}en Al\u{200d}do\u{2060}us");
        // The trailing mark belongs to the name it follows.
        assert_eq!(span(src, &n, "okafor"), "Okafor\u{200f}");
        for c in ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{200e}', '\u{202a}', '\u{2066}'] {
            assert!(is_invisible(c), "{:04x}", c as u32);
        }
        assert!(!is_invisible('a') && !is_invisible(' '));
    }
}
