//! `seal`: PAdES B-B signatures for finished PDF bundles, in pure Rust.
//!
//! * [`keygen`] makes a self-signed P-256 trial certificate;
//! * [`load_signer`] loads a private key + certificate and checks them *before*
//!   anything is written (key/cert match, validity at the request date, key usage);
//! * [`sign_pdf`] appends an incremental update holding an invisible signature field
//!   and a detached CAdES signature (`ETSI.CAdES.detached`), byte-reproducibly;
//! * [`verify_pdf`] checks the last signature of a file independently of how it was
//!   written (parses the file, recomputes the digest, verifies the CMS signature).
//!
//! When copied into the main crate this file becomes `seal/mod.rs` (module
//! `crate::seal`); `keys.rs`, `sign.rs` and `verify.rs` refer to it and to each other only
//! through `super::`, so they work unchanged in both places.
//!
//! Not supported (clear errors): encrypted PDFs, password-protected keys, PKCS#12 / DER
//! key files, EC curves other than P-256, RSA keys under 2048 bits, timestamps (B-T and
//! above), and verifying CMS with more than one SignerInfo.

mod keys;
pub mod manifest;
mod sign;
mod verify;

pub use keys::{keygen, load_signer, load_signer_pkcs12, self_signed_cert, Signer};
pub use sign::{sign_pdf, sign_pdf_in_place, SignOptions};
pub use verify::{verify_detached, verify_pdf, SigReport};

/// A detached CMS signature (DER) over `data`, as for a bundle (SHA-256, signing-certificate-v2,
/// no signing time): the manifest's own signature.
pub fn sign_detached(signer: &Signer, data: &[u8]) -> Result<Vec<u8>, SealError> {
    use sha2::Digest;
    sign::build_cms(signer, &sha2::Sha256::digest(data))
}

/// Bytes of DER reserved for the CMS signature inside `/Contents` (written as twice as
/// many hex digits).
pub const SIGNATURE_RESERVE: usize = 16 * 1024;

/// Everything that can go wrong while loading keys, signing or verifying.
/// Messages are lower case and say what to do about the problem.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the certificate does not belong to the signing key; pass the matching --sign-cert")]
    KeyMismatch,
    #[error("the signing certificate expired on {not_after} (before the request date {at}); renew the certificate or pass one valid on that date")]
    Expired { not_after: String, at: String },
    #[error("the signing certificate is not valid until {not_before} (after the request date {at}); pass a certificate valid on that date")]
    NotYetValid { not_before: String, at: String },
    #[error("cannot use the private key: {0}")]
    BadKey(String),
    #[error("cannot use the certificate: {0}")]
    BadCert(String),
    #[error("the certificate's key usage does not allow digital signatures ({0}); use a certificate issued for document signing (digitalSignature, ideally nonRepudiation)")]
    MissingKeyUsage(String),
    #[error("bad date or time {value:?}: expected {expected}")]
    BadDate { value: String, expected: &'static str },
    #[error("the signature ({needed} bytes) does not fit the reserved /Contents placeholder ({reserved} bytes); use a shorter certificate chain or raise the reserve")]
    PlaceholderTooSmall { needed: usize, reserved: usize },
    #[error("cannot sign this pdf: {0}")]
    Pdf(String),
    #[error("cannot check this folder: {0}; give the folder that `disclose export --out` wrote (it holds manifest.json and bundle.pdf)")]
    NotAnOutput(String),
    #[error("cannot build the signature: {0}")]
    Cms(String),
    #[error("no signature found: {0}")]
    NoSignature(String),
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    #[error("the embedded signer certificate is not the trusted certificate (embedded sha-256 {embedded}, trusted {trusted}); check that the file was signed with the expected certificate")]
    Untrusted { embedded: String, trusted: String },
}

/// Load a PDF's object structure without the data of its content streams: signing and checking
/// a signature need only dictionaries and arrays, and a large bundle's page contents would
/// otherwise be held a second time. Object streams and cross-reference streams are kept (the
/// reader needs them to find the objects inside).
pub(crate) fn load_structure(pdf: &[u8]) -> lopdf::Result<lopdf::Document> {
    fn keep_dictionary(id: lopdf::ObjectId, obj: &mut lopdf::Object) -> Option<(lopdf::ObjectId, lopdf::Object)> {
        // lopdf keeps the object as changed here, or (inside object streams) the one returned.
        if let lopdf::Object::Stream(s) = obj {
            if !s.dict.has_type(b"ObjStm") && !s.dict.has_type(b"XRef") {
                *obj = lopdf::Object::Dictionary(std::mem::take(&mut s.dict));
            }
        }
        Some((id, obj.clone()))
    }
    lopdf::Document::load_mem_with_options(pdf, lopdf::LoadOptions::with_filter(keep_dictionary))
}

/// Load only the objects that can be signature dictionaries (a /ByteRange and a /Contents):
/// what checking a signature needs, at a fraction of the memory of the whole structure.
pub(crate) fn load_signatures(pdf: &[u8]) -> lopdf::Result<lopdf::Document> {
    fn keep_signature(id: lopdf::ObjectId, obj: &mut lopdf::Object) -> Option<(lopdf::ObjectId, lopdf::Object)> {
        let keep = match obj {
            lopdf::Object::Stream(s) => s.dict.has_type(b"ObjStm") || s.dict.has_type(b"XRef"),
            lopdf::Object::Dictionary(d) => d.has(b"ByteRange") && d.has(b"Contents"),
            _ => false,
        };
        keep.then(|| (id, obj.clone()))
    }
    lopdf::Document::load_mem_with_options(pdf, lopdf::LoadOptions::with_filter(keep_signature))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Parses "YYYY-MM-DD" into (y, m, d) with range checks.
pub(crate) fn parse_date(s: &str) -> Result<(u16, u8, u8), SealError> {
    let bad = || SealError::BadDate { value: s.to_string(), expected: "YYYY-MM-DD" };
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, SealError> {
        let part = &s[r];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<u32>().map_err(|_| bad())
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1950..=9999).contains(&y) || d == 0 || d > dim {
        return Err(bad());
    }
    Ok((y as u16, m as u8, d as u8))
}
