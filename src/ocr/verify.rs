//! The check after pixel redaction: the redacted page is read again and every removed word that
//! can still be read there is reported, so that the caller withholds the page (fail closed).
//!
//! The page is read as a reader would see its images after redaction: every image on the page
//! that holds text is decoded again from the redacted document and read with Tesseract (see
//! [`super::read_page`]). Words are compared normalised (letters and digits only, lower case):
//! equal, one containing the other (four characters or more), or one edit apart (six or more).
//! An occurrence over a kept word of the same text (the same name kept elsewhere on the page) does
//! not count.

use super::{OcrError, OcrPage, Tesseract, Word};
use lopdf::Document;

/// Letters and digits only, lower case.
pub fn normalise(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect()
}

fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

/// Whether a word read on the page matches a removed word.
pub fn matches(removed: &str, read: &str) -> bool {
    let (r, w) = (normalise(removed), normalise(read));
    if r.is_empty() || w.is_empty() {
        return false;
    }
    r == w
        || (r.chars().count() >= 4 && w.contains(&r))
        || (w.chars().count() >= 4 && r.contains(&w) && w.chars().count() + 1 >= r.chars().count())
        || (r.chars().count() >= 6 && one_edit(&r, &w))
}

fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Indices into `removed` of the words still readable on the page as read in `page`.
pub fn readable_in(page: &OcrPage, removed: &[String], kept: &[Word]) -> Vec<usize> {
    removed
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            page.words.iter().any(|w| {
                matches(r, &w.text)
                    && !kept.iter().any(|k| normalise(&k.text) == normalise(&w.text) && overlaps(&k.bbox, &w.bbox))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Read page `index` of the redacted document again and return the indices of the `removed`
/// words still readable on it (`kept`: the words deliberately kept on the page, with boxes).
pub fn still_readable(
    tess: &Tesseract,
    redacted: &Document,
    index: usize,
    removed: &[String],
    kept: &[Word],
) -> Result<Vec<usize>, OcrError> {
    let page = super::read_page(tess, redacted, index)?;
    Ok(readable_in(&page, removed, kept))
}

/// As [`still_readable`], on the page as a reader sees it: the saved redacted PDF is rendered
/// (hayro, `dpi`) and the whole rendered page is read, so that anything drawn over or beside the
/// images (labels, other images, text) is read too.
pub fn still_readable_rendered(
    tess: &Tesseract,
    pdf: &[u8],
    index: usize,
    dpi: f32,
    removed: &[String],
    kept: &[Word],
) -> Result<Vec<usize>, OcrError> {
    let r = super::render::render_pages(pdf, &[index], dpi)?.remove(0);
    let words = super::read_image(tess, r.image, r.dpi as f64)?;
    let page = super::page_from_words(index, vec![r.placement], vec![], vec![words]);
    Ok(readable_in(&page, removed, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_comparison() {
        assert!(matches("Brannock", "BRANNOCK,"));
        assert!(matches("Brannock's", "Brannocks"));
        assert!(matches("Kiln", "Kiln-Lane"));
        assert!(matches("01632", "01632"));
        assert!(matches("Halvorsen", "Halvorseu"));
        assert!(matches("Halvorsen", "Halvorse"));
        assert!(!matches("Ann", "Annual"));
        assert!(!matches("Brannock", "Bran"));
        assert!(!matches("Gordon", "Garden"));
        assert!(!matches("", "x"));
    }
}
