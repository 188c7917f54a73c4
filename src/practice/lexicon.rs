//! Words of a text and the practice policy's lexicons matched against them. A lexicon entry is a
//! word or a phrase matched whole-word in any case; a word ending in `*` matches any word that
//! starts with it. Texts are cut into words once (runs of letters and digits, so a hyphen or an
//! apostrophe separates words) and every lexicon walks the same words, so the cost grows with the
//! text, not with the lexicon. Quotation marks are found here too: words inside them are a
//! person's own words.

use crate::detect::Span;
use std::collections::HashMap;

/// A word of a text: its byte range and its lower-case form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    pub lower: String,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            out.push(Word { span: Span::new(s, i), lower: text[s..i].to_lowercase() });
        }
    }
    if let Some(s) = start {
        out.push(Word { span: Span::new(s, text.len()), lower: text[s..].to_lowercase() });
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pat {
    Exact(String),
    Prefix(String),
}

impl Pat {
    fn matches(&self, w: &str) -> bool {
        match self {
            Pat::Exact(p) => p == w,
            Pat::Prefix(p) => w.starts_with(p.as_str()),
        }
    }
}

/// A lexicon entry that is not usable, with why.
#[derive(Debug, PartialEq, Eq)]
pub struct BadEntry(pub String);

/// Cut a lexicon entry into word patterns. A `*` is allowed only at the end of a word.
fn patterns(entry: &str) -> Result<Vec<Pat>, BadEntry> {
    let mut out = Vec::new();
    for raw in entry.split(|c: char| !(c.is_alphanumeric() || c == '*')) {
        if raw.is_empty() {
            continue;
        }
        let lower = raw.to_lowercase();
        match lower.find('*') {
            None => out.push(Pat::Exact(lower)),
            Some(i) if i + 1 == lower.len() && i > 0 => out.push(Pat::Prefix(lower[..i].to_string())),
            Some(_) => return Err(BadEntry(format!("{entry:?}: a * may only end a word"))),
        }
    }
    if out.is_empty() {
        return Err(BadEntry(format!("{entry:?}: no word in it")));
    }
    Ok(out)
}

/// A match of a lexicon entry: the words `first..last` (inclusive) and the entry's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub span: Span,
    pub entry: usize,
}

/// A compiled list of words and phrases. Entries are grouped: several phrases may share an
/// entry index (the variants of one lexicon term).
#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    phrases: Vec<(Vec<Pat>, usize)>,
    /// Phrases by their first word when it is exact.
    by_first: HashMap<String, Vec<usize>>,
    /// Phrases whose first word is a prefix pattern.
    prefixed: Vec<usize>,
}

impl Lexicon {
    /// A lexicon where each string is its own entry.
    pub fn new<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Lexicon, BadEntry> {
        Lexicon::grouped(items.into_iter().enumerate().map(|(i, s)| (s, i)))
    }

    /// A lexicon of (phrase, entry index) pairs.
    pub fn grouped<'a>(items: impl IntoIterator<Item = (&'a str, usize)>) -> Result<Lexicon, BadEntry> {
        let mut lx = Lexicon::default();
        for (s, entry) in items {
            let pats = patterns(s)?;
            let k = lx.phrases.len();
            match &pats[0] {
                Pat::Exact(w) => lx.by_first.entry(w.clone()).or_default().push(k),
                Pat::Prefix(_) => lx.prefixed.push(k),
            }
            lx.phrases.push((pats, entry));
        }
        Ok(lx)
    }

    /// Whether the lexicon has no entries.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Every match in `words` (of `text`), longest first at each position, not overlapping.
    pub fn find(&self, words: &[Word]) -> Vec<Hit> {
        let mut out = Vec::new();
        if self.phrases.is_empty() {
            return out;
        }
        let mut i = 0;
        while i < words.len() {
            let mut best: Option<(usize, usize)> = None; // (length in words, phrase)
            let exact = self.by_first.get(&words[i].lower).map(|v| v.as_slice()).unwrap_or(&[]);
            for &k in exact.iter().chain(self.prefixed.iter()) {
                let pats = &self.phrases[k].0;
                if i + pats.len() > words.len() {
                    continue;
                }
                if pats.iter().zip(&words[i..]).all(|(p, w)| p.matches(&w.lower)) {
                    let better = match best {
                        None => true,
                        Some((len, bk)) => pats.len() > len || (pats.len() == len && k < bk),
                    };
                    if better {
                        best = Some((pats.len(), k));
                    }
                }
            }
            match best {
                Some((len, k)) => {
                    out.push(Hit {
                        span: Span::new(words[i].span.start(), words[i + len - 1].span.end()),
                        entry: self.phrases[k].1,
                    });
                    i += len;
                }
                None => i += 1,
            }
        }
        out
    }
}

/// The byte ranges of `text` inside quotation marks (the marks included). Double quotes (straight
/// or curly) pair up in order; a single quote opens only after a space, an opening bracket or the
/// start, before a letter, and closes only after a letter or punctuation and before a space,
/// punctuation or the end, so the apostrophes of "Tyler's" and "the Danbys' house" are not quotes.
/// A quote left open ends at the end of its paragraph.
pub fn quoted(text: &str) -> Vec<Span> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    // (byte offset, the closing mark wanted, the end of its paragraph)
    let mut open: Option<(usize, char, usize)> = None;
    let para_end = |from: usize| text[from..].find("\n\n").map(|e| from + e).unwrap_or(text.len());
    for (k, &(i, c)) in chars.iter().enumerate() {
        let prev = if k > 0 { Some(chars[k - 1].1) } else { None };
        let next = chars.get(k + 1).map(|x| x.1);
        if let Some((s, want, end)) = open {
            let closes = match want {
                '"' => c == '"',
                '\u{201d}' => c == '\u{201d}' || c == '"',
                '\'' | '\u{2019}' => {
                    (c == '\'' || c == '\u{2019}')
                        && prev.is_some_and(|p| !p.is_whitespace())
                        && next.is_none_or(|n| !n.is_alphanumeric())
                }
                _ => false,
            };
            if closes {
                out.push(Span::new(s, i + c.len_utf8()));
                open = None;
                continue;
            }
            if i >= end {
                out.push(Span::new(s, i));
                open = None;
            } else {
                continue;
            }
        }
        let opener_ok = prev.is_none_or(|p| p.is_whitespace() || matches!(p, '(' | '[' | '-' | '\u{2013}' | ':'));
        match c {
            '"' => open = Some((i, '"', para_end(i))),
            '\u{201c}' => open = Some((i, '\u{201d}', para_end(i))),
            '\'' | '\u{2018}' if opener_ok && next.is_some_and(|n| n.is_alphanumeric()) => {
                open = Some((i, '\'', para_end(i)));
            }
            _ => {}
        }
    }
    if let Some((s, _, end)) = open {
        out.push(Span::new(s, end));
    }
    out
}

/// Whether `span` lies inside one of `quotes` (sorted, not overlapping).
pub fn in_quotes(quotes: &[Span], span: &Span) -> bool {
    quotes.iter().any(|q| q.contains(span))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str, hits: &[Hit]) -> Vec<String> {
        hits.iter().map(|h| t[h.span.start()..h.span.end()].to_string()).collect()
    }

    #[test]
    fn words_split_on_hyphens_and_apostrophes() {
        let w: Vec<String> = words("Tyler's attention-seeking, 2-year").into_iter().map(|w| w.lower).collect();
        assert_eq!(w, ["tyler", "s", "attention", "seeking", "2", "year"]);
    }

    #[test]
    fn phrases_prefixes_and_longest_match() {
        let lx = Lexicon::new(["refused to engage", "refused", "disclos*", "self-harm*"]).unwrap();
        let t = "She Refused to  engage; he refused. Disclosure of SELF HARMING was made.";
        let hits = lx.find(&words(t));
        assert_eq!(texts(t, &hits), ["Refused to  engage", "refused", "Disclosure", "SELF HARMING"]);
        assert_eq!(hits.iter().map(|h| h.entry).collect::<Vec<_>>(), [0, 1, 2, 3]);
        // Whole words only.
        assert!(lx.find(&words("unrefused predisclosure")).is_empty());
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(Lexicon::new(["dis*close"]).is_err());
        assert!(Lexicon::new(["*"]).is_err());
        assert!(Lexicon::new(["  - "]).is_err());
    }

    #[test]
    fn quotes_and_apostrophes() {
        let t = "Ryan said Danielle 'provoked' him. Tyler's bike, the Danbys' house. She said \"he is manipulative\" and “fine”.";
        let q: Vec<&str> = quoted(t).iter().map(|s| &t[s.start()..s.end()]).collect();
        assert_eq!(q, ["'provoked'", "\"he is manipulative\"", "“fine”"]);
        // An unclosed quote ends with its paragraph.
        let t = "He said \"leave me alone\n\nNext paragraph";
        let q: Vec<&str> = quoted(t).iter().map(|s| &t[s.start()..s.end()]).collect();
        assert_eq!(q, ["\"leave me alone"]);
    }
}
