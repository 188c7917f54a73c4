//! Independent verification of the last signature in a PDF.

use super::keys::{common_name, parse_cert};
use super::{hex_lower, SealError};

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::db::{rfc5911, rfc5912};
use const_oid::ObjectIdentifier;
use der::asn1::OctetStringRef;
use der::{Decode, Encode, Tagged};
use lopdf::Object;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;

/// What [`verify_pdf`] found out about the last signature of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigReport {
    /// The signature's `/ByteRange`.
    pub byte_range: [usize; 4],
    /// The second range ends at the end of the file (nothing was appended after signing).
    pub covers_whole_file: bool,
    /// The recomputed digest of the byte ranges equals the signed message-digest attribute.
    pub digest_ok: bool,
    /// The signature over the signed attributes verifies with the embedded certificate's key.
    pub signature_ok: bool,
    /// The embedded signer certificate's subject commonName.
    pub signer_cn: String,
    /// Lower-case hex SHA-256 of the embedded signer certificate's DER.
    pub cert_sha256: String,
    /// The signature dictionary's `/SubFilter`, e.g. "ETSI.CAdES.detached".
    pub sub_filter: String,
    /// How many signature dictionaries the file holds (a bundle as sealed has one).
    pub signatures: usize,
}

impl SigReport {
    /// All checks passed: whole file covered, digest and signature valid.
    pub fn is_valid(&self) -> bool {
        self.covers_whole_file && self.digest_ok && self.signature_ok
    }
}

fn bad(msg: impl Into<String>) -> SealError {
    SealError::Malformed(msg.into())
}

#[derive(Clone, Copy)]
enum Hash {
    S256,
    S384,
    S512,
}

impl Hash {
    fn from_digest_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            rfc5912::ID_SHA_256 => Some(Hash::S256),
            rfc5912::ID_SHA_384 => Some(Hash::S384),
            rfc5912::ID_SHA_512 => Some(Hash::S512),
            _ => None,
        }
    }
    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match self {
            Hash::S256 => run::<Sha256>(parts),
            Hash::S384 => run::<Sha384>(parts),
            Hash::S512 => run::<Sha512>(parts),
        }
    }
}

/// Verify the last signature of `pdf` independently of how it was written: the signature
/// dictionary is found by parsing the file; `/ByteRange` must start at 0 and its gap must
/// be exactly the `/Contents` hex string; the digest is recomputed and compared with the
/// message-digest attribute; the signature over the DER of the signed attributes is
/// verified with the embedded certificate's key. With `trusted_cert_pem`, the embedded
/// signer certificate must also equal that certificate.
///
/// Structural problems (no signature, malformed ranges or CMS) are errors; a wrong digest
/// or signature is reported in [`SigReport`].
pub fn verify_pdf(pdf: &[u8], trusted_cert_pem: Option<&[u8]>) -> Result<SigReport, SealError> {
    let doc = super::load_signatures(pdf).map_err(|e| bad(format!("the pdf does not parse: {e}")))?;

    // All signature dictionaries: a /ByteRange of four integers and a /Contents string.
    let mut best: Option<([usize; 4], u32, &lopdf::Dictionary)> = None;
    let mut count = 0usize;
    for (id, obj) in &doc.objects {
        let Object::Dictionary(d) = obj else { continue };
        let (Ok(Object::Array(br)), Ok(Object::String(..))) = (d.get(b"ByteRange"), d.get(b"Contents")) else {
            continue;
        };
        if let Ok(t) = d.get(b"Type").and_then(Object::as_name) {
            if t != b"Sig" && t != b"DocTimeStamp" {
                continue;
            }
        }
        if br.len() != 4 {
            return Err(bad(format!("object {} has a /ByteRange with {} numbers instead of 4", id.0, br.len())));
        }
        let mut r = [0usize; 4];
        for (i, o) in br.iter().enumerate() {
            let v = o.as_i64().map_err(|_| bad("a /ByteRange entry is not an integer"))?;
            r[i] = usize::try_from(v).map_err(|_| bad("a /ByteRange entry is negative"))?;
        }
        let end = r[2].checked_add(r[3]).ok_or_else(|| bad("/ByteRange overflows"))?;
        count += 1;
        let better = match &best {
            None => true,
            Some((b, bid, _)) => (end, id.0) > (b[2] + b[3], *bid),
        };
        if better {
            best = Some((r, id.0, d));
        }
    }
    let Some((br, _, sig)) = best else {
        return Err(SealError::NoSignature("the pdf has no signature dictionary (/ByteRange + /Contents)".into()));
    };

    // ByteRange shape.
    if br[0] != 0 {
        return Err(bad(format!("/ByteRange starts at {} instead of 0", br[0])));
    }
    let end = br[2] + br[3];
    if br[1] >= br[2] || end > pdf.len() {
        return Err(bad(format!("/ByteRange {br:?} does not fit a file of {} bytes", pdf.len())));
    }
    let covers_whole_file = end == pdf.len();

    // The gap must be exactly the /Contents hex string of this dictionary.
    let gap = &pdf[br[1]..br[2]];
    if gap.len() < 2 || gap[0] != b'<' || gap[gap.len() - 1] != b'>' {
        return Err(bad("the /ByteRange gap is not a hex string <...>"));
    }
    let hex = &gap[1..gap.len() - 1];
    if !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad("the /ByteRange gap contains more than the /Contents hex digits"));
    }
    let raw: Vec<u8> =
        hex.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect();
    let contents = sig.get(b"Contents").and_then(Object::as_str).map_err(|_| bad("/Contents is not a string"))?;
    if contents != raw.as_slice() {
        return Err(bad("the /ByteRange gap is not the /Contents of the signature dictionary"));
    }
    let mut k = br[1];
    while k > 0 && super::sign::is_ws(pdf[k - 1]) {
        k -= 1;
    }
    if !pdf[..k].ends_with(b"/Contents") {
        return Err(bad("the /ByteRange gap is not preceded by the /Contents key"));
    }
    let sub_filter = sig
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();

    let c = check_cms(&raw, &[&pdf[..br[1]], &pdf[br[2]..end]])?;
    let (digest_ok, signature_ok, cert_der, cert_sha256, signer_cn) =
        (c.digest_ok, c.signature_ok, c.cert_der, c.cert_sha256, c.signer_cn);
    let signatures = count;

    if let Some(pem) = trusted_cert_pem {
        let (_, trusted_der) = parse_cert(pem)?;
        if trusted_der != cert_der {
            return Err(SealError::Untrusted {
                embedded: cert_sha256,
                trusted: hex_lower(&Sha256::digest(&trusted_der)),
            });
        }
    }

    Ok(SigReport {
        byte_range: br,
        covers_whole_file,
        digest_ok,
        signature_ok,
        signer_cn,
        cert_sha256,
        sub_filter,
        signatures,
    })
}

/// What a CMS signature over some bytes comes to.
pub(crate) struct CmsCheck {
    pub digest_ok: bool,
    pub signature_ok: bool,
    pub cert_der: Vec<u8>,
    pub cert_sha256: String,
    pub signer_cn: String,
}

/// Check a detached CMS SignedData (`raw`, possibly followed by zero padding) over the bytes
/// `parts`: the message digest against the bytes, and the signature over the signed attributes
/// with the embedded signer certificate's key.
pub(crate) fn check_cms(raw: &[u8], parts: &[&[u8]]) -> Result<CmsCheck, SealError> {
    // CMS SignedData (the DER is followed by zero padding).
    let mut reader = der::SliceReader::new(raw).map_err(|e| bad(format!("/Contents: {e}")))?;
    let ci = ContentInfo::decode(&mut reader).map_err(|e| bad(format!("/Contents is not a CMS ContentInfo: {e}")))?;
    // Whatever follows the DER (normally zero padding) is not signed and not used; like
    // other validators we ignore it.
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(bad(format!("the CMS content type is {} instead of signed-data", ci.content_type)));
    }
    let sd: SignedData = ci.content.decode_as().map_err(|e| bad(format!("SignedData does not parse: {e}")))?;
    if sd.encap_content_info.econtent.is_some() {
        return Err(bad("the signature is not detached (eContent present)"));
    }
    let si = match sd.signer_infos.0.as_slice() {
        [one] => one,
        [] => return Err(bad("the CMS has no SignerInfo")),
        _ => return Err(bad("the CMS has more than one SignerInfo; not supported")),
    };
    let certs: Vec<&Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let cert = certs
        .iter()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
                .map(|e| {
                    x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(e.extn_value.as_bytes())
                        .map(|k| k == *ski)
                        .unwrap_or(false)
                })
                .unwrap_or(false),
        })
        .ok_or_else(|| bad("the signer certificate is not embedded in the signature"))?;
    let cert_der = cert.to_der().map_err(|e| bad(format!("certificate: {e}")))?;
    let cert_sha256 = hex_lower(&Sha256::digest(&cert_der));
    let signer_cn = common_name(&cert.tbs_certificate.subject);

    // Digest of the byte ranges vs message-digest.
    let hash = Hash::from_digest_oid(&si.digest_alg.oid)
        .ok_or_else(|| bad(format!("unsupported digest algorithm {}", si.digest_alg.oid)))?;
    let attrs = si.signed_attrs.as_ref().ok_or_else(|| bad("the SignerInfo has no signed attributes"))?;
    let attr_value = |oid: ObjectIdentifier| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next());
    let md = attr_value(rfc5911::ID_MESSAGE_DIGEST).ok_or_else(|| bad("no message-digest signed attribute"))?;
    let md = md.decode_as::<OctetStringRef>().map_err(|e| bad(format!("message-digest: {e}")))?;
    match attr_value(rfc5911::ID_CONTENT_TYPE).map(|v| v.decode_as::<ObjectIdentifier>()) {
        Some(Ok(oid)) if oid == sd.encap_content_info.econtent_type => {}
        _ => return Err(bad("the content-type signed attribute is missing or does not match")),
    }
    if let Some(v) = attr_value(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2) {
        ess_matches(v, &cert_der)?;
    }
    let computed = hash.digest(parts);
    let digest_ok = computed.as_slice() == md.as_bytes();

    // Signature over the DER (SET OF) of the signed attributes.
    // Use the bytes as received (re-encoding could reorder a non-canonical SET), with the
    // [0] IMPLICIT tag replaced by the SET OF tag as RFC 5652 section 5.4 requires.
    let signed_der = match raw_signed_attrs(raw) {
        Some(mut v) => {
            v[0] = 0x31;
            v
        }
        None => attrs.to_der().map_err(|e| bad(format!("signed attributes: {e}")))?,
    };
    let sig_hash = match si.signature_algorithm.oid {
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::SHA_256_WITH_RSA_ENCRYPTION => Hash::S256,
        rfc5912::ECDSA_WITH_SHA_384 | rfc5912::SHA_384_WITH_RSA_ENCRYPTION => Hash::S384,
        rfc5912::ECDSA_WITH_SHA_512 | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => Hash::S512,
        rfc5912::ID_EC_PUBLIC_KEY | rfc5912::RSA_ENCRYPTION => hash,
        other => return Err(bad(format!("unsupported signature algorithm {other}"))),
    };
    let h = sig_hash.digest(&[&signed_der]);
    let spki_der =
        cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| bad(format!("certificate key: {e}")))?;
    let sig_bytes = si.signature.as_bytes();
    let signature_ok = match cert.tbs_certificate.subject_public_key_info.algorithm.oid {
        rfc5912::ID_EC_PUBLIC_KEY => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            use spki::DecodePublicKey;
            let vk = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                .map_err(|e| bad(format!("only P-256 EC certificates are supported: {e}")))?;
            match p256::ecdsa::Signature::from_der(sig_bytes) {
                Ok(s) => vk.verify_prehash(&h, &s).is_ok(),
                Err(_) => false,
            }
        }
        rfc5912::RSA_ENCRYPTION => {
            use spki::DecodePublicKey;
            let pk = rsa::RsaPublicKey::from_public_key_der(&spki_der)
                .map_err(|e| bad(format!("certificate RSA key: {e}")))?;
            let scheme = match sig_hash {
                Hash::S256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                Hash::S384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                Hash::S512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            pk.verify(scheme, &h, sig_bytes).is_ok()
        }
        other => return Err(bad(format!("unsupported certificate key algorithm {other}"))),
    };

    Ok(CmsCheck { digest_ok, signature_ok, cert_der, cert_sha256, signer_cn })
}

/// Check a detached signature made by [`super::sign_detached`] over `data`.
pub fn verify_detached(sig_der: &[u8], data: &[u8]) -> Result<(bool, String, String), SealError> {
    let c = check_cms(sig_der, &[data])?;
    Ok((c.digest_ok && c.signature_ok, c.cert_sha256, c.signer_cn))
}

/// Checks that the first ESSCertIDv2 of a signing-certificate-v2 attribute hashes the
/// embedded certificate.
fn ess_matches(v: &der::Any, cert_der: &[u8]) -> Result<(), SealError> {
    let e = |m: &str| bad(format!("signing-certificate-v2: {m}"));
    // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }
    let outer = der::Any::from_der(&v.to_der().map_err(|_| e("encode"))?).map_err(|_| e("parse"))?;
    let mut r = der::SliceReader::new(outer.value()).map_err(|_| e("parse"))?;
    let certs = der::Any::decode(&mut r).map_err(|_| e("certs"))?;
    let mut r = der::SliceReader::new(certs.value()).map_err(|_| e("parse"))?;
    let first = der::Any::decode(&mut r).map_err(|_| e("no ESSCertIDv2"))?;
    let mut r = der::SliceReader::new(first.value()).map_err(|_| e("parse"))?;
    let mut item = der::Any::decode(&mut r).map_err(|_| e("ESSCertIDv2"))?;
    let mut hash = Hash::S256;
    if item.tag() == der::Tag::Sequence {
        let alg: spki::AlgorithmIdentifierOwned = item.decode_as().map_err(|_| e("hashAlgorithm"))?;
        hash = Hash::from_digest_oid(&alg.oid).ok_or_else(|| e("unsupported hashAlgorithm"))?;
        item = der::Any::decode(&mut r).map_err(|_| e("certHash"))?;
    }
    let cert_hash = item.decode_as::<OctetStringRef>().map_err(|_| e("certHash"))?;
    if cert_hash.as_bytes() != hash.digest(&[cert_der]).as_slice() {
        return Err(e("the certificate hash does not match the embedded signer certificate"));
    }
    Ok(())
}

/// Splits one DER TLV off the front of `b`: (tag, header length, total length).
fn tlv_at(b: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *b.first()?;
    let l = *b.get(1)?;
    let (hl, len) = if l < 0x80 {
        (2, l as usize)
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (2 + n, len)
    };
    let total = hl.checked_add(len)?;
    (total <= b.len()).then_some((tag, hl, total))
}

/// The raw `[0] IMPLICIT SignedAttributes` TLV of the first SignerInfo, as received.
fn raw_signed_attrs(ci: &[u8]) -> Option<Vec<u8>> {
    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }
    let (t, hl, _) = tlv_at(ci)?;
    (t == 0x30).then_some(())?;
    let mut p = &ci[hl..];
    let (_, _, n) = tlv_at(p)?; // contentType
    p = &p[n..];
    let (t, hl, _) = tlv_at(p)?; // [0]
    (t == 0xA0).then_some(())?;
    p = &p[hl..];
    let (t, hl, total) = tlv_at(p)?; // SignedData SEQUENCE
    (t == 0x30).then_some(())?;
    let mut sd = &p[hl..total];
    // version, digestAlgorithms, encapContentInfo, [0] certificates?, [1] crls?, signerInfos
    let mut signer_infos = None;
    while !sd.is_empty() {
        let (t, hl, n) = tlv_at(sd)?;
        if t == 0x31 && sd.len() == n {
            signer_infos = Some(&sd[hl..n]);
        }
        sd = &sd[n..];
    }
    let sis = signer_infos?;
    let (t, hl, n) = tlv_at(sis)?; // first SignerInfo
    (t == 0x30).then_some(())?;
    let mut si = &sis[hl..n];
    // version, sid, digestAlgorithm, [0] signedAttrs
    for _ in 0..3 {
        let (_, _, n) = tlv_at(si)?;
        si = &si[n..];
    }
    let (t, _, n) = tlv_at(si)?;
    (t == 0xA0).then(|| si[..n].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_signed_attrs_match_reencoding_for_our_cms() {
        let (key, cert) = super::super::keygen("Unit", "Org", "2026-01-01", "2026-12-31").unwrap();
        let signer = super::super::load_signer(key.as_bytes(), cert.as_bytes(), "2026-06-01").unwrap();
        let der = super::super::sign::build_cms(&signer, &[7u8; 32]).unwrap();
        let ci = ContentInfo::from_der(&der).unwrap();
        let sd: SignedData = ci.content.decode_as().unwrap();
        let attrs = sd.signer_infos.0.get(0).unwrap().signed_attrs.as_ref().unwrap();
        let mut raw = raw_signed_attrs(&der).expect("raw signed attributes found");
        raw[0] = 0x31;
        assert_eq!(raw, attrs.to_der().unwrap());
        // Exactly content-type, message-digest, signing-certificate-v2; no signing-time.
        let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
        assert_eq!(oids.len(), 3);
        assert!(oids.contains(&rfc5911::ID_CONTENT_TYPE));
        assert!(oids.contains(&rfc5911::ID_MESSAGE_DIGEST));
        assert!(oids.contains(&rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2));
    }
}
