//! The manifest of a disclosure (what went in, what came out, which tool and policy) and the
//! check of an output folder: signature, signed range, manifest hashes and, with the case store,
//! a fresh leak check of the bundle against hashes of the removed text.

use super::{verify_pdf, SealError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::Path;

/// SHA-256 in lower-case hex.
pub fn sha256_hex(b: &[u8]) -> String {
    crate::import::hex(&Sha256::digest(b))
}

/// The part of the manifest that the signature covers (its hash is in the signature's /Reason).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestCore {
    pub tool: String,
    pub request: BTreeMap<String, String>,
    /// Inputs: the export JSON, each attachment and the policy file, by name -> SHA-256.
    pub inputs: BTreeMap<String, String>,
    /// Outputs other than the bundle, by file name -> SHA-256.
    pub outputs: BTreeMap<String, String>,
}

impl ManifestCore {
    /// The hash the signed bundle carries.
    pub fn hash(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).expect("manifest serialises"))
    }
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub core: ManifestCore,
    pub core_sha256: String,
    /// SHA-256 of bundle.pdf as written (signed, when signed).
    pub bundle_sha256: String,
    pub signed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_cert_sha256: Option<String>,
}

/// The words of a text, lower-cased, for leak comparison in any spacing.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// Hash of a run of words.
pub fn words_hash(w: &[String]) -> String {
    sha256_hex(w.join(" ").as_bytes())
}

/// Which of `runs` (each a run of lower-cased words, as [`words`] gives them) occur in `text` as
/// consecutive words. One pass over the text with a rolling hash per run length; a hash hit is
/// confirmed word by word. Memory is that of the runs, never of the text's words.
pub fn runs_found(text: &str, runs: &[Vec<String>]) -> Vec<bool> {
    const P: u64 = 0x100_0000_01b3;
    fn key(w: &str) -> u64 {
        // FNV-1a over the characters of a lower-cased word.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for c in w.chars() {
            h ^= c as u64;
            h = h.wrapping_mul(P);
        }
        h
    }
    // Lower-cased as `words` does it (whole words: a final capital sigma becomes ς, not σ);
    // plain lower-case ASCII words, the most, are not copied.
    fn lower(w: &str) -> std::borrow::Cow<'_, str> {
        if w.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            std::borrow::Cow::Borrowed(w)
        } else {
            std::borrow::Cow::Owned(w.to_lowercase())
        }
    }
    let roll = |keys: &mut dyn Iterator<Item = u64>| keys.fold(0u64, |r, k| r.wrapping_mul(P).wrapping_add(k));
    // Per length: rolling value -> the runs with it.
    let mut by_len: std::collections::BTreeMap<usize, HashMap<u64, Vec<usize>>> = Default::default();
    for (i, r) in runs.iter().enumerate() {
        if !r.is_empty() {
            let v = roll(&mut r.iter().map(|w| key(w)));
            by_len.entry(r.len()).or_default().entry(v).or_default().push(i);
        }
    }
    let mut found = vec![false; runs.len()];
    let Some(&longest) = by_len.keys().next_back() else { return found };
    // For each length: the rolling value over the last n words, and P^n to take the oldest out.
    // (length, rolling value, P^length, the runs of that length by rolling value)
    type State<'a> = (usize, u64, u64, &'a HashMap<u64, Vec<usize>>);
    let mut state: Vec<State<'_>> =
        by_len.iter().map(|(&n, m)| (n, 0u64, (0..n).fold(1u64, |p, _| p.wrapping_mul(P)), m)).collect();
    let mut last: std::collections::VecDeque<(std::borrow::Cow<'_, str>, u64)> =
        std::collections::VecDeque::with_capacity(longest + 1);
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let w = lower(w);
        let k = key(&w);
        last.push_front((w, k));
        for (n, r, pn, m) in state.iter_mut() {
            let out = last.get(*n).map(|x| x.1).unwrap_or(0);
            *r = r.wrapping_mul(P).wrapping_add(k).wrapping_sub(out.wrapping_mul(*pn));
            if last.len() < *n {
                continue;
            }
            let Some(cands) = m.get(r) else { continue };
            for &c in cands {
                if found[c] {
                    continue;
                }
                // the window, oldest word first, against the run
                let same = runs[c].iter().enumerate().all(|(j, rw)| last[*n - 1 - j].0 == rw.as_str());
                if same {
                    found[c] = true;
                }
            }
        }
        last.truncate(longest);
    }
    found
}

/// One check of `disclose verify` and whether it held.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Check an output folder: manifest hashes, the signature and its range. Leak checking against
/// the store is added by the caller (it owns the store).
pub fn verify_dir(dir: &Path, trusted_cert: Option<&[u8]>) -> Result<(Manifest, Vec<Check>), SealError> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| SealError::Pdf(format!("cannot read {name}: {}", e.kind())))
    };
    let m: Manifest = serde_json::from_slice(&read("manifest.json")?)
        .map_err(|e| SealError::Malformed(format!("manifest.json is not a disclose manifest (line {})", e.line())))?;
    let mut checks = Vec::new();
    let core_ok = m.core.hash() == m.core_sha256;
    checks.push(Check {
        name: "manifest".into(),
        ok: core_ok,
        detail: if core_ok {
            "the manifest's own hash holds".into()
        } else {
            "manifest.json was changed: its hash does not match".into()
        },
    });
    for (name, want) in &m.core.outputs {
        let got = std::fs::read(dir.join(name)).map(|b| sha256_hex(&b)).unwrap_or_default();
        let ok = &got == want;
        checks.push(Check {
            name: name.clone(),
            ok,
            detail: if ok {
                "hash matches the manifest".into()
            } else {
                "changed or missing: its hash does not match the manifest".into()
            },
        });
    }
    let bundle = read("bundle.pdf")?;
    let ok = sha256_hex(&bundle) == m.bundle_sha256;
    checks.push(Check {
        name: "bundle.pdf".into(),
        ok,
        detail: if ok {
            "hash matches the manifest".into()
        } else {
            "changed: its hash does not match the manifest".into()
        },
    });
    if m.signed {
        match verify_pdf(&bundle, trusted_cert) {
            Ok(r) => {
                checks.push(Check {
                    name: "signature".into(),
                    ok: r.digest_ok && r.signature_ok,
                    detail: format!(
                        "signed by {} ({}); digest {}, signature {}",
                        r.signer_cn,
                        r.sub_filter,
                        ok_word(r.digest_ok),
                        ok_word(r.signature_ok)
                    ),
                });
                checks.push(Check {
                    name: "signed range".into(),
                    ok: r.covers_whole_file,
                    detail: if r.covers_whole_file {
                        "covers the whole file".into()
                    } else {
                        "does not cover the whole file: something was appended after signing".into()
                    },
                });
                // The signature carries the manifest's hash, so the manifest is covered too.
                let needle = format!("manifest sha256 {}", m.core_sha256);
                let signed_part = &bundle[..r.byte_range[1].min(bundle.len())];
                let tail = &bundle[r.byte_range[2].min(bundle.len())..];
                let carries = contains(signed_part, needle.as_bytes()) || contains(tail, needle.as_bytes());
                checks.push(Check {
                    name: "manifest in signature".into(),
                    ok: carries,
                    detail: if carries {
                        "the signed bundle carries the manifest's hash".into()
                    } else {
                        "the signed bundle does not carry this manifest's hash".into()
                    },
                });
            }
            Err(e) => checks.push(Check { name: "signature".into(), ok: false, detail: e.to_string() }),
        }
    } else {
        checks.push(Check {
            name: "signature".into(),
            ok: true,
            detail: "not signed (exported without --sign-key)".into(),
        });
    }
    Ok((m, checks))
}

fn ok_word(b: bool) -> &'static str {
    if b {
        "valid"
    } else {
        "INVALID"
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn runs_are_found_in_any_case_and_spacing_and_only_whole() {
        let text = "Mum said HARVEY  Ingleby rang;\nthe worker (Amara) visited. Ingleby-Harvey";
        let runs = vec![
            run("Harvey Ingleby"),                                            // other case, double space
            run("ingleby rang the"),                                          // across punctuation and a line break
            run("amara"),                                                     // one word in brackets
            run("Harvey Ingleby visited"),                                    // not consecutive
            run("Inglebyrang"),                                               // words run together are not the words
            run("harv"),                                                      // part of a word
            run("ingleby harvey"),                                            // across a hyphen
            run("said harvey ingleby rang the worker amara visited ingleby"), // long run
            run("visited ingleby harvey x"),                                  // runs past the end
        ];
        let found = runs_found(text, &runs);
        assert_eq!(found, vec![true, true, true, false, false, false, true, true, false]);
        // Lower-cased by whole words, as `words` does: a final capital sigma is ς there.
        let runs = [run("ΠΑΠΑΣ"), vec!["παπασ".to_string()], run("Straße")];
        assert_eq!(run("ΠΑΠΑΣ"), vec!["παπας".to_string()]);
        let found = runs_found("Mr ΠΑΠΑΣ visited ΝΙΚΟΛΑΟΣ ΠΑΠΑΣ", &runs);
        assert_eq!(found, vec![true, false, false], "ς and σ are different words after lower-casing");
        let found = runs_found("Mr ΠΑΠΑΣ visited ΝΙΚΟΛΑΟΣ ΠΑΠΑΣ", &[run("ΝΙΚΟΛΑΟΣ ΠΑΠΑΣ")]);
        assert_eq!(found, vec![true]);
    }

    #[test]
    fn runs_found_agrees_with_hashing_every_window() {
        // The rolling search against the plain definition: hash every window of every length.
        let text = "a b c a b c d e a b a b c d e f g a";
        let w = words(text);
        let mut runs = Vec::new();
        for n in 1..=5 {
            for start in 0..(w.len() + 2 - n) {
                let mut r: Vec<String> = w.iter().skip(start).take(n).cloned().collect();
                if start % 3 == 0 {
                    r.push("z".into()); // a run that is not there
                }
                runs.push(r);
            }
        }
        let found = runs_found(text, &runs);
        for (r, f) in runs.iter().zip(found) {
            let expect = !r.is_empty() && w.windows(r.len()).any(|win| words_hash(win) == words_hash(r));
            assert_eq!(f, expect, "{r:?}");
        }
    }
}
