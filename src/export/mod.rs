//! `disclose export`: the pipeline for one request, stage by stage (store -> file -> detect ->
//! decide -> redact -> PDF -> seal -> audit). The signing key is checked before anything is
//! written; every output is written under a temporary name in the output folder and renamed, so a
//! failed run leaves no half-written file.

use crate::audit::{self, AuditEntry};
use crate::detect::Detector;
use crate::file::CaseFile;
use crate::model::*;
use crate::pdf::bundle::{self, BundleInput};
use crate::policy::{self, Action, AttachmentInput, Plan, Policy};
use crate::redact;
use crate::seal::manifest::{self, Manifest, ManifestCore};
use crate::seal::{self, Signer};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub mod memtrace;
pub mod staged;
use memtrace::mark;
pub use staged::Staged;

/// A resolved export request.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub subject: PersonId,
    pub requester: Option<PersonId>,
    pub policy: String,
    pub out: PathBuf,
    pub export: Option<ExportId>,
    pub date: Option<String>,
    pub officer: Option<String>,
    /// How to sign the bundle, if at all.
    pub sign: Option<SignWith>,
}

/// A signing key: PEM key and certificate, or a PKCS#12 file with the name of the environment
/// variable that holds its password.
#[derive(Clone, Debug)]
pub enum SignWith {
    Pem { key: PathBuf, cert: PathBuf },
    Pkcs12 { file: PathBuf, password_env: String },
}

impl SignWith {
    /// From the command line's flags: a key with a certificate is PEM; a key alone is PKCS#12.
    pub fn from_flags(key: Option<PathBuf>, cert: Option<PathBuf>, password_env: &str) -> Option<SignWith> {
        match (key, cert) {
            (Some(key), Some(cert)) => Some(SignWith::Pem { key, cert }),
            (Some(file), None) => Some(SignWith::Pkcs12 { file, password_env: password_env.to_string() }),
            _ => None,
        }
    }

    fn load(&self, date: &str) -> Result<Signer> {
        match self {
            SignWith::Pem { key, cert } => {
                let k = std::fs::read(key).with_context(|| format!("reading the signing key {}", key.display()))?;
                if !k.starts_with(b"-----") && !String::from_utf8_lossy(&k).contains("-----BEGIN") {
                    bail!(
                        "the signing key {} is not PEM; for a PKCS#12 file pass it alone as --sign-key",
                        key.display()
                    );
                }
                let c = std::fs::read(cert)
                    .with_context(|| format!("reading the signing certificate {}", cert.display()))?;
                Ok(seal::load_signer(&k, &c, date)?)
            }
            SignWith::Pkcs12 { file, password_env } => {
                let p = std::fs::read(file).with_context(|| format!("reading the signing key {}", file.display()))?;
                if String::from_utf8_lossy(&p).contains("-----BEGIN") {
                    bail!("the signing key {} is PEM: pass its certificate with --sign-cert", file.display());
                }
                let pass = std::env::var(password_env).unwrap_or_default();
                Ok(seal::load_signer_pkcs12(&p, &pass, date)?)
            }
        }
    }
}

/// What a run produced.
pub struct ExportOutcome {
    pub plan: Plan,
    pub files: Vec<PathBuf>,
    pub manifest: Manifest,
    pub warnings: Vec<String>,
}

/// The outputs of one request, staged under temporary names in the output folder: nothing is in
/// place until [`Staged::commit`], and dropping them uncommitted removes every staged file.
pub struct Outputs {
    pub plan: Plan,
    pub staged: Staged,
    pub manifest: Manifest,
    pub removed: Vec<(String, String, usize)>,
    pub inputs: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

/// Run one request against the store: build, write, and record it in the audit trail.
pub fn run(store: &mut Store, req: &ExportRequest) -> Result<ExportOutcome> {
    let mut o = build(store, req)?;
    let files = o.staged.commit()?;
    mark("writing");
    audit_outputs(store, req, &o)?;
    Ok(ExportOutcome { plan: o.plan, files, manifest: o.manifest, warnings: o.warnings })
}

/// Record a written export in the audit trail, with the hashes of the text it removed.
pub fn audit_outputs(store: &mut Store, req: &ExportRequest, o: &Outputs) -> Result<()> {
    let p = &o.plan;
    let entry = AuditEntry {
        run_at: time::now_utc(),
        export: p.request.export.to_string(),
        subject: p.request.subject.to_string(),
        requester: p.request.requester.to_string(),
        policy: p.request.policy.clone(),
        policy_sha256: p.request.policy_sha256.clone(),
        officer: req.officer.clone().unwrap_or_else(os_user),
        date: p.request.date.clone(),
        inputs: o.inputs.clone(),
        manifest_sha256: o.manifest.core_sha256.clone(),
        bundle_sha256: o.manifest.bundle_sha256.clone(),
        signed: o.manifest.signed,
        counts: p.counts(),
        review: p.review.iter().map(|r| r.location.describe()).collect(),
        verification_failures: p.verification_failures,
    };
    audit::record(store, &entry, &o.removed)?;
    Ok(())
}

/// The officer from the OS, when `--officer` is not given.
pub fn os_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into())
}

/// Build every output of one request, staged in the output folder under temporary names (the
/// store is only read; nothing is in place until the outputs are committed).
pub fn build(store: &Store, req: &ExportRequest) -> Result<Outputs> {
    memtrace::begin();
    let export = store.export_of(&req.subject, req.export.as_ref())?;
    let fam = store.load_family(&export)?;
    mark("loading the family");
    let requester = req.requester.clone().unwrap_or_else(|| req.subject.clone());
    if fam.person(&requester).is_none() {
        bail!("requester {requester} is not a person in export {export}; pass --requester with a person id of this family");
    }
    let policy = Policy::load(&req.policy)?;
    let date = match &req.date {
        Some(d) => {
            Date::parse(d).with_context(|| "--date must be YYYY-MM-DD".to_string())?;
            d.clone()
        }
        None => fam.header.exported_at.date().map(|d| d.iso()).unwrap_or_else(|| "1970-01-01".into()),
    };
    // The key is checked before any work or output (wrong key, mismatched or expired certificate).
    let signer = match &req.sign {
        Some(s) => Some(s.load(&date)?),
        None => None,
    };
    let mut warnings: Vec<String> = signer.as_ref().map(|s| s.warnings().to_vec()).unwrap_or_default();
    let file = CaseFile::build(&fam, &req.subject)?;
    let det = Detector::new(&fam);
    let read = read_attachments(store, &file)?;
    mark("reading attachments");
    let inputs_text: HashMap<AttachmentId, AttachmentInput> =
        read.iter().map(|(a, r)| (a.clone(), crate::pdf::attachment_input(r))).collect();
    let mut plan = policy::decide(&file, &det, &policy, &requester, &date, &inputs_text);
    mark("deciding");
    // True redaction inside the attachments; a page that fails verification is withheld (REV).
    let mut atts = crate::pdf::redact_attachments(&plan, &read);
    mark("redacting attachments");
    // A document whose pages cannot be placed in the bundle is withheld, not the whole export.
    atts.withhold_unplaceable();
    plan.sanitized = atts.sanitized.clone();
    hold_failed_pages(&mut plan, &atts, &fam);
    plan.verification_failures = atts.failed.len();
    drop(read); // the glyph lists of every attachment page are no longer needed
    mark("dropping the read attachments");
    let mut staged = Staged::new(&req.out);
    let redacted = std::sync::Arc::new(redact::redact(&file, &plan, &policy, &inputs_text));
    mark("redacting text");
    // The preview first: the removed words are checked against it, then it is on disk only.
    let preview = redact::preview(&redacted, &plan);
    let preview_sha256 = staged.write("preview.txt", preview.as_bytes())?;
    let removed = removed_hashes(&plan, &fam, &inputs_text, &preview);
    drop(preview);
    drop(inputs_text);
    mark("preview and removed words");
    let seal_line = signer.as_ref().map(|s| {
        format!(
            "sealed by {} with a digital signature. Check it with `disclose verify` or any PDF reader that shows signatures (certificate SHA-256 {}).",
            s.subject_common_name(),
            &s.cert_sha256()[..16]
        )
    });
    // Inputs that went in.
    let mut inputs = BTreeMap::new();
    inputs.insert(format!("export {export}"), store.export_source_hash(&export)?);
    for a in file.attachments() {
        if let Some(h) = fam.attachment_blobs.get(a) {
            inputs.insert(format!("attachment {a}"), h.clone());
        }
    }
    inputs.insert(format!("policy {}", policy.source), policy.sha256.clone());
    let council = fam.header.local_authority.name.clone();
    let prepared = bundle::prepare(&BundleInput {
        file: redacted.clone(),
        plan: &plan,
        policy: &policy,
        family: &fam,
        attachments: &atts.pages,
        seal_line,
    });
    // From here on the family, the file's view of it and the detector are not needed: a large
    // family's records are freed before the bundle is laid out.
    drop(redacted);
    drop(det);
    drop(file);
    drop(fam);
    mark("preparing the bundle");
    let bundle = bundle::finish(prepared, &plan, &policy).map_err(|e| anyhow::anyhow!("building the bundle: {e}"))?;
    drop(atts);
    mark("building the bundle");
    warnings.extend(bundle.warnings.iter().cloned());
    if policy.audience == policy::Audience::Court && bundle.pages > 350 {
        warnings.push(format!(
            "the court bundle has {} pages, more than the 350 that FPR PD27A allows without the court's permission",
            bundle.pages
        ));
    }
    // plan.json and the schedule go straight to disk.
    let plan_sha256 = {
        let mut w = staged.writer("plan.json")?;
        plan_json(&plan, &mut w).context("writing plan.json")?;
        w.finish()?
    };
    let schedule_sha256 = {
        let mut w = staged.writer("schedule.csv")?;
        redact::schedule_csv(&plan, &policy, &|loc| bundle::page_of(&bundle.anchors, loc), &mut w)
            .context("writing schedule.csv")?;
        w.finish()?
    };
    mark("plan and schedule");
    let mut request = BTreeMap::new();
    request.insert("export".to_string(), export.to_string());
    request.insert("subject".to_string(), req.subject.to_string());
    request.insert("requester".to_string(), requester.to_string());
    request.insert("policy".to_string(), policy.name.clone());
    request.insert("date".to_string(), date.clone());
    let mut outputs = BTreeMap::new();
    outputs.insert("plan.json".to_string(), plan_sha256);
    outputs.insert("preview.txt".to_string(), preview_sha256);
    outputs.insert("schedule.csv".to_string(), schedule_sha256);
    let core = ManifestCore {
        tool: format!("disclose {}", env!("CARGO_PKG_VERSION")),
        request,
        inputs: inputs.clone(),
        outputs,
    };
    let core_sha256 = core.hash();
    let bundle_bytes = sign(bundle.bytes, signer.as_ref(), &core_sha256, &date, &council)?;
    mark("signing");
    let bundle_sha256 = staged.write("bundle.pdf", &bundle_bytes)?;
    drop(bundle_bytes);
    let manifest = Manifest {
        bundle_sha256,
        core,
        core_sha256,
        signed: signer.is_some(),
        signer: signer.as_ref().map(|s| s.subject_common_name()),
        signer_cert_sha256: signer.as_ref().map(|s| s.cert_sha256()),
    };
    let manifest_json = serde_json::to_string_pretty(&manifest)? + "\n";
    staged.write("manifest.json", manifest_json.as_bytes())?;
    Ok(Outputs { plan, staged, manifest, removed, inputs, warnings })
}

/// plan.json: the plan as JSON with each decision on its own line, written field by field so
/// that no JSON tree (or string) of the whole plan is ever held in memory.
fn plan_json(plan: &Plan, out: &mut dyn std::io::Write) -> Result<()> {
    use serde_json::to_string as j;
    write!(out, "{{\n  \"request\": {},\n", j(&plan.request)?)?;
    writeln!(out, "  \"narrative_removed_percent\": {},", j(&plan.narrative_removed_percent)?)?;
    writeln!(out, "  \"verification_failures\": {},", plan.verification_failures)?;
    fn list<T: serde::Serialize>(out: &mut dyn std::io::Write, name: &str, items: &[T], last: bool) -> Result<()> {
        write!(out, "  \"{name}\": [")?;
        for (i, it) in items.iter().enumerate() {
            out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            serde_json::to_writer(&mut *out, it)?;
        }
        out.write_all(if items.is_empty() { b"]" } else { b"\n  ]" })?;
        out.write_all(if last { b"\n" } else { b",\n" })?;
        Ok(())
    }
    list(out, "review", &plan.review, false)?;
    list(out, "consult", &plan.consult, false)?;
    list(out, "narrative", &plan.narrative, false)?;
    list(out, "sanitized", &plan.sanitized, false)?;
    list(out, "decisions", &plan.decisions, true)?;
    out.write_all(b"}\n")?;
    Ok(())
}

/// Every attachment page that failed verification (or could not be placed) is held for review:
/// a review item and a REV decision each.
fn hold_failed_pages(plan: &mut Plan, atts: &crate::pdf::RedactedAttachments, fam: &Family) {
    for f in &atts.failed {
        // located as the plan locates the attachment's pages (under its record), so that the
        // bundle shows the page as withheld
        let loc = policy::Location {
            record: fam.attachment(&f.attachment).and_then(|a| a.record.clone()),
            attachment: Some(f.attachment.clone()),
            part: policy::Part::AttachmentPage { page: f.page },
        };
        let why = format!("verification after redaction failed: {}", f.problems.join("; "));
        plan.review.push(policy::ReviewItem {
            location: loc.clone(),
            reason: "REV".into(),
            rule: "R3.verification".into(),
            why: why.clone(),
        });
        plan.decisions.push(policy::Decision {
            location: loc,
            span: None,
            action: Action::Review,
            reason: Some("REV".into()),
            rule: "R3.verification".into(),
            label: None,
            explanation: why.into(),
            removed_chars: 0,
        });
    }
}

fn sign(bytes: Vec<u8>, signer: Option<&Signer>, core_sha256: &str, date: &str, council: &str) -> Result<Vec<u8>> {
    let Some(s) = signer else { return Ok(bytes) };
    let opts = seal::SignOptions {
        signing_time: format!("{date}T12:00:00Z"),
        reason: format!("Disclosure bundle released by {council}; manifest sha256 {core_sha256}"),
        location: council.to_string(),
        contact: String::new(),
        name: s.subject_common_name(),
    };
    Ok(seal::sign_pdf_in_place(bytes, s, &opts)?)
}

/// Hashes of the words removed by each redaction, for a later leak check; a run of words that
/// is still disclosed elsewhere in the file is left out (finding it again would not be a leak).
fn removed_hashes(
    plan: &Plan,
    fam: &Family,
    inputs: &HashMap<AttachmentId, AttachmentInput>,
    preview: &str,
) -> Vec<(String, String, usize)> {
    let mut runs = Vec::new();
    let mut locations = Vec::new();
    for d in plan.decisions.iter().filter(|d| d.action == Action::Redact) {
        let (Some(span), Some(text)) = (d.span, redact::unit_text(fam, inputs, &d.location)) else { continue };
        let Some(removed) = text.get(span.start()..span.end()) else { continue };
        let w = manifest::words(removed);
        if !w.is_empty() {
            runs.push(w);
            locations.push(d.location.describe());
        }
    }
    let kept = manifest::runs_found(preview, &runs);
    runs.into_iter()
        .zip(locations)
        .zip(kept)
        .filter(|(_, kept)| !kept)
        .map(|((w, loc), _)| (loc, manifest::words_hash(&w), w.len()))
        .collect()
}

type ReadMap = HashMap<AttachmentId, Result<crate::pdf::ReadAttachment, crate::pdf::core::PdfError>>;

/// Read every attachment on the file once (scans are not read: they are held for review).
fn read_attachments(store: &Store, file: &CaseFile<'_>) -> Result<ReadMap> {
    let mut blobs = Vec::new();
    for a in file.attachments() {
        let Some(att) = file.family.attachment(a) else { continue };
        if !att.text_layer {
            continue;
        }
        let Some(hash) = file.family.attachment_blobs.get(a) else { continue };
        blobs.push((a.clone(), store.blob(hash)?));
    }
    // Read in parallel; the result is a map, so the order of work does not matter.
    use rayon::prelude::*;
    Ok(blobs.into_par_iter().map(|(a, bytes)| (a, crate::pdf::read_attachment(&bytes))).collect())
}

/// Look for removed text in a bundle again: read its text with our own reader and compare every
/// run of words with the hashes kept in the store. Returns how many stored spans were found.
pub fn leak_check(store: &Store, bundle_pdf: &[u8], manifest_sha256: &str) -> Result<(usize, usize)> {
    let spans = audit::removed_spans(store, manifest_sha256)?;
    let pdf = crate::pdf::core::load(bundle_pdf).map_err(|e| anyhow::anyhow!("reading the bundle: {e}"))?;
    let pages = crate::pdf::core::read_text(&pdf).map_err(|e| anyhow::anyhow!("reading the bundle: {e}"))?;
    let text: String = pages.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n");
    let w = manifest::words(&text);
    let mut by_len: BTreeMap<usize, std::collections::HashSet<&str>> = BTreeMap::new();
    for (h, n) in &spans {
        by_len.entry(*n).or_default().insert(h.as_str());
    }
    // Each distinct run counts once, however often it can be read.
    let mut found: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (n, hashes) in &by_len {
        if *n == 0 || *n > w.len() {
            continue;
        }
        for win in w.windows(*n) {
            let h = manifest::words_hash(win);
            if hashes.contains(h.as_str()) {
                found.insert(h);
            }
        }
    }
    Ok((found.len(), spans.len()))
}

/// A one-paragraph summary of a run for the terminal (ids and counts only).
pub fn summary(o: &ExportOutcome) -> String {
    let p = &o.plan;
    let counts: Vec<String> = p.counts().iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "disclosed the file of {} to {} under {}: {} decisions; marks by code: {}; {} held for review; {} to consult; {} attachment pages failed verification and were withheld; {}; share of the child's own narrative removed: {:.1}%",
        p.request.subject,
        p.request.requester,
        p.request.policy,
        p.decisions.len(),
        if counts.is_empty() { "none".into() } else { counts.join(", ") },
        p.review.len(),
        p.consult.len(),
        p.verification_failures,
        if o.manifest.signed { "signed" } else { "not signed" },
        p.narrative_removed_percent
    )
}
