//! Key and certificate loading (PEM, and PKCS#12 files read after their MAC is checked), checks,
//! and trial certificates.

use super::{hex_lower, parse_date, SealError};

use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, InnerIvInit, KeyIvInit};
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
    let text = std::str::from_utf8(data).map_err(|_| "the file is not PEM text (binary data: convert a DER file to PEM with openssl; pass a PKCS#12 file alone as --sign-key)".to_string())?;
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
        "PRIVATE KEY" => parse_pkcs8_der(&der),
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

/// Parses a PKCS#8 PrivateKeyInfo (DER): P-256 or RSA.
fn parse_pkcs8_der(der: &[u8]) -> Result<KeyKind, SealError> {
    let info = pkcs8::PrivateKeyInfo::from_der(der)
        .map_err(|e| SealError::BadKey(format!("the PKCS#8 key does not parse: {e}")))?;
    if info.algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY {
        let sk = p256::SecretKey::from_pkcs8_der(der)
            .map_err(|e| SealError::BadKey(format!("only P-256 (prime256v1) EC keys are supported: {e}")))?;
        Ok(KeyKind::P256(p256::ecdsa::SigningKey::from(sk)))
    } else if info.algorithm.oid == rfc5912::RSA_ENCRYPTION {
        let rsa = rsa::RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|e| SealError::BadKey(format!("the RSA key does not parse: {e}")))?;
        rsa_key(rsa)
    } else {
        Err(SealError::BadKey(format!(
            "unsupported key algorithm {}; use an ECDSA P-256 or RSA (2048 bits or more) key",
            info.algorithm.oid
        )))
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
    parse_date(at)?;
    let key = parse_private_key(key_pem)?;
    let (cert, cert_der) = parse_cert(cert_pem)?;
    check_signer(key, cert, cert_der, at)
}

/// The checks of [`load_signer`] on a parsed key and certificate.
fn check_signer(key: KeyKind, cert: Certificate, cert_der: Vec<u8>, at: &str) -> Result<Signer, SealError> {
    let at_ymd = parse_date(at)?;
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
/// MAC is checked with `password` before anything inside is read; then the first private key,
/// the certificate that carries its public key, and the same checks as [`load_signer`].
///
/// Read: OpenSSL 3's defaults (PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, MAC with
/// SHA-256) and the legacy PKCS#12 schemes Windows and older tools write (PBE with SHA-1 and
/// 3DES, or RC2 for the certificates; MAC with SHA-1). Any other scheme is refused with its
/// OID.
pub fn load_signer_pkcs12(p12: &[u8], password: &str, at: &str) -> Result<Signer, SealError> {
    parse_date(at)?;
    let contents = pkcs12_contents(p12, password)?;
    let key_der =
        contents.keys.first().ok_or_else(|| SealError::BadKey("the PKCS#12 file holds no private key".into()))?;
    let key = parse_pkcs8_der(key_der)?;
    let mut unreadable = 0;
    for cert_der in &contents.certs {
        let Ok(cert) = Certificate::from_der(cert_der) else {
            // A chain certificate we cannot parse is not the one we sign with; say so if none fits.
            unreadable += 1;
            continue;
        };
        if key_matches(&key, &cert.tbs_certificate.subject_public_key_info)? {
            return check_signer(key, cert, cert_der.clone(), at);
        }
    }
    Err(SealError::BadCert(format!(
        "the PKCS#12 file holds no certificate for its private key ({} certificates, {unreadable} of them unreadable); export the key together with its certificate",
        contents.certs.len()
    )))
}

/// The keys (PKCS#8 DER, decrypted) and certificates (DER) of a PKCS#12 file, in file order.
struct Pkcs12Contents {
    keys: Vec<zeroize::Zeroizing<Vec<u8>>>,
    certs: Vec<Vec<u8>>,
}

fn p12_error(what: String) -> SealError {
    SealError::BadKey(format!("the PKCS#12 file {what}"))
}

fn p12_parse_error(part: &str, e: der::Error) -> SealError {
    // der's messages name tags and byte offsets, never the contents.
    p12_error(format!("does not parse ({part}: {e}); check that it is a .p12/.pfx file"))
}

/// An OID with its name where we know one: the name helps the officer, the number is exact.
fn oid_named(oid: &der::oid::ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.12.1.1" => Some("pbeWithSHAAnd128BitRC4"),
        "1.2.840.113549.1.12.1.2" => Some("pbeWithSHAAnd40BitRC4"),
        "1.2.840.113549.1.12.1.4" => Some("pbeWithSHAAnd2-KeyTripleDES-CBC"),
        "1.2.840.113549.1.5.14" => Some("PBMAC1"),
        "1.2.840.113549.1.7.2" => Some("signedData"),
        "1.2.840.113549.1.7.3" => Some("envelopedData"),
        _ => const_oid::db::DB.by_oid(oid),
    };
    match name {
        Some(name) => format!("{oid} ({name})"),
        None => oid.to_string(),
    }
}

const P12_SUPPORTED: &str = "supported: PBES2 with PBKDF2 or scrypt and AES-CBC or DES-EDE3-CBC, and PKCS#12 PBE with SHA-1 and 3DES or RC2; export it again with `openssl pkcs12 -export` and its defaults";

fn p12_unsupported(part: &str, oid: &der::oid::ObjectIdentifier) -> SealError {
    p12_error(format!("protects its {part} with {}, which is not supported ({P12_SUPPORTED})", oid_named(oid)))
}

fn pkcs12_contents(p12: &[u8], password: &str) -> Result<Pkcs12Contents, SealError> {
    use cms::content_info::ContentInfo;
    use const_oid::db::rfc5911::ID_DATA;
    use der::asn1::OctetString;

    let pfx = pkcs12::pfx::Pfx::from_der(p12).map_err(|e| p12_parse_error("PFX", e))?;
    // Integrity in password mode: the authenticated safe is a `data` ContentInfo whose octets
    // the MAC covers. Public-key integrity mode (signedData) is not what key stores export.
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(p12_unsupported("integrity", &pfx.auth_safe.content_type));
    }
    let auth_safe: OctetString =
        pfx.auth_safe.content.decode_as().map_err(|e| p12_parse_error("authenticated safe", e))?;
    check_pkcs12_mac(pfx.mac_data.as_ref(), auth_safe.as_bytes(), password)?;

    let safes: Vec<ContentInfo> = pkcs12::authenticated_safe::AuthenticatedSafe::from_der(auth_safe.as_bytes())
        .map_err(|e| p12_parse_error("authenticated safe", e))?;
    let mut out = Pkcs12Contents { keys: Vec::new(), certs: Vec::new() };
    for safe in &safes {
        let bags = match safe.content_type {
            ID_DATA => {
                let os: OctetString = safe.content.decode_as().map_err(|e| p12_parse_error("safe contents", e))?;
                zeroize::Zeroizing::new(os.as_bytes().to_vec())
            }
            const_oid::db::rfc5911::ID_ENCRYPTED_DATA => {
                let ed: cms::encrypted_data::EncryptedData =
                    safe.content.decode_as().map_err(|e| p12_parse_error("encrypted safe contents", e))?;
                let info = ed.enc_content_info;
                let ciphertext =
                    info.encrypted_content.ok_or_else(|| p12_error("has an encrypted safe without contents".into()))?;
                pkcs12_decrypt(&info.content_enc_alg, password, ciphertext.as_bytes(), "certificates")?
            }
            other => return Err(p12_unsupported("contents", &other)),
        };
        read_safe_bags(&bags, password, &mut out, 0)?;
    }
    Ok(out)
}

/// Checks the MAC (RFC 7292 section 4 and appendix B: HMAC keyed by the PKCS#12 KDF of the
/// password) over the authenticated safe, before anything inside it is trusted. A file without a
/// MAC is refused: a wrong password or a changed byte could not be told from a good file.
fn check_pkcs12_mac(mac: Option<&pkcs12::mac_data::MacData>, data: &[u8], password: &str) -> Result<(), SealError> {
    use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_224, ID_SHA_256, ID_SHA_384, ID_SHA_512};
    let mac = mac.ok_or_else(|| {
        p12_error("has no MAC (integrity check), so a wrong password or a changed byte could not be told; export it again without -nomac".into())
    })?;
    let oid = mac.mac.algorithm.oid;
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    let iterations = mac.iterations;
    if iterations < 1 {
        return Err(p12_error(format!("has a MAC with {iterations} iterations; export it again")));
    }
    let matches = match oid {
        ID_SHA_1 => pkcs12_mac_matches::<sha1::Sha1>(password, salt, iterations, data, expected),
        ID_SHA_224 => pkcs12_mac_matches::<sha2::Sha224>(password, salt, iterations, data, expected),
        ID_SHA_256 => pkcs12_mac_matches::<sha2::Sha256>(password, salt, iterations, data, expected),
        ID_SHA_384 => pkcs12_mac_matches::<sha2::Sha384>(password, salt, iterations, data, expected),
        ID_SHA_512 => pkcs12_mac_matches::<sha2::Sha512>(password, salt, iterations, data, expected),
        other => {
            return Err(p12_error(format!(
                "has a MAC with {}, which is not supported (supported: HMAC with SHA-1 or SHA-2); export it again with `openssl pkcs12 -export -macalg sha256`",
                oid_named(&other)
            )))
        }
    }?;
    if !matches {
        return Err(p12_error(
            "does not open: its MAC does not match, so the password is wrong or the file was changed; check the password".into(),
        ));
    }
    Ok(())
}

fn pkcs12_mac_matches<D>(
    password: &str,
    salt: &[u8],
    iterations: i32,
    data: &[u8],
    expected: &[u8],
) -> Result<bool, SealError>
where
    D: Digest + sha2::digest::FixedOutputReset + sha2::digest::core_api::BlockSizeUser,
{
    use hmac::Mac;
    let key = zeroize::Zeroizing::new(
        pkcs12::kdf::derive_key_utf8::<D>(
            password,
            salt,
            pkcs12::kdf::Pkcs12KeyType::Mac,
            iterations,
            <D as Digest>::output_size(),
        )
        .map_err(|_| {
            p12_error("cannot take this password (PKCS#12 holds passwords as UCS-2); check the password".into())
        })?,
    );
    let mut mac = <hmac::SimpleHmac<D> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(data);
    Ok(mac.verify_slice(expected).is_ok())
}

/// Nested safe contents bags deeper than this are refused (no key store nests at all).
const MAX_BAG_DEPTH: usize = 4;

fn read_safe_bags(der_bytes: &[u8], password: &str, out: &mut Pkcs12Contents, depth: usize) -> Result<(), SealError> {
    use der::asn1::ContextSpecific;
    let bags = pkcs12::safe_bag::SafeContents::from_der(der_bytes).map_err(|e| p12_parse_error("safe bags", e))?;
    for bag in bags {
        // `bag_value` is the bag's [0] EXPLICIT wrapper.
        match bag.bag_id {
            pkcs12::PKCS_12_PKCS8_KEY_BAG_OID => {
                let shrouded: ContextSpecific<pkcs12::pbe_params::EncryptedPrivateKeyInfo> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(|e| p12_parse_error("shrouded key bag", e))?;
                let info = shrouded.value;
                out.keys.push(pkcs12_decrypt(
                    &info.encryption_algorithm,
                    password,
                    info.encrypted_data.as_bytes(),
                    "private key",
                )?);
            }
            pkcs12::PKCS_12_KEY_BAG_OID => {
                let plain: ContextSpecific<Any> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(|e| p12_parse_error("key bag", e))?;
                let der = plain.value.to_der().map_err(|e| p12_parse_error("key bag", e))?;
                out.keys.push(zeroize::Zeroizing::new(der));
            }
            pkcs12::PKCS_12_CERT_BAG_OID => {
                let cert: ContextSpecific<pkcs12::cert_type::CertBag> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(|e| p12_parse_error("certificate bag", e))?;
                // Other certificate types (SDSI) cannot be an X.509 signing certificate.
                if cert.value.cert_id == pkcs12::PKCS_12_X509_CERT_OID {
                    out.certs.push(cert.value.cert_value.as_bytes().to_vec());
                }
            }
            pkcs12::PKCS_12_SAFE_CONTENTS_BAG_OID => {
                if depth >= MAX_BAG_DEPTH {
                    return Err(p12_error("nests its safe bags too deeply".into()));
                }
                let nested: ContextSpecific<Any> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(|e| p12_parse_error("nested safe bags", e))?;
                let der = nested.value.to_der().map_err(|e| p12_parse_error("nested safe bags", e))?;
                read_safe_bags(&der, password, out, depth + 1)?;
            }
            // CRLs and secrets play no part in signing.
            _ => {}
        }
    }
    Ok(())
}

/// Decrypts one encrypted part of a PKCS#12 file (`part` names it in errors): PBES2 through
/// pkcs5, the PKCS#12 PBE schemes (RFC 7292 appendix C) here.
fn pkcs12_decrypt(
    alg: &spki::AlgorithmIdentifierOwned,
    password: &str,
    ciphertext: &[u8],
    part: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
    use pkcs12::{
        PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC, PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC,
        PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC,
    };
    let mut buf = zeroize::Zeroizing::new(ciphertext.to_vec());
    let cannot = || {
        p12_error(format!(
            "opens but its {part} does not decrypt; check the password (a file with separate integrity and encryption passwords is not supported)"
        ))
    };
    let len = match alg.oid {
        pkcs5::pbes2::PBES2_OID => {
            let alg_der = alg.to_der().map_err(|e| p12_parse_error(part, e))?;
            let scheme = pkcs5::EncryptionScheme::from_der(&alg_der).map_err(|e| match e.kind() {
                der::ErrorKind::OidUnknown { oid } => p12_unsupported(part, &oid),
                _ => p12_parse_error(&format!("PBES2 parameters of its {part}"), e),
            })?;
            match scheme.decrypt_in_place(password.as_bytes(), &mut buf) {
                Ok(plain) => plain.len(),
                Err(pkcs5::Error::UnsupportedAlgorithm { oid }) => return Err(p12_unsupported(part, &oid)),
                Err(pkcs5::Error::AlgorithmParametersInvalid { oid }) => {
                    return Err(p12_error(format!("has invalid parameters for {} in its {part}", oid_named(&oid))))
                }
                // pkcs5 0.7 reports a bad padding (the wrong key) as EncryptFailed.
                Err(_) => return Err(cannot()),
            }
        }
        PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC => {
            let (key, iv) = pkcs12_pbe_key_iv(alg, password, 24, part)?;
            let dec = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv).map_err(|_| cannot())?;
            dec.decrypt_padded_mut::<Pkcs7>(&mut buf).map_err(|_| cannot())?.len()
        }
        PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC | PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC => {
            let bytes = if alg.oid == PKCS_12_PBE_WITH_SHAAND128_BIT_RC2_CBC { 16 } else { 5 };
            let (key, iv) = pkcs12_pbe_key_iv(alg, password, bytes, part)?;
            let rc2 = rc2::Rc2::new_with_eff_key_len(&key, bytes * 8);
            let dec = cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2, &iv).map_err(|_| cannot())?;
            dec.decrypt_padded_mut::<Pkcs7>(&mut buf).map_err(|_| cannot())?.len()
        }
        other => return Err(p12_unsupported(part, &other)),
    };
    buf.truncate(len);
    Ok(buf)
}

type KeyIv = (zeroize::Zeroizing<Vec<u8>>, zeroize::Zeroizing<Vec<u8>>);

/// Key and IV of a PKCS#12 PBE scheme: the PKCS#12 KDF with SHA-1 (RFC 7292 appendix B.2),
/// an 8-byte IV (both ciphers have 64-bit blocks).
fn pkcs12_pbe_key_iv(
    alg: &spki::AlgorithmIdentifierOwned,
    password: &str,
    key_len: usize,
    part: &str,
) -> Result<KeyIv, SealError> {
    use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| p12_error(format!("has no parameters for {} in its {part}", oid_named(&alg.oid))))?
        .decode_as::<pkcs12::pbe_params::Pkcs12PbeParams>()
        .map_err(|e| p12_parse_error(&format!("PBE parameters of its {part}"), e))?;
    if params.iterations < 1 {
        return Err(p12_error(format!("has {} iterations for its {part}; export it again", params.iterations)));
    }
    let salt = params.salt.as_bytes();
    let derive = |id, len| {
        derive_key_utf8::<sha1::Sha1>(password, salt, id, params.iterations, len).map(zeroize::Zeroizing::new).map_err(
            |_| p12_error("cannot take this password (PKCS#12 holds passwords as UCS-2); check the password".into()),
        )
    };
    Ok((derive(Pkcs12KeyType::EncryptionKey, key_len)?, derive(Pkcs12KeyType::Iv, 8)?))
}
