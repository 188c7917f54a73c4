//! Key and certificate loading, checks, and trial certificates.

use super::{hex_lower, parse_date, SealError};

use const_oid::db::{rfc4519, rfc5280, rfc5912};
use der::asn1::{SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256};
use spki::{DecodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// The private key kinds we sign with.
pub(crate) enum KeyKind {
    /// ECDSA P-256 with SHA-256, deterministic nonces (RFC 6979).
    P256(p256::ecdsa::SigningKey),
    /// RSA PKCS#1 v1.5 with SHA-256 (deterministic by construction), 2048 bits or more.
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
}

/// A checked private key + certificate pair, ready to sign.
pub struct Signer {
    pub(crate) key: KeyKind,
    pub(crate) cert: Certificate,
    pub(crate) cert_der: Vec<u8>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Signer")
            .field(
                "key",
                &match self.key {
                    KeyKind::P256(_) => "ecdsa-p256",
                    KeyKind::Rsa(_) => "rsa",
                },
            )
            .field("subject_cn", &self.subject_common_name())
            .field("cert_sha256", &self.cert_sha256())
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Signer {
    /// The certificate subject's commonName (empty if it has none).
    pub fn subject_common_name(&self) -> String {
        common_name(&self.cert.tbs_certificate.subject)
    }

    /// Lower-case hex SHA-256 of the certificate's DER.
    pub fn cert_sha256(&self) -> String {
        hex_lower(&Sha256::digest(&self.cert_der))
    }

    /// Non-fatal findings from [`load_signer`] (e.g. no nonRepudiation key usage);
    /// the caller should show them to the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The certificate's DER bytes.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.cert_der)
            .expect("PEM encoding of a parsed certificate")
    }

    pub(crate) fn cert_der_pem(&self) -> Vec<u8> {
        self.cert_pem().into_bytes()
    }
}

/// Returns the first commonName in `name`, or "".
pub(crate) fn common_name(name: &Name) -> String {
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == rfc4519::CN {
                if let Ok(s) = der::asn1::Utf8StringRef::try_from(&atv.value) {
                    return s.as_str().to_string();
                }
                if let Ok(s) = der::asn1::PrintableStringRef::try_from(&atv.value) {
                    return s.as_str().to_string();
                }
                if let Ok(s) = der::asn1::Ia5StringRef::try_from(&atv.value) {
                    return s.as_str().to_string();
                }
                return String::from_utf8_lossy(atv.value.value()).into_owned();
            }
        }
    }
    String::new()
}

/// All PEM blocks in `data` as (label, DER). Text outside the blocks (comments) is ignored.
pub(crate) fn pem_blocks(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let text = std::str::from_utf8(data).map_err(|_| "the file is not PEM text (binary data; DER and PKCS#12 files are not supported, convert them to PEM with openssl)".to_string())?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----").ok_or("unterminated PEM header")?;
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let end = rest[start..].find(&end_marker).ok_or_else(|| format!("PEM block {label:?} has no END line"))?;
        let block = &rest[start..start + end + end_marker.len()];
        let (_, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| format!("PEM block {label:?} is not valid base64 PEM: {e}"))?;
        out.push((label, der));
        rest = &rest[start + end + end_marker.len()..];
    }
    Ok(out)
}

/// Parses a private key from PEM: PKCS#8 ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or
/// PKCS#1 ("RSA PRIVATE KEY").
pub(crate) fn parse_private_key(key_pem: &[u8]) -> Result<KeyKind, SealError> {
    let blocks = pem_blocks(key_pem).map_err(SealError::BadKey)?;
    let Some((label, der)) = blocks.into_iter().find(|(l, _)| l.ends_with("PRIVATE KEY")) else {
        return Err(SealError::BadKey(
            "no PEM private key found (expected a \"-----BEGIN PRIVATE KEY-----\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\" block)".into(),
        ));
    };
    match label.as_str() {
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfo::from_der(&der)
                .map_err(|e| SealError::BadKey(format!("the PKCS#8 key does not parse: {e}")))?;
            if info.algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY {
                let sk = p256::SecretKey::from_pkcs8_der(&der).map_err(|e| {
                    SealError::BadKey(format!("only P-256 (prime256v1) EC keys are supported: {e}"))
                })?;
                Ok(KeyKind::P256(p256::ecdsa::SigningKey::from(sk)))
            } else if info.algorithm.oid == rfc5912::RSA_ENCRYPTION {
                let rsa = rsa::RsaPrivateKey::from_pkcs8_der(&der)
                    .map_err(|e| SealError::BadKey(format!("the RSA key does not parse: {e}")))?;
                rsa_key(rsa)
            } else {
                Err(SealError::BadKey(format!(
                    "unsupported key algorithm {}; use an ECDSA P-256 or RSA (2048 bits or more) key",
                    info.algorithm.oid
                )))
            }
        }
        "EC PRIVATE KEY" => {
            let sk = p256::SecretKey::from_sec1_der(&der).map_err(|e| {
                SealError::BadKey(format!("the EC key does not parse or is not P-256 (prime256v1): {e}"))
            })?;
            Ok(KeyKind::P256(p256::ecdsa::SigningKey::from(sk)))
        }
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            let rsa = rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map_err(|e| SealError::BadKey(format!("the RSA key does not parse: {e}")))?;
            rsa_key(rsa)
        }
        "ENCRYPTED PRIVATE KEY" => Err(SealError::BadKey(
            "the key is password-protected, which is not supported; decrypt it with `openssl pkey -in KEY -out PLAIN.pem` and keep the plain file protected".into(),
        )),
        other => Err(SealError::BadKey(format!(
            "unsupported PEM block {other:?}; use PKCS#8 (\"PRIVATE KEY\"), SEC1 (\"EC PRIVATE KEY\") or PKCS#1 (\"RSA PRIVATE KEY\")"
        ))),
    }
}

fn rsa_key(rsa: rsa::RsaPrivateKey) -> Result<KeyKind, SealError> {
    use rsa::traits::PublicKeyParts;
    let bits = rsa.size() * 8;
    if bits < 2048 {
        return Err(SealError::BadKey(format!("the RSA key has {bits} bits; use 2048 bits or more")));
    }
    Ok(KeyKind::Rsa(Box::new(rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa))))
}

/// Parses the first certificate from PEM.
pub(crate) fn parse_cert(cert_pem: &[u8]) -> Result<(Certificate, Vec<u8>), SealError> {
    let blocks = pem_blocks(cert_pem).map_err(SealError::BadCert)?;
    let Some((_, der)) = blocks.into_iter().find(|(l, _)| l == "CERTIFICATE") else {
        return Err(SealError::BadCert(
            "no PEM certificate found (expected a \"-----BEGIN CERTIFICATE-----\" block)".into(),
        ));
    };
    let cert =
        Certificate::from_der(&der).map_err(|e| SealError::BadCert(format!("the certificate does not parse: {e}")))?;
    Ok((cert, der))
}

/// True when the certificate's subject public key is the public half of `key`.
fn key_matches(key: &KeyKind, spki: &SubjectPublicKeyInfoOwned) -> Result<bool, SealError> {
    let spki_der =
        spki.to_der().map_err(|e| SealError::BadCert(format!("the certificate's public key does not encode: {e}")))?;
    Ok(match key {
        KeyKind::P256(sk) => match p256::PublicKey::from_public_key_der(&spki_der) {
            Ok(pk) => pk == p256::PublicKey::from(sk.verifying_key()),
            Err(_) => false,
        },
        KeyKind::Rsa(sk) => match rsa::RsaPublicKey::from_public_key_der(&spki_der) {
            Ok(pk) => {
                let sk: &rsa::RsaPrivateKey = sk.as_ref().as_ref();
                pk == sk.to_public_key()
            }
            Err(_) => false,
        },
    })
}

fn ymd_of(t: &Time) -> (u16, u8, u8) {
    let dt = t.to_date_time();
    (dt.year(), dt.month(), dt.day())
}

fn fmt_time(t: &Time) -> String {
    let dt = t.to_date_time();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

/// Load and check BEFORE any output is written: the certificate's public key matches the
/// private key; the certificate is valid at `at` (the request date, "YYYY-MM-DD"; not the
/// clock); key usage includes digitalSignature (nonRepudiation preferably: a warning is
/// recorded in [`Signer::warnings`] otherwise). Errors say which check failed.
///
/// Validity is checked at day granularity: the certificate must not start after the
/// request date and must not end before it.
pub fn load_signer(key_pem: &[u8], cert_pem: &[u8], at: &str) -> Result<Signer, SealError> {
    let at_ymd = parse_date(at)?;
    let key = parse_private_key(key_pem)?;
    let (cert, cert_der) = parse_cert(cert_pem)?;
    let tbs = &cert.tbs_certificate;

    if !key_matches(&key, &tbs.subject_public_key_info)? {
        return Err(SealError::KeyMismatch);
    }

    if ymd_of(&tbs.validity.not_before) > at_ymd {
        return Err(SealError::NotYetValid { not_before: fmt_time(&tbs.validity.not_before), at: at.to_string() });
    }
    if ymd_of(&tbs.validity.not_after) < at_ymd {
        return Err(SealError::Expired { not_after: fmt_time(&tbs.validity.not_after), at: at.to_string() });
    }

    let mut warnings = Vec::new();
    let ku_ext = tbs.extensions.iter().flatten().find(|e| e.extn_id == rfc5280::ID_CE_KEY_USAGE);
    match ku_ext {
        None => {
            return Err(SealError::MissingKeyUsage("the certificate has no keyUsage extension".into()));
        }
        Some(ext) => {
            let ku = KeyUsage::from_der(ext.extn_value.as_bytes())
                .map_err(|e| SealError::BadCert(format!("the keyUsage extension does not parse: {e}")))?;
            if !ku.digital_signature() {
                return Err(SealError::MissingKeyUsage("digitalSignature is not set".into()));
            }
            if !ku.non_repudiation() {
                warnings.push(
                    "the certificate's key usage lacks nonRepudiation (contentCommitment); some validators (e.g. pyHanko) reject such signatures by default".into(),
                );
            }
        }
    }

    Ok(Signer { key, cert, cert_der, warnings })
}

fn name_of(common_name: &str, organisation: &str) -> Result<Name, SealError> {
    let mut rdns = Vec::new();
    for (oid, value) in [(rfc4519::O, organisation), (rfc4519::CN, common_name)] {
        if value.is_empty() {
            continue;
        }
        let v = Utf8StringRef::new(value).map_err(|e| SealError::BadCert(format!("bad name {value:?}: {e}")))?;
        let atv = AttributeTypeAndValue { oid, value: Any::from(v) };
        let set = SetOfVec::try_from(vec![atv]).map_err(|e| SealError::BadCert(e.to_string()))?;
        rdns.push(RelativeDistinguishedName(set));
    }
    if common_name.is_empty() {
        return Err(SealError::BadCert("the common name must not be empty".into()));
    }
    Ok(RdnSequence(rdns))
}

fn time_of(ymd: (u16, u8, u8), end_of_day: bool) -> Result<Time, SealError> {
    let (h, mi, s) = if end_of_day { (23, 59, 59) } else { (0, 0, 0) };
    let dt = der::DateTime::new(ymd.0, ymd.1, ymd.2, h, mi, s)
        .map_err(|e| SealError::BadCert(format!("bad validity date: {e}")))?;
    // RFC 5280: UTCTime up to 2049, GeneralizedTime afterwards.
    if ymd.0 < 2050 {
        Ok(Time::UtcTime(der::asn1::UtcTime::from_date_time(dt).map_err(|e| SealError::BadCert(e.to_string()))?))
    } else {
        Ok(Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt)))
    }
}

/// Builds a self-signed end-entity certificate for `key_pem` (P-256 or RSA, any PEM form
/// accepted by [`load_signer`]): CN `common_name`, O `organisation`, validity from
/// `not_before` 00:00:00Z to `not_after` 23:59:59Z ("YYYY-MM-DD"), keyUsage
/// digitalSignature + nonRepudiation (critical), basicConstraints CA:false (critical),
/// subject and authority key identifiers. The serial number is derived from the inputs,
/// so the same inputs give the same certificate.
pub fn self_signed_cert(
    key_pem: &[u8],
    common_name: &str,
    organisation: &str,
    not_before: &str,
    not_after: &str,
) -> Result<String, SealError> {
    let nb = parse_date(not_before)?;
    let na = parse_date(not_after)?;
    if na < nb {
        return Err(SealError::BadCert(format!("not_after {not_after} is before not_before {not_before}")));
    }
    let key = parse_private_key(key_pem)?;
    let subject = name_of(common_name, organisation)?;
    let validity = Validity { not_before: time_of(nb, false)?, not_after: time_of(na, true)? };
    let profile =
        Profile::Leaf { issuer: subject.clone(), enable_key_agreement: false, enable_key_encipherment: false };
    let cert_err = |e: x509_cert::builder::Error| SealError::BadCert(format!("cannot build the certificate: {e}"));

    let spki_der = match &key {
        KeyKind::P256(sk) => {
            use spki::EncodePublicKey;
            sk.verifying_key().to_public_key_der().map_err(|e| SealError::BadKey(e.to_string()))?
        }
        KeyKind::Rsa(sk) => {
            use spki::EncodePublicKey;
            let sk: &rsa::RsaPrivateKey = sk.as_ref().as_ref();
            sk.to_public_key().to_public_key_der().map_err(|e| SealError::BadKey(e.to_string()))?
        }
    };
    let spki =
        SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(|e| SealError::BadKey(e.to_string()))?;

    // Deterministic positive serial (RFC 5280: at most 20 octets): hash of the inputs.
    let mut h = Sha256::new();
    h.update(spki_der.as_bytes());
    for part in [common_name, organisation, not_before, not_after] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let mut serial = h.finalize()[..16].to_vec();
    serial[0] &= 0x7f;
    serial[0] |= 0x40;
    let serial = SerialNumber::new(&serial).map_err(|e| SealError::BadCert(e.to_string()))?;

    let cert = match &key {
        KeyKind::P256(sk) => CertificateBuilder::new(profile, serial, validity, subject, spki, sk)
            .map_err(cert_err)?
            .build::<p256::ecdsa::DerSignature>()
            .map_err(cert_err)?,
        KeyKind::Rsa(sk) => CertificateBuilder::new(profile, serial, validity, subject, spki, sk.as_ref())
            .map_err(cert_err)?
            .build::<rsa::pkcs1v15::Signature>()
            .map_err(cert_err)?,
    };
    use der::EncodePem;
    cert.to_pem(der::pem::LineEnding::LF).map_err(|e| SealError::BadCert(format!("cannot encode the certificate: {e}")))
}

/// Self-signed certificate for trials: a fresh P-256 key (OS randomness), CN from
/// `common_name`, O from `organisation`, validity `not_before`..`not_after`
/// ("YYYY-MM-DD"), keyUsage digitalSignature + nonRepudiation (critical),
/// basicConstraints CA:false, subjectKeyIdentifier. Returns (key PKCS#8 PEM, cert PEM).
pub fn keygen(
    common_name: &str,
    organisation: &str,
    not_before: &str,
    not_after: &str,
) -> Result<(String, String), SealError> {
    // Validate the inputs before consuming randomness.
    parse_date(not_before)?;
    parse_date(not_after)?;
    let sk = p256::SecretKey::random(&mut rand_core::OsRng);
    let key_pem = sk
        .to_pkcs8_pem(der::pem::LineEnding::LF)
        .map_err(|e| SealError::BadKey(format!("cannot encode the new key: {e}")))?;
    let key_pem: String = key_pem.as_str().to_string();
    let cert_pem = self_signed_cert(key_pem.as_bytes(), common_name, organisation, not_before, not_after)?;
    Ok((key_pem, cert_pem))
}

/// Load a signer from a PKCS#12 (.p12 / .pfx) file, as councils' key stores export them: the
/// first private key with its certificate, then the same checks as [`load_signer`].
pub fn load_signer_pkcs12(p12: &[u8], password: &str, at: &str) -> Result<Signer, SealError> {
    let store = p12_keystore::KeyStore::from_pkcs12(p12, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| SealError::BadKey(format!("cannot open the PKCS#12 file ({e}); check the password")))?;
    let (_, chain) =
        store.private_key_chain().ok_or_else(|| SealError::BadKey("the PKCS#12 file holds no private key".into()))?;
    let cert = chain
        .certs()
        .first()
        .ok_or_else(|| SealError::BadCert("the PKCS#12 file holds no certificate for its key".into()))?;
    let key_pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, chain.key().as_der())
        .map_err(|e| SealError::BadKey(e.to_string()))?;
    let cert_pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, cert.as_der())
        .map_err(|e| SealError::BadCert(e.to_string()))?;
    load_signer(key_pem.as_bytes(), cert_pem.as_bytes(), at)
}
