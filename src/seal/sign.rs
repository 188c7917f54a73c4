//! PAdES B-B signing as an incremental update.

use super::keys::{KeyKind, Signer};
use super::{SealError, SIGNATURE_RESERVE};

use std::collections::BTreeMap;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::ContentInfo;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use lopdf::{Dictionary, Object, ObjectId};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

/// What goes into the signature dictionary besides the signature itself.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// "YYYY-MM-DDTHH:MM:SSZ", written into `/M` as `D:YYYYMMDDHHMMSS+00'00'`.
    /// Not a CMS attribute (PAdES B-B forbids the signing-time attribute).
    pub signing_time: String,
    /// `/Reason` (omitted when empty).
    pub reason: String,
    /// `/Location` (omitted when empty).
    pub location: String,
    /// `/ContactInfo` (omitted when empty).
    pub contact: String,
    /// `/Name` (omitted when empty).
    pub name: String,
}

/// Width of the text between the `/ByteRange` brackets: "0 " + three 10-digit numbers
/// separated by spaces, plus slack.
const BYTE_RANGE_WIDTH: usize = 2 + 3 * 10 + 2 + 2;

/// Append an incremental update to a complete, already-saved PDF holding a PAdES B-B
/// signature (see the crate docs); the output is byte-identical for the same inputs.
pub fn sign_pdf(pdf: &[u8], signer: &Signer, opts: &SignOptions) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::with_capacity(pdf.len() + 2 * SIGNATURE_RESERVE + 4096);
    out.extend_from_slice(pdf);
    sign_pdf_in_place(out, signer, opts)
}

/// [`sign_pdf`], appending the increment to the PDF's own buffer instead of a copy of it (a
/// large bundle is then held once, not twice).
pub fn sign_pdf_in_place(pdf: Vec<u8>, signer: &Signer, opts: &SignOptions) -> Result<Vec<u8>, SealError> {
    let pdf_date = pdf_date(&opts.signing_time)?;
    let prev = last_startxref(&pdf)?;
    let classic = {
        let mut i = prev;
        while i < pdf.len() && is_ws(pdf[i]) {
            i += 1;
        }
        pdf[i..].starts_with(b"xref")
    };

    let mut doc = super::load_structure(&pdf).map_err(|e| SealError::Pdf(format!("the pdf does not parse: {e}")))?;
    if doc.get_pages().is_empty() {
        // lopdf repairs a damaged page tree only on a whole load: try that before giving up.
        doc = lopdf::Document::load_mem(&pdf).map_err(|e| SealError::Pdf(format!("the pdf does not parse: {e}")))?;
    }
    if doc.is_encrypted() || doc.was_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(SealError::Pdf("encrypted pdfs cannot be signed; sign the unencrypted bundle".into()));
    }
    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| SealError::Pdf("the trailer has no /Root reference".into()))?;
    let mut catalog = doc
        .get_dictionary(root_id)
        .map_err(|_| SealError::Pdf("the /Root catalog is not a dictionary".into()))?
        .clone();
    let pages = doc.get_pages();
    let Some(&page_id) = pages.values().next() else {
        return Err(SealError::Pdf("the pdf has no pages".into()));
    };
    let mut page =
        doc.get_dictionary(page_id).map_err(|_| SealError::Pdf("the first page is not a dictionary".into()))?.clone();

    let trailer_size = doc.trailer.get(b"Size").and_then(Object::as_i64).unwrap_or(0).max(0) as u32;
    let next_id = trailer_size.max(doc.max_id + 1);
    let sig_id: ObjectId = (next_id, 0);
    let widget_id: ObjectId = (next_id + 1, 0);
    let xref_stream_id = next_id + 2;
    let new_size = if classic { next_id + 2 } else { next_id + 3 };

    // Objects to rewrite in the increment (plain indirect objects), by id.
    let mut updated: BTreeMap<ObjectId, Object> = BTreeMap::new();

    // --- AcroForm / Fields in the catalog -------------------------------------------
    let (acroform_ref, mut acroform) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            doc.get_dictionary(*id).map_err(|_| SealError::Pdf("/AcroForm is not a dictionary".into()))?.clone(),
        ),
        Ok(Object::Dictionary(d)) => (None, d.clone()),
        _ => (None, Dictionary::new()),
    };
    let (fields_ref, mut fields) = match acroform.get(b"Fields") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            doc.get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| SealError::Pdf("/AcroForm /Fields is not an array".into()))?
                .clone(),
        ),
        Ok(Object::Array(a)) => (None, a.clone()),
        _ => (None, Vec::new()),
    };
    let field_name = unique_field_name(&doc, &fields);
    fields.push(Object::Reference(widget_id));
    match fields_ref {
        Some(id) => {
            updated.insert(id, Object::Array(fields));
        }
        None => acroform.set("Fields", Object::Array(fields)),
    }
    acroform.set("SigFlags", Object::Integer(3));
    match acroform_ref {
        Some(id) => {
            updated.insert(id, Object::Dictionary(acroform));
        }
        None => {
            catalog.set("AcroForm", Object::Dictionary(acroform));
        }
    }
    if acroform_ref.is_none() {
        updated.insert(root_id, Object::Dictionary(catalog));
    }

    // --- Widget in the first page's /Annots ------------------------------------------
    match page.get(b"Annots") {
        Ok(Object::Reference(id)) => {
            let mut annots = doc
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| SealError::Pdf("the first page's /Annots is not an array".into()))?
                .clone();
            annots.push(Object::Reference(widget_id));
            updated.insert(*id, Object::Array(annots));
        }
        Ok(Object::Array(a)) => {
            let mut annots = a.clone();
            annots.push(Object::Reference(widget_id));
            page.set("Annots", Object::Array(annots));
            updated.insert(page_id, Object::Dictionary(page));
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Reference(widget_id)]));
            updated.insert(page_id, Object::Dictionary(page));
        }
    }

    // The trailer of the increment keeps the original's /Info and /ID.
    let mut trailer_extra = Vec::new();
    trailer_extra.extend_from_slice(format!("/Root {} {} R", root_id.0, root_id.1).as_bytes());
    for key in ["Info", "ID"] {
        if let Ok(v) = doc.trailer.get(key.as_bytes()) {
            trailer_extra.extend_from_slice(format!("/{key} ").as_bytes());
            write_object(&mut trailer_extra, v)?;
        }
    }
    trailer_extra.extend_from_slice(format!("/Prev {prev}").as_bytes());
    drop(doc); // everything needed from the parsed structure has been taken

    // --- Write the increment -----------------------------------------------------------
    let mut out = pdf;
    out.reserve(2 * SIGNATURE_RESERVE + 4096);
    if !matches!(out.last(), Some(b'\n') | Some(b'\r')) {
        out.push(b'\n');
    }
    let mut offsets: BTreeMap<u32, (u16, usize)> = BTreeMap::new();

    // Signature dictionary.
    offsets.insert(sig_id.0, (0, out.len()));
    out.extend_from_slice(format!("{} 0 obj\n", sig_id.0).as_bytes());
    out.extend_from_slice(b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange [");
    let br_pos = out.len();
    let placeholder = format!("{:<width$}", "0 0000000000 0000000000 0000000000", width = BYTE_RANGE_WIDTH);
    out.extend_from_slice(placeholder.as_bytes());
    out.extend_from_slice(b"]\n/Contents ");
    let contents_start = out.len(); // offset of '<'
    out.push(b'<');
    out.resize(out.len() + 2 * SIGNATURE_RESERVE, b'0');
    out.push(b'>');
    let contents_end = out.len(); // offset just after '>'
    out.extend_from_slice(b"\n/M ");
    out.extend_from_slice(&text_string(&pdf_date));
    for (key, value) in
        [("Name", &opts.name), ("Reason", &opts.reason), ("Location", &opts.location), ("ContactInfo", &opts.contact)]
    {
        if !value.is_empty() {
            out.extend_from_slice(format!("\n/{key} ").as_bytes());
            out.extend_from_slice(&text_string(value));
        }
    }
    out.extend_from_slice(b">>\nendobj\n");

    // Invisible signature widget (also the field).
    offsets.insert(widget_id.0, (0, out.len()));
    out.extend_from_slice(format!("{} 0 obj\n", widget_id.0).as_bytes());
    out.extend_from_slice(b"<</Type/Annot/Subtype/Widget/FT/Sig/T ");
    out.extend_from_slice(&text_string(&field_name));
    out.extend_from_slice(
        format!("/V {} 0 R/Rect [0 0 0 0]/F 132/P {} {} R>>\nendobj\n", sig_id.0, page_id.0, page_id.1).as_bytes(),
    );

    // Updated catalog / page / AcroForm / arrays.
    for (id, obj) in &updated {
        offsets.insert(id.0, (id.1, out.len()));
        out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        write_object(&mut out, obj)?;
        out.extend_from_slice(b"\nendobj\n");
    }

    // Cross-reference section in the style of the original.

    if classic {
        let xref_pos = out.len();
        out.extend_from_slice(b"xref\n");
        for run in runs(&offsets) {
            out.extend_from_slice(format!("{} {}\n", run[0].0, run.len()).as_bytes());
            for (_, (gen, off)) in run {
                out.extend_from_slice(format!("{off:010} {gen:05} n\r\n").as_bytes());
            }
        }
        out.extend_from_slice(format!("trailer\n<</Size {new_size}").as_bytes());
        out.extend_from_slice(&trailer_extra);
        out.extend_from_slice(format!(">>\nstartxref\n{xref_pos}\n%%EOF\n").as_bytes());
    } else {
        let xref_pos = out.len();
        offsets.insert(xref_stream_id, (0, xref_pos));
        let mut index = String::new();
        let mut data = Vec::new();
        for run in runs(&offsets) {
            if !index.is_empty() {
                index.push(' ');
            }
            index.push_str(&format!("{} {}", run[0].0, run.len()));
            for (_, (gen, off)) in run {
                let off = u32::try_from(off).map_err(|_| SealError::Pdf("the pdf is larger than 4 GiB".into()))?;
                data.push(1u8);
                data.extend_from_slice(&off.to_be_bytes());
                data.extend_from_slice(&gen.to_be_bytes());
            }
        }
        out.extend_from_slice(
            format!(
                "{xref_stream_id} 0 obj\n<</Type/XRef/Size {new_size}/Index [{index}]/W [1 4 2]/Length {}",
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&trailer_extra);
        out.extend_from_slice(b">>\nstream\n");
        out.extend_from_slice(&data);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_pos}\n%%EOF\n").as_bytes());
    }

    // --- Byte range, digest, CMS, patch --------------------------------------------
    let byte_range = [0, contents_start, contents_end, out.len() - contents_end];
    let br_text = format!("{} {} {} {}", byte_range[0], byte_range[1], byte_range[2], byte_range[3]);
    if br_text.len() > BYTE_RANGE_WIDTH {
        return Err(SealError::Pdf("the pdf is too large for the /ByteRange placeholder".into()));
    }
    let br_text = format!("{br_text:<width$}", width = BYTE_RANGE_WIDTH);
    out[br_pos..br_pos + BYTE_RANGE_WIDTH].copy_from_slice(br_text.as_bytes());

    let mut h = Sha256::new();
    h.update(&out[..contents_start]);
    h.update(&out[contents_end..]);
    let digest = h.finalize();

    let cms_der = build_cms(signer, &digest)?;
    if cms_der.len() > SIGNATURE_RESERVE {
        return Err(SealError::PlaceholderTooSmall { needed: cms_der.len(), reserved: SIGNATURE_RESERVE });
    }
    let hex = super::hex_lower(&cms_der);
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());

    // Self-check with the independent verifier before handing the bytes out.
    let report = super::verify::verify_pdf(&out, Some(&signer.cert_der_pem())).map_err(|e| {
        SealError::Pdf(format!("the signed output does not verify ({e}); this is a bug, please report it"))
    })?;
    if !report.is_valid() || report.byte_range != byte_range {
        return Err(SealError::Pdf(format!(
            "the signed output does not verify ({report:?}); this is a bug, please report it"
        )));
    }
    Ok(out)
}

/// Builds the detached CAdES SignedData (DER) over an already computed SHA-256 digest.
pub(crate) fn build_cms(signer: &Signer, digest: &[u8]) -> Result<Vec<u8>, SealError> {
    let econtent = EncapsulatedContentInfo { econtent_type: rfc5911::ID_DATA, econtent: None };
    let digest_alg = AlgorithmIdentifierOwned { oid: rfc5912::ID_SHA_256, parameters: None };
    let tbs = &signer.cert.tbs_certificate;
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer.clone(),
        serial_number: tbs.serial_number.clone(),
    });
    let ess = signing_certificate_v2(signer)?;

    let mut builder = SignedDataBuilder::new(&econtent);
    builder
        .add_digest_algorithm(digest_alg.clone())
        .map_err(cms_err("digest algorithm"))?
        .add_certificate(CertificateChoices::Certificate(signer.cert.clone()))
        .map_err(cms_err("certificate"))?;
    match &signer.key {
        KeyKind::P256(sk) => {
            let mut sib =
                SignerInfoBuilder::new(sk, sid, digest_alg, &econtent, Some(digest)).map_err(cms_err("signer info"))?;
            sib.add_signed_attribute(ess).map_err(cms_err("signing-certificate-v2"))?;
            builder.add_signer_info::<_, p256::ecdsa::DerSignature>(sib).map_err(cms_err("ecdsa signature"))?;
        }
        KeyKind::Rsa(sk) => {
            let mut sib = SignerInfoBuilder::new(sk.as_ref(), sid, digest_alg, &econtent, Some(digest))
                .map_err(cms_err("signer info"))?;
            sib.add_signed_attribute(ess).map_err(cms_err("signing-certificate-v2"))?;
            builder.add_signer_info::<_, rsa::pkcs1v15::Signature>(sib).map_err(cms_err("rsa signature"))?;
        }
    }
    let ci: ContentInfo = builder.build().map_err(cms_err("signed data"))?;
    ci.to_der().map_err(cms_err("content info"))
}

fn cms_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> SealError {
    move |e: E| SealError::Cms(format!("{what}: {e}"))
}

/// ESS signing-certificate-v2 (RFC 5035) with one ESSCertIDv2: SHA-256 (the DEFAULT, so
/// hashAlgorithm is omitted), the certificate hash and issuerSerial.
fn signing_certificate_v2(signer: &Signer) -> Result<Attribute, SealError> {
    let e = |e: der::Error| SealError::Cms(format!("signing-certificate-v2: {e}"));
    let tbs = &signer.cert.tbs_certificate;
    let cert_hash = Sha256::digest(&signer.cert_der);
    let issuer_der = tbs.issuer.to_der().map_err(e)?;
    let serial_der = tbs.serial_number.to_der().map_err(e)?;
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }
    // GeneralNames ::= SEQUENCE OF GeneralName; directoryName [4] EXPLICIT Name
    let general_names = tlv(0x30, &tlv(0xA4, &issuer_der));
    let issuer_serial = tlv(0x30, &[general_names, serial_der].concat());
    let hash = OctetString::new(cert_hash.to_vec()).map_err(e)?.to_der().map_err(e)?;
    let ess_cert_id = tlv(0x30, &[hash, issuer_serial].concat());
    let signing_cert = tlv(0x30, &tlv(0x30, &ess_cert_id));
    let value = Any::from_der(&signing_cert).map_err(e)?;
    Ok(Attribute { oid: rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, values: SetOfVec::try_from(vec![value]).map_err(e)? })
}

/// DER tag-length-value with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let bytes = (n as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        v.push(0x80 | (8 - skip) as u8);
        v.extend_from_slice(&bytes[skip..]);
    }
    v.extend_from_slice(content);
    v
}

/// Groups sorted (id -> entry) into runs of consecutive ids (xref subsections).
fn runs(offsets: &BTreeMap<u32, (u16, usize)>) -> Vec<Vec<(u32, (u16, usize))>> {
    let mut out: Vec<Vec<(u32, (u16, usize))>> = Vec::new();
    for (&id, &entry) in offsets {
        match out.last_mut() {
            Some(run) if run.last().map(|l| l.0 + 1) == Some(id) => run.push((id, entry)),
            _ => out.push(vec![(id, entry)]),
        }
    }
    out
}

/// "Signature1", or the first "SignatureN" not used by a top-level field.
fn unique_field_name(doc: &lopdf::Document, fields: &[Object]) -> String {
    let names: Vec<Vec<u8>> = fields
        .iter()
        .filter_map(|f| doc.dereference(f).ok())
        .filter_map(|(_, o)| o.as_dict().ok())
        .filter_map(|d| d.get(b"T").ok())
        .filter_map(|t| t.as_str().ok().map(|s| s.to_vec()))
        .collect();
    (1..).map(|n| format!("Signature{n}")).find(|n| !names.iter().any(|x| x == n.as_bytes())).unwrap()
}

pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

/// Offset given by the last `startxref` of the file (the file must end with `%%EOF`).
pub(crate) fn last_startxref(pdf: &[u8]) -> Result<usize, SealError> {
    let tail_start = pdf.len().saturating_sub(2048);
    let tail = &pdf[tail_start..];
    if find_last(tail, b"%%EOF").is_none() {
        return Err(SealError::Pdf("the pdf is incomplete (no %%EOF at the end); pass a completely saved file".into()));
    }
    let pos =
        find_last(tail, b"startxref").ok_or_else(|| SealError::Pdf("no startxref at the end of the pdf".into()))?;
    let mut i = tail_start + pos + b"startxref".len();
    while i < pdf.len() && is_ws(pdf[i]) {
        i += 1;
    }
    let start = i;
    while i < pdf.len() && pdf[i].is_ascii_digit() {
        i += 1;
    }
    let off: usize = std::str::from_utf8(&pdf[start..i])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SealError::Pdf("the startxref offset is not a number".into()))?;
    if off >= pdf.len() {
        return Err(SealError::Pdf("the startxref offset points past the end of the file".into()));
    }
    Ok(off)
}

pub(crate) fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).rev().find(|&i| &hay[i..i + needle.len()] == needle)
}

/// "YYYY-MM-DDTHH:MM:SSZ" -> "D:YYYYMMDDHHMMSS+00'00'".
fn pdf_date(s: &str) -> Result<String, SealError> {
    let bad = || SealError::BadDate { value: s.to_string(), expected: "YYYY-MM-DDTHH:MM:SSZ (UTC)" };
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return Err(bad());
    }
    super::parse_date(&s[..10]).map_err(|_| bad())?;
    let two = |r: std::ops::Range<usize>, max: u32| -> Result<String, SealError> {
        let p = &s[r];
        if !p.bytes().all(|c| c.is_ascii_digit()) || p.parse::<u32>().map_err(|_| bad())? > max {
            return Err(bad());
        }
        Ok(p.to_string())
    };
    let (hh, mm, ss) = (two(11..13, 23)?, two(14..16, 59)?, two(17..19, 59)?);
    Ok(format!("D:{}{}{}{hh}{mm}{ss}+00'00'", &s[0..4], &s[5..7], &s[8..10]))
}

/// A PDF text string: a literal string for printable ASCII, else UTF-16BE hex with BOM.
fn text_string(s: &str) -> Vec<u8> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let mut v = vec![b'('];
        for b in s.bytes() {
            if matches!(b, b'(' | b')' | b'\\') {
                v.push(b'\\');
            }
            v.push(b);
        }
        v.push(b')');
        v
    } else {
        let mut v = b"<FEFF".to_vec();
        for u in s.encode_utf16() {
            v.extend_from_slice(format!("{u:04X}").as_bytes());
        }
        v.push(b'>');
        v
    }
}

/// Serializes a (non-stream) lopdf object.
fn write_object(out: &mut Vec<u8>, obj: &Object) -> Result<(), SealError> {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => {
            if !r.is_finite() {
                return Err(SealError::Pdf("a real number in the pdf is not finite".into()));
            }
            out.extend_from_slice(format!("{r}").as_bytes())
        }
        Object::Name(n) => write_name(out, n),
        Object::String(s, fmt) => match fmt {
            lopdf::StringFormat::Hexadecimal => {
                out.push(b'<');
                out.extend_from_slice(super::hex_lower(s).as_bytes());
                out.push(b'>');
            }
            lopdf::StringFormat::Literal => {
                out.push(b'(');
                for &b in s {
                    match b {
                        b'(' | b')' | b'\\' => {
                            out.push(b'\\');
                            out.push(b);
                        }
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        _ => out.push(b),
                    }
                }
                out.push(b')');
            }
        },
        Object::Array(a) => {
            out.push(b'[');
            for (i, o) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, o)?;
            }
            out.push(b']');
        }
        Object::Dictionary(d) => write_dict(out, d)?,
        Object::Stream(_) => {
            return Err(SealError::Pdf("unexpected stream where a dictionary or array was expected".into()))
        }
        Object::Reference((n, g)) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
    }
    Ok(())
}

fn write_dict(out: &mut Vec<u8>, d: &Dictionary) -> Result<(), SealError> {
    out.extend_from_slice(b"<<");
    for (k, v) in d.iter() {
        write_name(out, k);
        out.push(b' ');
        write_object(out, v)?;
    }
    out.extend_from_slice(b">>");
    Ok(())
}

fn write_name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &b in n {
        let regular = (0x21..0x7f).contains(&b)
            && !matches!(b, b'#' | b'/' | b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'%');
        if regular {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}
