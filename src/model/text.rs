//! Section bodies as plain text. HTML bodies (`body_format: html`) are converted to text with an
//! offset map back to the source, so a redaction found in the text can be located in the original.

/// A body converted to plain text, with `map[i]` = byte offset in the source of text byte `i`.
/// An empty map means the identity (a plain-text body), which keeps plain files small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainText {
    pub text: String,
    pub map: Vec<u32>,
}

impl PlainText {
    /// Plain text stays as it is (identity map, not stored).
    pub fn plain(s: &str) -> PlainText {
        PlainText { text: s.to_string(), map: Vec::new() }
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

const BLOCK_TAGS: &[&str] =
    &["p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section"];

/// Convert a small HTML body (paragraphs, breaks, lists, inline tags, entities) to text.
/// Block tags become line breaks, `<li>` a "- " bullet; entities are decoded; scripts and styles are dropped.
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
            if let Some(semi) = src[i..].find(';').filter(|&s| s <= 10) {
                let ent = &src[i + 1..i + semi];
                if let Some(c) = decode_entity(ent) {
                    let mut buf = [0u8; 4];
                    push(&mut text, &mut map, c.encode_utf8(&mut buf), i);
                    i += semi + 1;
                    continue;
                }
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
    PlainText { text: out, map: omap }
}

fn decode_entity(e: &str) -> Option<char> {
    if let Some(num) = e.strip_prefix('#') {
        let v = if let Some(h) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(h, 16).ok()?
        } else {
            num.parse().ok()?
        };
        return char::from_u32(v);
    }
    Some(match e {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "pound" => '£',
        "hellip" => '…',
        "shy" => '\u{00AD}',
        _ => return None,
    })
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
    fn plain_is_identity() {
        let pt = PlainText::plain("abc");
        assert!(pt.is_identity());
        assert_eq!(pt.source_offset(2), 2);
    }
}
