//! Check digits and canonical forms of UK identifiers. Used by the importer (to reject bad
//! values) and by detection (to recognise identifiers in free text in any spacing).

/// NHS number: 10 digits, modulus 11 check (weights 10..2; 11 -> 0; 10 is invalid).
pub fn nhs_valid(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter(|c| !c.is_whitespace() && *c != '-').map_while(|c| c.to_digit(10)).collect();
    let digits_only = s.chars().filter(|c| !c.is_whitespace() && *c != '-').count();
    if d.len() != 10 || digits_only != 10 {
        return false;
    }
    let sum: u32 = d[..9].iter().enumerate().map(|(i, v)| v * (10 - i as u32)).sum();
    let check = match 11 - (sum % 11) {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == d[9]
}

const UPN_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// UPN: 13 characters, a check letter then 12 characters (digits, the last may be a letter for a
/// temporary UPN); the check letter is the DfE modulus 23 over positions 2..13 weighted 2..13.
pub fn upn_valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 13 || !b[0].is_ascii_uppercase() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in b[1..].iter().enumerate() {
        let v = if c.is_ascii_digit() {
            (c - b'0') as u32
        } else if i == 11 && c.is_ascii_uppercase() {
            match UPN_LETTERS.iter().position(|&l| l == c) {
                Some(p) => p as u32,
                None => return false,
            }
        } else {
            return false;
        };
        sum += v * (i as u32 + 2);
    }
    UPN_LETTERS[(sum % 23) as usize] == b[0]
}

/// NI number: two prefix letters (not D F I Q U V in either place... except the QQ
/// reserved for examples, which synthetic data uses), six digits, suffix A-D.
pub fn ni_valid(s: &str) -> bool {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let b = c.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let ok_prefix = b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && !b"DFIUV".contains(&b[0])
        && !b"DFIOUV".contains(&b[1])
        && !matches!(&c[..2], "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ");
    ok_prefix && b[2..8].iter().all(|x| x.is_ascii_digit()) && matches!(b[8], b'A'..=b'D')
}

/// The canonical form used to compare identifiers written in different spacings:
/// upper case, with spaces, hyphens, dots and slashes removed.
pub fn canonical(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A UK phone number in its national form (digits, leading 0), from any written form:
/// `07700 900417`, `07700-900-417`, `+44 7700 900417`, `+44 (0)7700 900417`, `0044 7700...`.
pub fn phone_national(s: &str) -> Option<String> {
    let t = s.replace("(0)", "");
    let mut digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let plus = t.trim_start().starts_with('+');
    if plus || digits.starts_with("0044") {
        let rest = if plus { digits.strip_prefix("44")? } else { digits.strip_prefix("0044")? };
        digits = format!("0{rest}");
    }
    if digits.starts_with('0') && (10..=11).contains(&digits.len()) {
        Some(digits)
    } else {
        None
    }
}

/// A UK postcode in canonical form (`NB112HF`) if `s` is shaped like one.
pub fn postcode_canonical(s: &str) -> Option<String> {
    let c = canonical(s);
    let b = c.as_bytes();
    if !(5..=7).contains(&b.len()) {
        return None;
    }
    let (out, inward) = b.split_at(b.len() - 3);
    let inward_ok = inward[0].is_ascii_digit() && inward[1].is_ascii_alphabetic() && inward[2].is_ascii_alphabetic();
    let out_ok = out[0].is_ascii_alphabetic() && out.iter().any(|x| x.is_ascii_digit());
    if inward_ok && out_ok {
        Some(c)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs() {
        assert!(nhs_valid("9990001014"));
        assert!(nhs_valid("999 000 1014"));
        assert!(!nhs_valid("9990001015"));
        assert!(!nhs_valid("999000101"));
        assert!(!nhs_valid("99900010145"));
    }

    #[test]
    fn upn() {
        assert!(upn_valid("N999210115417"));
        assert!(upn_valid("W999210119418"));
        assert!(!upn_valid("A999210115417"));
        assert!(!upn_valid("N99921011541"));
    }

    #[test]
    fn ni() {
        assert!(ni_valid("QQ123456A"));
        assert!(ni_valid("QQ 12 34 56 A"));
        assert!(!ni_valid("QQ123456E"));
        assert!(!ni_valid("DQ123456A"));
    }

    #[test]
    fn phones_and_postcodes() {
        assert_eq!(phone_national("+44 7700 900417").as_deref(), Some("07700900417"));
        assert_eq!(phone_national("07700 900417").as_deref(), Some("07700900417"));
        assert_eq!(phone_national("+44 (0)1632 960733").as_deref(), Some("01632960733"));
        assert_eq!(postcode_canonical("NB11 2HF").as_deref(), Some("NB112HF"));
        assert_eq!(postcode_canonical("nb112hf").as_deref(), Some("NB112HF"));
        assert!(postcode_canonical("hello").is_none());
    }
}
