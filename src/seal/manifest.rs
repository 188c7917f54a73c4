//! The manifest of a disclosure (what went in, what came out, which tool and policy) and the
//! check of an output folder: signature, signed range, manifest hashes and, with the case store,
//! a fresh leak check of the bundle against hashes of the removed text.

use super::{verify_pdf, SealError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
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
