//! Integration tests for `seal`: signing, our own verifier, and independent verifiers
//! (pdfsig, pyHanko, openssl cms, qpdf). Missing tools FAIL the tests (never skipped):
//! install poppler-utils + qpdf + openssl, and pyHanko (`pip install pyhanko pyhanko-cli`)
//! with `pyhanko` on PATH or its path in the `PYHANKO` environment variable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use disclose::seal::{keygen, load_signer, self_signed_cert, sign_pdf, verify_pdf, SealError, SignOptions, Signer};

const AT: &str = "2026-11-27";

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seal").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

/// A one-page PDF written by hand (classic xref table, /Info and /ID in the trailer).
fn hand_pdf() -> Vec<u8> {
    hand_pdf_with("", "", &[])
}

/// The hand-made PDF with extra catalog / page entries and extra objects (numbered 7..).
fn hand_pdf_with(catalog_extra: &str, page_extra: &str, extra: &[&str]) -> Vec<u8> {
    let content = b"BT /F1 18 Tf 72 760 Td (Disclosure bundle for test) Tj ET";
    let mut objs: Vec<Vec<u8>> = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>").into_bytes(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> {page_extra}>>").into_bytes(),
        [format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(), content, b"\nendstream"].concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Title (Hand-made test) /Producer (seal tests) >>".to_vec(),
    ];
    objs.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offs = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// One keygen'd P-256 pair per test process.
fn p256_pair() -> &'static (String, String) {
    static P: OnceLock<(String, String)> = OnceLock::new();
    P.get_or_init(|| keygen("Test Signer P256", "Seal Test Council", "2026-01-01", "2027-12-31").unwrap())
}

/// The committed RSA-2048 test key with a certificate made for it here.
fn rsa_pair() -> (String, String) {
    let key = String::from_utf8(fixture("test-rsa-2048.key.pem")).unwrap();
    let cert =
        self_signed_cert(key.as_bytes(), "Test Signer RSA", "Seal Test Council", "2026-01-01", "2027-12-31").unwrap();
    (key, cert)
}

fn signer_of(pair: &(String, String)) -> Signer {
    load_signer(pair.0.as_bytes(), pair.1.as_bytes(), AT).unwrap()
}

fn opts() -> SignOptions {
    SignOptions {
        signing_time: "2026-11-27T09:30:00Z".into(),
        reason: "Disclosure bundle (subject access request)".into(),
        location: "Ashgrove Children's Services".into(),
        contact: "dpo@example.org".into(),
        name: "Test Signer".into(),
    }
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("seal-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Finds an executable on PATH (or at the path in `env_var`), failing loudly otherwise.
fn tool(name: &str, env_var: Option<&str>, hint: &str) -> PathBuf {
    if let Some(var) = env_var {
        if let Some(p) = std::env::var_os(var) {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "{var}={} does not exist; {hint}", p.display());
            return p;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "required test tool `{name}` not found on PATH{}; {hint}",
        env_var.map(|v| format!(" or in ${v}")).unwrap_or_default()
    );
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Length of the DER TLV at the start of `b` (to strip the /Contents zero padding).
fn der_len(b: &[u8]) -> usize {
    let l = b[1];
    if l < 0x80 {
        2 + l as usize
    } else {
        let n = (l & 0x7f) as usize;
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | b[2 + i] as usize;
        }
        2 + n + len
    }
}

fn hex_decode(h: &[u8]) -> Vec<u8> {
    h.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
}

/// Runs every independent verifier on a signed file; prints one line per tool.
fn check_with_tools(signed: &[u8], cert_pem: &str, name: &str) {
    let dir = workdir(name);
    let file = dir.join("signed.pdf");
    let cert = dir.join("cert.pem");
    std::fs::write(&file, signed).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    if let Some(keep) = std::env::var_os("SEAL_KEEP_DIR") {
        // Debug aid: keep a copy of each signed file and its certificate.
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join(format!("{name}.pdf")), signed).unwrap();
        std::fs::write(keep.join(format!("{name}.cert.pem")), cert_pem).unwrap();
    }

    // qpdf
    let qpdf = tool("qpdf", None, "install qpdf (apt-get install qpdf)");
    let (ok, out) = run(Command::new(&qpdf).arg("--check").arg(&file));
    assert!(ok && out.contains("No syntax or stream encoding errors found"), "[{name}] qpdf --check failed:\n{out}");

    // pdfsig
    let pdfsig = tool("pdfsig", None, "install poppler-utils (apt-get install poppler-utils)");
    let (_, out) = run(Command::new(&pdfsig).arg(&file));
    assert!(out.contains("Signature is Valid"), "[{name}] pdfsig did not say 'Signature is Valid':\n{out}");
    assert!(out.contains("Total document signed"), "[{name}] pdfsig did not say 'Total document signed':\n{out}");
    assert!(out.contains("ETSI.CAdES.detached"), "[{name}] pdfsig did not see ETSI.CAdES.detached:\n{out}");
    eprintln!(
        "[{name}] pdfsig: {}",
        out.lines()
            .filter(|l| l.contains("Signature Validation") || l.contains("Total document"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" | ")
    );

    // pyHanko
    let pyhanko =
        tool("pyhanko", Some("PYHANKO"), "pip install pyhanko pyhanko-cli and put `pyhanko` on PATH or set PYHANKO");
    let (ok, out) =
        run(Command::new(&pyhanko).args(["sign", "validate", "--pretty-print", "--trust"]).arg(&cert).arg(&file));
    assert!(ok, "[{name}] pyhanko sign validate failed:\n{out}");
    assert!(out.contains("The signature is cryptographically sound"), "[{name}] pyhanko: not intact:\n{out}");
    assert!(out.contains("The signature covers the entire file"), "[{name}] pyhanko: not the entire file:\n{out}");
    assert!(out.contains("judged VALID"), "[{name}] pyhanko: not judged VALID:\n{out}");
    eprintln!(
        "[{name}] pyhanko validate: {}",
        out.lines()
            .filter(|l| l.contains("entire file") || l.contains("judged"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let (ok, out) = run(Command::new(&pyhanko)
        .args(["sign", "adesverify", "--trust"])
        .arg(&cert)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&file));
    assert!(ok && out.contains("INTACT"), "[{name}] pyhanko sign adesverify did not say INTACT:\n{out}");
    eprintln!("[{name}] pyhanko adesverify: {}", out.trim());

    // openssl cms -verify on the extracted DER and signed bytes.
    let rep = verify_pdf(signed, Some(cert_pem.as_bytes())).unwrap();
    let [_, a, b, c] = rep.byte_range;
    let contents = hex_decode(&signed[a + 1..b - 1]);
    let der = &contents[..der_len(&contents)];
    let signed_bytes = [&signed[..a], &signed[b..b + c]].concat();
    std::fs::write(dir.join("sig.der"), der).unwrap();
    std::fs::write(dir.join("signed-bytes.bin"), &signed_bytes).unwrap();
    let openssl = tool("openssl", None, "install openssl");
    let (ok, out) = run(Command::new(&openssl)
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(dir.join("sig.der"))
        .arg("-content")
        .arg(dir.join("signed-bytes.bin"))
        .args(["-binary", "-purpose", "any", "-out", "/dev/null", "-CAfile"])
        .arg(&cert));
    assert!(ok && out.contains("CMS Verification successful"), "[{name}] openssl cms -verify failed:\n{out}");
    // No signing-time attribute (PAdES B-B), but signing-certificate-v2 present.
    let (ok, out) = run(Command::new(&openssl)
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(dir.join("sig.der")));
    assert!(ok, "openssl cms -print failed:\n{out}");
    assert!(!out.contains("signingTime"), "[{name}] CMS must not carry signingTime:\n{out}");
    assert!(
        out.contains("id-smime-aa-signingCertificateV2") || out.contains("1.2.840.113549.1.9.16.2.47"),
        "[{name}] no signing-certificate-v2:\n{out}"
    );
    eprintln!("[{name}] openssl cms -verify: CMS Verification successful");
    let _ = std::fs::remove_dir_all(&dir);
}

fn sign_and_check(pdf: &[u8], pair: &(String, String), name: &str) -> Vec<u8> {
    let signer = signer_of(pair);
    let signed = sign_pdf(pdf, &signer, &opts()).unwrap();
    assert!(signed.starts_with(pdf), "the original bytes must be kept (incremental update)");
    let rep = verify_pdf(&signed, Some(pair.1.as_bytes())).unwrap();
    assert!(rep.is_valid(), "{rep:?}");
    assert_eq!(rep.byte_range[0], 0);
    assert_eq!(rep.byte_range[2] + rep.byte_range[3], signed.len());
    assert_eq!(rep.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(rep.cert_sha256, signer.cert_sha256());
    assert_eq!(rep.signer_cn, signer.subject_common_name());
    // Determinism: same input, key and options -> identical bytes.
    let again = sign_pdf(pdf, &signer, &opts()).unwrap();
    assert!(again == signed, "[{name}] signing is not deterministic");
    check_with_tools(&signed, &pair.1, name);
    signed
}

#[test]
fn p256_classic_xref() {
    let signed = sign_and_check(&hand_pdf(), p256_pair(), "p256-classic");
    let tail = String::from_utf8_lossy(&signed[hand_pdf().len()..]).into_owned();
    assert!(tail.contains("\nxref\n") && tail.contains("/Prev "), "increment must use a classic xref with /Prev");
}

#[test]
fn rsa_classic_xref() {
    sign_and_check(&fixture("plain.pdf"), &rsa_pair(), "rsa-classic");
}

#[test]
fn p256_xref_stream_object_streams() {
    let pdf = fixture("objstm.pdf");
    let signed = sign_and_check(&pdf, p256_pair(), "p256-objstm");
    let tail = String::from_utf8_lossy(&signed[pdf.len()..]).into_owned();
    assert!(tail.contains("/Type/XRef") && tail.contains("/Prev "), "increment must use an xref stream with /Prev");
    assert!(!tail.contains("ObjStm"), "nothing new may go into an object stream");
}

#[test]
fn rsa_xref_stream_object_streams() {
    sign_and_check(&fixture("objstm.pdf"), &rsa_pair(), "rsa-objstm");
}

#[test]
fn second_signature_on_signed_file() {
    // Countersigning: the second increment sees an inline /AcroForm with one field.
    let pair = p256_pair();
    let signer = signer_of(pair);
    let once = sign_pdf(&fixture("objstm.pdf"), &signer, &opts()).unwrap();
    let twice = sign_pdf(&once, &signer, &opts()).unwrap();
    let rep = verify_pdf(&twice, None).unwrap();
    assert!(rep.is_valid(), "{rep:?}");
    assert!(rep.byte_range[1] > once.len(), "the last signature must be the new one");
    // The first signature no longer covers the whole file.
    let rep1 = verify_pdf(&once, None).unwrap();
    assert!(rep1.is_valid());
    let qpdf = tool("qpdf", None, "install qpdf");
    let dir = workdir("twice");
    std::fs::write(dir.join("t.pdf"), &twice).unwrap();
    let (ok, out) = run(Command::new(&qpdf).arg("--check").arg(dir.join("t.pdf")));
    assert!(ok, "qpdf --check: {out}");
    let pdfsig = tool("pdfsig", None, "install poppler-utils");
    let (_, out) = run(Command::new(&pdfsig).arg(dir.join("t.pdf")));
    assert_eq!(out.matches("Signature is Valid").count(), 2, "{out}");
    assert!(out.contains("Signature2"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tampering_is_detected() {
    for (name, pair) in [("p256", p256_pair().clone()), ("rsa", rsa_pair())] {
        let signed = sign_pdf(&fixture("objstm.pdf"), &signer_of(&pair), &opts()).unwrap();
        let rep = verify_pdf(&signed, None).unwrap();
        let [_, a, b, c] = rep.byte_range;
        assert_eq!(b + c, signed.len());
        let flip_offsets = [0, a / 2, a - 1, b, b + c / 2, signed.len() - 1];
        for off in flip_offsets {
            let mut t = signed.clone();
            t[off] ^= 0x01;
            // Refusing the file (Err) is fine too.
            if let Ok(r) = verify_pdf(&t, None) {
                assert!(!r.digest_ok, "[{name}] flip at {off} not detected: {r:?}");
            }
        }
        // Inside /Contents: padding vs DER.
        let contents = hex_decode(&signed[a + 1..b - 1]);
        let der_hex_len = 2 * der_len(&contents);
        let pad = a + 1 + der_hex_len + 100;
        let mut t = signed.clone();
        t[pad] = b'0' + ((t[pad] - b'0' + 1) % 10); // '0' -> '1'
        assert_ne!(t, signed);
        assert_eq!(verify_pdf(&t, None).unwrap(), rep, "[{name}] a padding flip must change nothing");
        // A hex digit near the end of the DER = inside the signature value.
        let inside = a + 1 + der_hex_len - 6;
        let mut t = signed.clone();
        t[inside] = if t[inside] == b'a' {
            b'b'
        } else if t[inside].is_ascii_digit() && t[inside] != b'9' {
            t[inside] + 1
        } else {
            b'a'
        };
        let r = verify_pdf(&t, None).unwrap();
        assert!(!r.signature_ok, "[{name}] DER flip not detected: {r:?}");
        assert!(r.digest_ok, "[{name}] the ranges themselves are unchanged");
        // A flip inside the message-digest attribute: digest mismatch (or refusal).
        let md_pos = contents.windows(2).position(|w| w == [0x04, 0x20]).unwrap();
        let mut t = signed.clone();
        let at = a + 1 + 2 * (md_pos + 2);
        t[at] = if t[at] == b'f' {
            b'e'
        } else if t[at] == b'9' {
            b'a'
        } else {
            t[at] + 1
        };
        if let Ok(r) = verify_pdf(&t, None) {
            assert!(!r.digest_ok || !r.signature_ok, "[{name}] message-digest flip not detected: {r:?}");
        }
    }
}

#[test]
fn padding_flip_is_ignored_by_verify() {
    // A flip in the zero padding is outside the DER: still a valid signature.
    let signed = sign_pdf(&hand_pdf(), &signer_of(p256_pair()), &opts()).unwrap();
    let rep = verify_pdf(&signed, None).unwrap();
    let [_, a, b, _] = rep.byte_range;
    let mut t = signed.clone();
    let last_hex = b - 2;
    t[last_hex] = b'7';
    assert_eq!(verify_pdf(&t, None).unwrap(), rep);
    let _ = a;
}

#[test]
fn verify_rejects_wrong_trusted_cert() {
    let signed = sign_pdf(&hand_pdf(), &signer_of(p256_pair()), &opts()).unwrap();
    let (_, other) = rsa_pair();
    let err = verify_pdf(&signed, Some(other.as_bytes())).unwrap_err();
    assert!(matches!(err, SealError::Untrusted { .. }), "{err}");
    assert!(matches!(verify_pdf(&hand_pdf(), None), Err(SealError::NoSignature(_))));
}

#[test]
fn load_signer_checks() {
    let (key, cert) = p256_pair();
    let (rsa_key, rsa_cert) = rsa_pair();
    // Wrong key for the certificate (both directions, and across key types).
    let other = keygen("Other", "Org", "2026-01-01", "2027-12-31").unwrap();
    assert!(matches!(load_signer(other.0.as_bytes(), cert.as_bytes(), AT), Err(SealError::KeyMismatch)));
    assert!(matches!(load_signer(rsa_key.as_bytes(), cert.as_bytes(), AT), Err(SealError::KeyMismatch)));
    assert!(matches!(load_signer(key.as_bytes(), rsa_cert.as_bytes(), AT), Err(SealError::KeyMismatch)));
    let msg = SealError::KeyMismatch.to_string();
    assert!(msg.contains("--sign-cert"), "{msg}");
    // Validity at the request date (not the clock); boundaries are inclusive days.
    let err = load_signer(key.as_bytes(), cert.as_bytes(), "2028-01-01").unwrap_err();
    assert!(matches!(err, SealError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("2027-12-31"), "{err}");
    let err = load_signer(key.as_bytes(), cert.as_bytes(), "2025-12-31").unwrap_err();
    assert!(matches!(err, SealError::NotYetValid { .. }), "{err}");
    load_signer(key.as_bytes(), cert.as_bytes(), "2026-01-01").unwrap();
    load_signer(key.as_bytes(), cert.as_bytes(), "2027-12-31").unwrap();
    assert!(matches!(load_signer(key.as_bytes(), cert.as_bytes(), "27/11/2026"), Err(SealError::BadDate { .. })));
    // Garbage.
    let err = load_signer(b"garbage", cert.as_bytes(), AT).unwrap_err();
    assert!(matches!(err, SealError::BadKey(_)), "{err}");
    assert!(err.to_string().contains("no PEM private key"), "{err}");
    let err = load_signer(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", cert.as_bytes(), AT)
        .unwrap_err();
    assert!(matches!(err, SealError::BadKey(_)), "{err}");
    let err = load_signer(key.as_bytes(), b"not a cert", AT).unwrap_err();
    assert!(matches!(err, SealError::BadCert(_)), "{err}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let err =
        load_signer(key.as_bytes(), b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", AT).unwrap_err();
    assert!(matches!(err, SealError::BadCert(_)), "{err}");
    let err = load_signer(&[0x30, 0x82, 0x01, 0x00, 0xff], cert.as_bytes(), AT).unwrap_err();
    assert!(err.to_string().contains("PKCS#12"), "{err}");
    let err = load_signer(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        cert.as_bytes(),
        AT,
    )
    .unwrap_err();
    assert!(err.to_string().contains("password-protected"), "{err}");
    // Other key encodings: PKCS#1 RSA and SEC1 EC.
    let s = load_signer(&fixture("test-rsa-2048.pkcs1.pem"), rsa_cert.as_bytes(), AT).unwrap();
    assert_eq!(s.subject_common_name(), "Test Signer RSA");
    let sec1 = fixture("test-p256.sec1.pem");
    let sec1_cert = self_signed_cert(&sec1, "Sec1 Signer", "Org", "2026-01-01", "2026-12-31").unwrap();
    let s = load_signer(&sec1, sec1_cert.as_bytes(), AT).unwrap();
    assert!(s.warnings().is_empty());
    assert_eq!(s.cert_sha256().len(), 64);
    // Key usage: digitalSignature required, nonRepudiation only warned about.
    let s = load_signer(&sec1, &fixture("cert-no-nonrepudiation.pem"), AT).unwrap();
    assert_eq!(s.warnings().len(), 1, "{:?}", s.warnings());
    assert!(s.warnings()[0].contains("nonRepudiation"));
    let err = load_signer(&sec1, &fixture("cert-no-digitalsignature.pem"), AT).unwrap_err();
    assert!(matches!(err, SealError::MissingKeyUsage(_)), "{err}");
    assert!(err.to_string().contains("digitalSignature"), "{err}");
}

#[test]
fn keygen_certificate_profile() {
    let (key, cert) = p256_pair();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    let s = signer_of(p256_pair());
    assert_eq!(s.subject_common_name(), "Test Signer P256");
    // Inspect with openssl: key usage critical, CA:false, SKI.
    let dir = workdir("keygen");
    std::fs::write(dir.join("c.pem"), cert).unwrap();
    let openssl = tool("openssl", None, "install openssl");
    let (ok, out) = run(Command::new(&openssl).args(["x509", "-noout", "-text", "-in"]).arg(dir.join("c.pem")));
    assert!(ok, "{out}");
    assert!(out.contains("X509v3 Key Usage: critical"), "{out}");
    assert!(out.contains("Digital Signature, Non Repudiation"), "{out}");
    assert!(out.contains("CA:FALSE"), "{out}");
    assert!(out.contains("X509v3 Subject Key Identifier"), "{out}");
    assert!(
        out.contains("O = Seal Test Council, CN = Test Signer P256")
            || out.contains("O=Seal Test Council, CN=Test Signer P256"),
        "{out}"
    );
    assert!(out.contains("Not After : Dec 31 23:59:59 2027 GMT"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    // Bad dates are refused.
    assert!(matches!(keygen("x", "y", "2026-02-30", "2027-01-01"), Err(SealError::BadDate { .. })));
}

#[test]
fn sign_refuses_bad_inputs() {
    let signer = signer_of(p256_pair());
    let mut o = opts();
    o.signing_time = "2026-11-27 09:30".into();
    assert!(matches!(sign_pdf(&hand_pdf(), &signer, &o), Err(SealError::BadDate { .. })));
    let pdf = hand_pdf();
    let truncated = &pdf[..pdf.len() - 10];
    assert!(matches!(sign_pdf(truncated, &signer, &opts()), Err(SealError::Pdf(_))));
    // A file without a final end-of-line still gets a valid increment.
    let trimmed = &pdf[..pdf.len() - 1];
    let signed = sign_pdf(trimmed, &signer, &opts()).unwrap();
    assert!(verify_pdf(&signed, None).unwrap().is_valid());
    // Non-ASCII text strings become UTF-16BE and still verify.
    let mut o = opts();
    o.reason = "Disclosure – Ünïcødé".into();
    let signed = sign_pdf(&pdf, &signer, &o).unwrap();
    assert!(verify_pdf(&signed, None).unwrap().is_valid());
}

#[test]
fn verifies_foreign_pyhanko_signatures() {
    // Signatures we did not write (pyHanko, PAdES): our verifier must accept them, and
    // countersigning such a file must keep both signatures valid.
    for (pdf, cert) in
        [("pyhanko-signed.pdf", "pyhanko-signed.cert.pem"), ("pyhanko-signed-p256.pdf", "pyhanko-signed-p256.cert.pem")]
    {
        let pdf = fixture(pdf);
        let cert = fixture(cert);
        let rep = verify_pdf(&pdf, Some(&cert)).unwrap();
        assert!(rep.is_valid(), "{rep:?}");
        assert_eq!(rep.sub_filter, "ETSI.CAdES.detached");
        assert!(rep.signer_cn.starts_with("pyHanko Signed Fixture"), "{rep:?}");
        let mut t = pdf.clone();
        let mid = rep.byte_range[1] / 2;
        t[mid] ^= 0x20;
        if let Ok(r) = verify_pdf(&t, None) {
            assert!(!r.digest_ok);
        }

        let signed = sign_pdf(&pdf, &signer_of(p256_pair()), &opts()).unwrap();
        assert!(verify_pdf(&signed, None).unwrap().is_valid());
        let dir = workdir("countersign");
        std::fs::write(dir.join("c.pdf"), &signed).unwrap();
        let pdfsig = tool("pdfsig", None, "install poppler-utils");
        let (_, out) = run(Command::new(&pdfsig).arg(dir.join("c.pdf")));
        assert_eq!(out.matches("Signature is Valid").count(), 2, "{out}");
        let qpdf = tool("qpdf", None, "install qpdf");
        let (ok, out) = run(Command::new(&qpdf).arg("--check").arg(dir.join("c.pdf")));
        assert!(ok, "{out}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn indirect_acroform_fields_and_annots() {
    // /AcroForm, its /Fields and the page /Annots as indirect objects, with an existing
    // link annotation and an existing (text) field named Signature1.
    let pdf = hand_pdf_with(
        "/AcroForm 7 0 R ",
        "/Annots 9 0 R ",
        &[
            "<< /Fields 8 0 R /DA (/Helv 0 Tf 0 g) >>",
            "[10 0 R]",
            "[11 0 R]",
            "<< /FT /Tx /T (Signature1) /V (x) /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>",
            "<< /Type /Annot /Subtype /Link /Rect [72 700 200 720] /Border [0 0 0] >>",
        ],
    );
    let pair = p256_pair();
    let signed = sign_pdf(&pdf, &signer_of(pair), &opts()).unwrap();
    let tail = String::from_utf8_lossy(&signed[pdf.len()..]).into_owned();
    assert!(tail.contains("/T (Signature2)"), "field name must be unique: {tail}");
    assert!(tail.contains("\n8 0 obj\n[10 0 R 13 0 R]"), "indirect /Fields updated: {tail}");
    assert!(tail.contains("\n9 0 obj\n[11 0 R 13 0 R]"), "indirect /Annots updated: {tail}");
    assert!(tail.contains("/SigFlags 3"), "{tail}");
    assert!(!tail.contains("\n1 0 obj"), "catalog unchanged when /AcroForm is indirect");
    check_with_tools(&signed, &pair.1, "indirect");
}

#[test]
fn rsa_output_is_pinned_across_processes() {
    // Fixed key (fixture), deterministic certificate, fixed options: the signed bytes are a
    // pure function of the inputs, across processes and machines. If this hash changes,
    // the output format changed (or a dependency did): check the diff deliberately.
    use sha2::Digest;
    let signed = sign_pdf(&fixture("plain.pdf"), &signer_of(&rsa_pair()), &opts()).unwrap();
    let hash: String = sha2::Sha256::digest(&signed).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, "8a2b497faf318102088f73773d73430285e0ded8c6cb9ea2f6950c6a2ab1acfd");
}
