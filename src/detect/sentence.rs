//! Sentence boundaries, for rules that withhold "every sentence that mentions" a person.

use super::Span;

const ABBREV: &[&str] = &[
    "mr", "mrs", "ms", "dr", "mx", "st", "no", "e.g", "i.e", "etc", "approx", "tel", "ref", "dc", "ds", "pc", "sgt",
    "vs",
];

/// The sentences of `text` as spans (trimmed of surrounding white space).
pub fn sentences(text: &str) -> Vec<Span> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let mut end_here = None;
        if c == b'\n' && i + 1 < b.len() && (b[i + 1] == b'\n' || field_label(&text[i + 1..])) {
            // A blank line, or a new line that starts a form field ("Subject children: ..."):
            // forms have no full stops, and one field is one sentence.
            end_here = Some(i);
        } else if c == b'.' || c == b'!' || c == b'?' {
            // Include closing quotes/brackets.
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'\'' | b'"' | b')') {
                j += 1;
            }
            let at_end = j >= b.len();
            let followed = at_end || b[j].is_ascii_whitespace();
            if followed {
                let word_start =
                    text[..i].rfind(|ch: char| ch.is_whitespace() || ch == '(').map(|k| k + 1).unwrap_or(0);
                let word = text[word_start..i].to_ascii_lowercase();
                let is_abbrev = c == b'.'
                    && (ABBREV.contains(&word.as_str())
                        || (word.len() == 1 && word.chars().all(|ch| ch.is_alphabetic())));
                let next_upper = at_end || text[j..].trim_start().chars().next().is_some_and(|ch| !ch.is_lowercase());
                if !is_abbrev && next_upper {
                    end_here = Some(j);
                }
            }
        }
        if let Some(e) = end_here {
            push(text, start, e, &mut out);
            start = e;
        }
        i += 1;
    }
    push(text, start, b.len(), &mut out);
    out
}

/// Whether a line starts like a form field: a capitalised label of up to five words and a colon.
fn field_label(line: &str) -> bool {
    let line = line.trim_start_matches([' ', '\t']);
    let Some(colon) = line.find(':') else { return false };
    let label = &line[..colon];
    label.chars().next().is_some_and(|c| c.is_uppercase())
        && label.len() <= 40
        && label.split_whitespace().count() <= 5
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '\'' || c == '/' || c == '-' || c == '(' || c == ')')
}

fn push(text: &str, s: usize, e: usize, out: &mut Vec<Span>) {
    let seg = &text[s..e];
    let lead = seg.len() - seg.trim_start().len();
    let trail = seg.len() - seg.trim_end().len();
    if seg.trim().is_empty() {
        return;
    }
    out.push(Span::new(s + lead, e - trail));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences() {
        let t = "Mr. Okafor came. Dr Kaur said 'no.' Then R. Smith left! Done";
        let s: Vec<&str> = sentences(t).iter().map(|sp| &t[sp.start()..sp.end()]).collect();
        assert_eq!(s, vec!["Mr. Okafor came.", "Dr Kaur said 'no.'", "Then R. Smith left!", "Done"]);
        let t = "Suspect: Ryan Okafor\nSubject children: Leah\nCircumstances: officers attended\nthe address";
        let s: Vec<&str> = sentences(t).iter().map(|sp| &t[sp.start()..sp.end()]).collect();
        assert_eq!(
            s,
            vec!["Suspect: Ryan Okafor", "Subject children: Leah", "Circumstances: officers attended\nthe address"]
        );
    }
}
