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
        for (i, c) in src.char_indices() {
            if c.is_whitespace() {
                if !in_ws {
                    text.push(' ');
                    map.push(i);
                    in_ws = true;
                }
                continue;
            }
            in_ws = false;
            let c = match c {
                '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' => '\'',
                '\u{2010}' | '\u{2011}' => '-',
                _ => c,
            };
            if c.is_ascii() {
                text.push(c.to_ascii_lowercase());
                map.push(i);
            } else {
                for lc in c.to_lowercase() {
                    let before = text.len();
                    text.push(lc);
                    for _ in before..text.len() {
                        map.push(i);
                    }
                }
            }
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
    }
}
