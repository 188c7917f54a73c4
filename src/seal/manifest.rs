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

/// The part of the manifest that the bundle's signature covers (its hash is in the signature's
/// /Reason): what went in, what came out, and who sealed it. Deterministic: the same inputs,
/// policy and key give the same core.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestCore {
    pub tool: String,
    pub request: BTreeMap<String, String>,
    /// Inputs: the export JSON, each attachment and the policy file, by name -> SHA-256.
    pub inputs: BTreeMap<String, String>,
    /// Outputs other than the bundle, by file name -> SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Whether bundle.pdf is signed, and by whom (the certificate's common name and SHA-256).
    pub signed: bool,
    pub signer: Option<String>,
    pub signer_cert_sha256: Option<String>,
}

impl ManifestCore {
    /// The hash the signed bundle carries.
    pub fn hash(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).expect("manifest serialises"))
    }
}

/// The head of the audit trail when a release was made: its last entry's sequence number and
/// keyed hash (0 and all zeros for an empty trail).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

/// `manifest.json`. Every field is covered by a signature when the bundle is signed: the core by
/// the bundle's own signature (its hash is in the signature's /Reason), the rest (the core's
/// hash, the bundle's hash and the audit head) by `signature`, a detached CMS signature with the
/// same key over [`Manifest::release_bytes`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub core: ManifestCore,
    pub core_sha256: String,
    /// SHA-256 of bundle.pdf as written (signed, when signed).
    pub bundle_sha256: String,
    /// The audit trail's head before this release.
    pub audit_head: Option<AuditHead>,
    /// Hex DER of the detached CMS signature over [`Manifest::release_bytes`] (signed bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Manifest {
    /// A manifest, signed with `signer` when there is one.
    pub fn new(
        core: ManifestCore,
        bundle_sha256: String,
        audit_head: AuditHead,
        signer: Option<&super::Signer>,
    ) -> Result<Manifest, SealError> {
        let core_sha256 = core.hash();
        let mut m = Manifest { core, core_sha256, bundle_sha256, audit_head: Some(audit_head), signature: None };
        if let Some(s) = signer {
            m.signature = Some(super::hex_lower(&super::sign_detached(s, &m.release_bytes())?));
        }
        Ok(m)
    }

    /// The bytes the manifest's own signature covers: every field but the signature.
    pub fn release_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Release<'a> {
            core_sha256: &'a str,
            bundle_sha256: &'a str,
            audit_head: &'a Option<AuditHead>,
        }
        serde_json::to_vec(&Release {
            core_sha256: &self.core_sha256,
            bundle_sha256: &self.bundle_sha256,
            audit_head: &self.audit_head,
        })
        .expect("manifest serialises")
    }

    /// Whether the bundle is signed (as the manifest says).
    pub fn signed(&self) -> bool {
        self.core.signed
    }
}

/// The certificates `verify` trusts: `--trust PATH` (a PEM file of one or more certificates, or a
/// folder of them), else the path in `DISCLOSE_TRUST`.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// SHA-256 of each trusted certificate's DER.
    certs: Vec<String>,
}

/// The environment variable naming the trusted certificates when `--trust` is not given.
pub const TRUST_ENV: &str = "DISCLOSE_TRUST";

impl Trust {
    /// Load trusted certificates from a PEM file or a folder of PEM files.
    pub fn load(path: &Path) -> Result<Trust, SealError> {
        let shown = path.display();
        let mut files = Vec::new();
        if path.is_dir() {
            let rd = std::fs::read_dir(path)
                .map_err(|e| SealError::BadCert(format!("cannot read {shown}: {}", e.kind())))?;
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file() {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut certs = Vec::new();
        for f in &files {
            let b = std::fs::read(f)
                .map_err(|e| SealError::BadCert(format!("cannot read {}: {}", f.display(), e.kind())))?;
            for (label, der) in super::keys::pem_blocks(&b).unwrap_or_default() {
                if label == "CERTIFICATE" {
                    certs.push(sha256_hex(&der));
                }
            }
        }
        if certs.is_empty() {
            return Err(SealError::BadCert(format!("no PEM certificate found in {shown} to trust")));
        }
        Ok(Trust { certs })
    }

    /// Whether the certificate with this SHA-256 (of its DER) is trusted.
    pub fn trusts(&self, cert_sha256: &str) -> bool {
        self.certs.iter().any(|c| c == cert_sha256)
    }
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

/// Check an output folder: the manifest's hashes, the files against them, and the seal: a
/// signed bundle must carry exactly one signature, valid, covering the whole file, made with the
/// certificate the manifest names and that `trust` holds, and carrying the manifest's hash; the
/// manifest's own signature must hold with the same certificate. Without `trust` the signer is
/// unknown and the check fails. An unsigned bundle passes only if `store_checks` (the caller
/// checks the case store's record of the release instead) and no trust was asked for.
pub fn verify_dir(dir: &Path, trust: Option<&Trust>, store_checks: bool) -> Result<(Manifest, Vec<Check>), SealError> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| SealError::NotAnOutput(format!("cannot read {name} ({})", e.kind())))
    };
    let m: Manifest = serde_json::from_slice(&read("manifest.json")?)
        .map_err(|e| SealError::Malformed(format!("manifest.json is not a disclose manifest (line {})", e.line())))?;
    let mut checks = Vec::new();
    let mut check = |name: &str, ok: bool, detail: String| checks.push(Check { name: name.into(), ok, detail });
    let core_ok = m.core.hash() == m.core_sha256;
    check(
        "manifest",
        core_ok,
        if core_ok {
            "the manifest's own hash holds".into()
        } else {
            "manifest.json was changed: its hash does not match".into()
        },
    );
    for (name, want) in &m.core.outputs {
        let got = std::fs::read(dir.join(name)).map(|b| sha256_hex(&b)).unwrap_or_default();
        let ok = &got == want;
        check(
            name,
            ok,
            if ok {
                "hash matches the manifest".into()
            } else {
                "changed or missing: its hash does not match the manifest".into()
            },
        );
    }
    let bundle = read("bundle.pdf")?;
    let ok = sha256_hex(&bundle) == m.bundle_sha256;
    check(
        "bundle.pdf",
        ok,
        if ok { "hash matches the manifest".into() } else { "changed: its hash does not match the manifest".into() },
    );
    let report = verify_pdf(&bundle, None);
    if !m.core.signed {
        let carries = match &report {
            Ok(r) => r.signatures,
            Err(SealError::NoSignature(_)) => 0,
            Err(_) => 1,
        };
        let (ok, detail) = if carries > 0 {
            (
                false,
                "the manifest says unsigned but the bundle carries a signature: the manifest was changed".to_string(),
            )
        } else if trust.is_some() {
            (false, "the bundle is not signed, but a trusted signature was asked for (--trust)".to_string())
        } else if store_checks {
            (true, "not signed; the case store's record of the release is checked instead".to_string())
        } else {
            (
                false,
                "not signed, and no case store given: nothing shows who released it; pass --db (inside the council) or sign bundles with --sign-key".to_string(),
            )
        };
        check("signature", ok, detail);
        return Ok((m, checks));
    }
    let r = match report {
        Ok(r) => r,
        Err(e) => {
            check("signature", false, e.to_string());
            return Ok((m, checks));
        }
    };
    check(
        "signature",
        r.digest_ok && r.signature_ok,
        format!(
            "signed by {} ({}); digest {}, signature {}",
            r.signer_cn,
            r.sub_filter,
            ok_word(r.digest_ok),
            ok_word(r.signature_ok)
        ),
    );
    check(
        "signed range",
        r.covers_whole_file && r.signatures == 1,
        if r.signatures != 1 {
            format!("the bundle carries {} signatures: it was changed (signed again) after it was sealed", r.signatures)
        } else if r.covers_whole_file {
            "covers the whole file".into()
        } else {
            "does not cover the whole file: something was appended after signing".into()
        },
    );
    let named = m.core.signer_cert_sha256.as_deref() == Some(r.cert_sha256.as_str());
    let (ok, detail) = match trust {
        _ if !named => (
            false,
            format!("the bundle was signed with certificate {} but the manifest names another", &r.cert_sha256[..16]),
        ),
        None => (
            false,
            format!(
                "the signer is unknown: certificate {} is not in a trust store; pass the council's certificate with --trust (or {TRUST_ENV})",
                &r.cert_sha256[..16]
            ),
        ),
        Some(t) if t.trusts(&r.cert_sha256) => {
            (true, format!("certificate {} is trusted", &r.cert_sha256[..16]))
        }
        Some(_) => (
            false,
            format!("certificate {} is not one of the trusted certificates (--trust)", &r.cert_sha256[..16]),
        ),
    };
    check("signer", ok, detail);
    // The signature carries the manifest's hash, so the manifest's core is covered too.
    let needle = format!("manifest sha256 {}", m.core_sha256);
    let end = (r.byte_range[2] + r.byte_range[3]).min(bundle.len());
    let signed_part = &bundle[..r.byte_range[1].min(bundle.len())];
    let tail = &bundle[r.byte_range[2].min(end)..end];
    let carries = contains(signed_part, needle.as_bytes()) || contains(tail, needle.as_bytes());
    check(
        "manifest in signature",
        carries,
        if carries {
            "the signed bundle carries the manifest's hash".into()
        } else {
            "the signed bundle does not carry this manifest's hash".into()
        },
    );
    let own = m.signature.as_deref().and_then(hex_decode).map(|der| super::verify_detached(&der, &m.release_bytes()));
    let (ok, detail) = match own {
        None => (false, "the manifest's own signature is missing or not hex".to_string()),
        Some(Err(e)) => (false, format!("the manifest's own signature: {e}")),
        Some(Ok((valid, sha, _))) if valid && sha == r.cert_sha256 => {
            (true, "the manifest's release record (bundle hash, audit head) is signed with the same key".to_string())
        }
        Some(Ok((true, _, _))) => {
            (false, "the manifest was signed with another certificate than the bundle".to_string())
        }
        Some(Ok(_)) => (false, "the manifest's own signature does not hold: the manifest was changed".to_string()),
    };
    check("manifest signature", ok, detail);
    Ok((m, checks))
}

fn hex_decode(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex checked")).collect())
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
