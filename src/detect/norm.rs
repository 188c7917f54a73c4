//! Text normalised for matching: lower case, every run of white space (line breaks included) one
//! space, curly apostrophes straight. `map` takes each normalised byte back to the original, so a
//! match on "gwen aldous" finds "Gwen\nAldous" in the source.

/// Normalised text with a byte map back to the original.
pub struct Normalized {
    pub text: String,
    /// `map[i]` is the original byte offset of normalised byte `i`; `map[len]` = original length.
    pub map: Vec<usize>,
}

impl Normalized {
    pub fn new(src: &str) -> Normalized {
        let mut text = String::with_capacity(src.len());
        let mut map = Vec::with_capacity(src.len() + 1);
        let mut in_ws = false;
        let b = src.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            // ASCII fast path: most case text is ASCII.
            if c < 0x80 {
                // A word hyphenated across a line break: "Penhal-\nlow" reads "penhallow";
                // a hyphenated name broken after its hyphen, "Okafor-\nMarwick", keeps the hyphen.
                if c == b'-' {
                    let mut j = i + 1;
                    let mut newline = false;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        newline |= b[j] == b'\n';
                        j += 1;
                    }
                    if newline && j < b.len() && b[j].is_ascii_alphabetic() && i > 0 && b[i - 1].is_ascii_alphabetic() {
                        if b[j].is_ascii_lowercase() {
                            i = j;
                        } else {
                            text.push('-');
                            map.push(i);
                            i = j;
                        }
                        in_ws = false;
                        continue;
                    }
                }
                if c.is_ascii_whitespace() {
                    if !in_ws {
                        text.push(' ');
                        map.push(i);
                        in_ws = true;
                    }
                } else {
                    in_ws = false;
                    text.push(if c == b'`' { '\'' } else { c.to_ascii_lowercase() as char });
                    map.push(i);
                }
                i += 1;
                continue;
            }
            let ch = src[i..].chars().next().expect("char boundary");
            let len = ch.len_utf8();
            if ch.is_whitespace() {
                if !in_ws {
                    text.push(' ');
                    map.push(i);
                    in_ws = true;
                }
                i += len;
                continue;
            }
            in_ws = false;
            if ch == '\u{00AD}' {
                // A soft hyphen is invisible: "Salt\u{ad}mouth" is "saltmouth".
                i += len;
                continue;
            }
            let ch = match ch {
                '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
                '\u{2010}' | '\u{2011}' => '-',
                _ => ch,
            };
            for lc in ch.to_lowercase() {
                let before = text.len();
                text.push(lc);
                for _ in before..text.len() {
                    map.push(i);
                }
            }
            i += len;
        }
        map.push(src.len());
        Normalized { text, map }
    }

    /// The original byte range of normalised range `[s, e)`.
    pub fn original(&self, s: usize, e: usize, src: &str) -> (usize, usize) {
        let os = self.map[s];
        // End: the original position just after the last normalised char.
        let oe = if e == 0 {
            os
        } else {
            let last = self.map[e - 1];
            let ch = src[last..].chars().next().map(|c| c.len_utf8()).unwrap_or(0);
            last + ch
        };
        (os, oe.max(os))
    }
}

/// Normalise a pattern the same way (for building automata).
pub fn pattern(s: &str) -> String {
    Normalized::new(s.trim()).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_back_across_line_breaks() {
        let src = "Met Gwen\n  Aldous’s dog";
        let n = Normalized::new(src);
        assert_eq!(n.text, "met gwen aldous's dog");
        let s = n.text.find("gwen aldous").unwrap();
        let (a, b) = n.original(s, s + "gwen aldous".len(), src);
        assert_eq!(&src[a..b], "Gwen\n  Aldous");
        let n = Normalized::new("Mr Penhal-\nlow and Okafor-\n  Marwick, Salt\u{ad}mouth");
        assert_eq!(n.text, "mr penhallow and okafor-marwick, saltmouth");
    }
}
