//! `disclose export`: the pipeline for one request, stage by stage (store -> file -> detect ->
//! decide -> redact -> PDF -> seal -> audit). The signing key is checked before anything is
//! written; the outputs are staged beside the output folder, recorded in the audit trail as
//! pending, swapped into place in one step and marked done, so a failed or killed run leaves
//! either the old outputs or the new ones, and never outputs that are not audited.

use crate::audit::{self, AuditEntry};
use crate::detect;
use crate::detect::Detector;
use crate::file::CaseFile;
use crate::file::{AttachmentInputs, Location, Part};
use crate::model::*;
use crate::ocr::{self, pages::Scans, Tesseract};
use crate::pdf::bundle::{self, BundleInput};
use crate::policy::{self, Action, Fit, Party, Policy, Refusal};
use crate::redact;
use crate::redact::HeldPage;
use crate::review::{self, Decisions, Disclosure, Status};
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
    /// The requester's id (a person, or for a court bundle a person or organisation); defaults
    /// to the subject only where the policy says the requester is the subject.
    pub requester: Option<String>,
    pub policy: String,
    pub out: PathBuf,
    pub export: Option<ExportId>,
    pub date: Option<String>,
    pub officer: Option<String>,
    /// How to sign the bundle, if at all.
    pub sign: Option<SignWith>,
    /// An officer's reason to go on despite a marker that the policy lets an officer override.
    pub override_reason: Option<String>,
    /// A registered request (`disclose request new`): its reviewers' decisions apply, and the
    /// bundle is final once it is approved.
    pub request: Option<String>,
    /// Release a one-shot export without review, as one officer's decision (recorded as such).
    pub release_unreviewed: Option<Unreviewed>,
    /// The letter's reference, and the date of the response (YYYY-MM-DD); a registered request
    /// gives its own reference, and its approval's date.
    pub reference: Option<String>,
    pub response_date: Option<String>,
    /// The council file (`policies/council.toml` compiled in when none is given).
    pub council: Option<PathBuf>,
}

/// One officer's decision to release without review.
#[derive(Clone, Debug)]
pub struct Unreviewed {
    pub reviewer: String,
    pub why: String,
}

impl ExportRequest {
    /// The request to export a registered request.
    pub fn of_request(row: &crate::store::review::RequestRow, out: PathBuf) -> ExportRequest {
        ExportRequest {
            subject: PersonId(row.subject.clone()),
            requester: Some(row.requester.clone()),
            policy: row.policy.clone(),
            out,
            export: Some(ExportId(row.export.clone())),
            date: Some(row.received.clone()),
            officer: None,
            sign: None,
            override_reason: row.override_reason.clone(),
            request: Some(row.id.clone()),
            release_unreviewed: None,
            reference: row.reference.clone(),
            response_date: None,
            council: None,
        }
    }
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

/// What was decided and done for one request: the disclosure, and what the PDF stage held back
/// (pages that failed verification) and dropped (hidden channels).
pub struct Plan {
    pub disclosure: Disclosure,
    pub held: Vec<HeldPage>,
    pub sanitized: Vec<(AttachmentId, Vec<String>)>,
}

impl Plan {
    pub fn request(&self) -> &policy::Request {
        &self.disclosure.request
    }

    /// Marks by reason code, and pages held after redaction as REV.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m: BTreeMap<String, usize> =
            self.disclosure.counts().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if !self.held.is_empty() {
            *m.entry("REV".into()).or_insert(0) += self.held.len();
        }
        m
    }

    /// Everything still held for a person, as locations.
    pub fn review(&self) -> Vec<String> {
        self.disclosure
            .review
            .iter()
            .map(|r| r.location.describe())
            .chain(self.held.iter().map(|h| h.location.describe()))
            .collect()
    }

    /// Attachment pages that failed verification after redaction.
    pub fn verification_failures(&self) -> usize {
        self.held.len()
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

/// How a run's outputs may be put in place.
#[derive(Clone, Copy, Debug, Default)]
pub struct Release {
    /// Replace the outputs of another request, or put outputs into a folder holding other files
    /// (which are kept).
    pub force: bool,
}

/// Run one request against the store: build, record in the audit trail, put in place.
pub fn run(store: &mut Store, req: &ExportRequest) -> Result<ExportOutcome> {
    run_with(store, req, Release::default())
}

/// [`run`] with the options of putting outputs in place.
pub fn run_with(store: &mut Store, req: &ExportRequest, rel: Release) -> Result<ExportOutcome> {
    audit::settle(store)?;
    let mut o = build(store, req)?;
    let files = release(store, req, &mut o, rel)?;
    mark("writing");
    // A registered request whose final bundle is now in place is released.
    if let (Some(id), true) = (&req.request, o.plan.disclosure.status.is_final()) {
        store.set_released(id, &time::now_utc())?;
    }
    Ok(ExportOutcome { plan: o.plan, files, manifest: o.manifest, warnings: o.warnings })
}

/// Put one request's built outputs in place, audited: the output folder is checked (another
/// request's outputs, or files that are not this tool's, are refused unless forced), the release
/// is recorded in the audit trail as pending, the outputs are committed in one step, and the
/// release is marked done. If the store cannot be written, nothing is put in place; a run killed
/// after the record leaves a pending release that the next run settles.
pub fn release(store: &mut Store, req: &ExportRequest, o: &mut Outputs, rel: Release) -> Result<Vec<PathBuf>> {
    staged::check_target(&req.out, &o.manifest.core.request, rel.force)?;
    let seq =
        audit_outputs(store, req, o).context("recording the release in the audit trail; nothing was put in place")?;
    staged::fault_point();
    let files = match o.staged.commit(rel.force) {
        Ok(f) => f,
        Err(e) => {
            let _ = audit::mark(store, seq, false);
            return Err(e);
        }
    };
    audit::mark(store, seq, true)
        .context("the outputs are in place and recorded in the audit trail, but the record could not be marked done")?;
    staged::fault_point();
    Ok(files)
}

/// Record a release in the audit trail as pending (before its outputs are put in place), with
/// the hashes of the text it removed; gives the entry's sequence number.
pub fn audit_outputs(store: &mut Store, req: &ExportRequest, o: &Outputs) -> Result<i64> {
    let p = &o.plan;
    let entry = AuditEntry {
        run_at: time::now_utc(),
        export: p.request().export.to_string(),
        subject: p.request().subject.to_string(),
        requester: p.request().requester.to_string(),
        policy: p.request().policy.clone(),
        policy_sha256: p.request().policy_sha256.clone(),
        officer: req.officer.clone().unwrap_or_else(os_user),
        date: p.request().date.clone(),
        inputs: o.inputs.clone(),
        manifest_sha256: o.manifest.core_sha256.clone(),
        bundle_sha256: o.manifest.bundle_sha256.clone(),
        signed: o.manifest.core.signed,
        counts: p.counts(),
        review: p.review(),
        verification_failures: p.verification_failures(),
        override_reason: p.request().fit.override_reason.clone(),
        overridden_markers: p.request().fit.overridden_markers.clone(),
        request: req.request.clone(),
        status: match &p.disclosure.status {
            Status::Draft => "draft".into(),
            Status::Approved { by, .. } => format!("approved by {by}"),
            Status::Unreviewed { by, why } => format!("released unreviewed by {by}: {why}"),
        },
    };
    Ok(audit::record_pending(store, &entry, &o.removed, &req.out)?)
}

/// The officer from the OS, when `--officer` is not given.
pub fn os_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into())
}

/// A request resolved against the store and its policy: every check is done, and a request that
/// does not fit is refused, before any work starts or anything is written.
pub struct Resolved {
    pub export: ExportId,
    pub family: Family,
    pub subject: PersonId,
    pub requester: Party,
    pub policy: Policy,
    /// The request's date (YYYY-MM-DD): used instead of the clock.
    pub date: String,
    pub fit: Fit,
    pub signer: Option<Signer>,
    /// The Tesseract that reads scans (`None`: scans stay held, and the run says how to enable it).
    pub tesseract: Option<Tesseract>,
    /// Who answers the request (from the council file).
    pub council: policy::Council,
}

/// A request resolved and proposed: the file's attachments read, and the policy's proposal.
pub struct Proposed {
    pub resolved: Resolved,
    pub read: ReadMap,
    /// What OCR made of each attachment page (words with boxes, or why a page was not read).
    pub scans: Scans,
    pub inputs: AttachmentInputs,
    pub proposal: policy::Proposal,
}

/// A mark and the boxes it covers on a page (page space).
pub type MarkBoxes = (policy::Mark, Vec<[f64; 4]>);

impl Proposed {
    /// The child's file (a view of the family; cheap to make).
    pub fn file(&self) -> Result<CaseFile<'_>> {
        Ok(CaseFile::build(&self.resolved.family, &self.resolved.subject)?)
    }

    /// The line to print when scans stay held because Tesseract is not available.
    pub fn ocr_note(&self) -> Option<String> {
        let n = ocr::pages::unread_for_want_of_tesseract(&self.scans);
        (n > 0).then(|| ocr::pages::how_to_enable(n))
    }

    /// The boxes the proposal's marks cover on an attachment page (page space, one per line a
    /// mark crosses), for the review page to draw over the page image: a mark on the page's own
    /// text by its glyphs' boxes, a mark on words OCR read by the words' boxes. Regions are drawn
    /// as the reviewer drew them, elsewhere. Also the OCR words read with low confidence.
    pub fn page_marks(&self, attachment: &AttachmentId, page: usize) -> (Vec<MarkBoxes>, Vec<[f64; 4]>) {
        let loc = Location::attachment(attachment, Part::AttachmentPage { page });
        let marks: Vec<&policy::Mark> = self
            .proposal
            .marks
            .iter()
            .filter(|m| m.location == loc && m.span.is_some() && m.action.removes())
            .collect();
        let mut out: Vec<(policy::Mark, Vec<[f64; 4]>)> = Vec::new();
        let Some(Ok(r)) = self.read.get(attachment) else { return (out, Vec::new()) };
        let Some(pt) = r.pages.get(page) else { return (out, Vec::new()) };
        let view = self.scan_page(attachment, page);
        for m in marks {
            let Some(s) = m.span else { continue };
            // glyphs of the page's own text, joined along each line
            let mut lines: std::collections::BTreeMap<usize, [f64; 4]> = Default::default();
            for g in pt.glyphs.iter().filter(|g| g.text_range.start < s.end() && s.start() < g.text_range.end) {
                let b = lines.entry(g.line).or_insert(g.bbox);
                *b = [b[0].min(g.bbox[0]), b[1].min(g.bbox[1]), b[2].max(g.bbox[2]), b[3].max(g.bbox[3])];
            }
            let mut boxes: Vec<[f64; 4]> = lines.into_values().collect();
            if let Some(v) = &view {
                boxes.extend(v.marks.iter().filter(|vm| vm.mark == m.id).flat_map(|vm| vm.boxes.iter().copied()));
            }
            if !boxes.is_empty() {
                out.push((m.clone(), boxes));
            }
        }
        let weak = view
            .map(|v| v.words.iter().filter(|w| w.conf < ocr::pages::MIN_WORD_CONF).map(|w| w.bbox).collect())
            .unwrap_or_default();
        (out, weak)
    }

    /// What the review page shows of an attachment page read by OCR: its words with boxes and
    /// confidences, and the proposal's marks on it with the boxes they paint. `None` when the
    /// page was not read by OCR.
    pub fn scan_page(&self, attachment: &AttachmentId, page: usize) -> Option<ocr::pages::PageView> {
        let scan = self.scans.get(attachment)?.get(page)?;
        let size = match self.read.get(attachment) {
            Some(Ok(r)) => r.pages.get(page).map(|p| (p.width, p.height))?,
            _ => return None,
        };
        let loc = Location::attachment(attachment, Part::AttachmentPage { page });
        let marks: Vec<&policy::Mark> = self.proposal.marks.iter().filter(|m| m.location == loc).collect();
        ocr::pages::page_view(scan, size, &marks)
    }
}

/// Read the attachments, detect, and propose: what a reviewer decides on.
pub fn propose(store: &Store, resolved: Resolved) -> Result<Proposed> {
    let (read, scans, inputs, proposal) = {
        let file = CaseFile::build(&resolved.family, &resolved.subject)?;
        let det = Detector::new(&resolved.family);
        let read = read_attachments(store, &file)?;
        mark("reading attachments");
        // Scans and images that can hold text are read by OCR; their words are page text.
        let scans = ocr::pages::read_scans(resolved.tesseract.as_ref(), &read);
        mark("reading scans");
        let inputs: AttachmentInputs = read
            .iter()
            .map(|(a, r)| (a.clone(), ocr::pages::attachment_input(r, scans.get(a).map(|v| v.as_slice()))))
            .collect();
        let findings = detect::find(&file, &det, &inputs);
        mark("detecting");
        let asked = policy::Asked { requester: &resolved.requester, date: &resolved.date, fit: &resolved.fit };
        let mut proposal = policy::propose(&file, &findings, &resolved.policy, &asked, &inputs);
        ocr::pages::hold_weak_words(&mut proposal, &scans, resolved.policy.scans.reason);
        mark("proposing");
        (read, scans, inputs, proposal)
    };
    Ok(Proposed { resolved, read, scans, inputs, proposal })
}

/// Resolve a raw request: the policy, the family, the date, who is asking and whether the policy
/// lets them, and the signing key.
pub fn resolve(store: &Store, req: &ExportRequest) -> Result<Resolved> {
    let policy = Policy::load(&req.policy)?;
    let councils = policy::Councils::load(req.council.as_deref())?;
    let export = store.export_of(&req.subject, req.export.as_ref())?;
    let family = store.load_family(&export)?;
    let council = councils.for_authority(&family.header.local_authority)?.clone();
    if let Some(d) = &req.response_date {
        Date::parse(d).with_context(|| "--response-date must be YYYY-MM-DD".to_string())?;
    }
    mark("loading the family");
    let date = match &req.date {
        Some(d) => {
            Date::parse(d).with_context(|| "--date must be YYYY-MM-DD".to_string())?;
            d.clone()
        }
        None => family.header.exported_at.date().map(|d| d.iso()).unwrap_or_else(|| "1970-01-01".into()),
    };
    let requester_id = match (&req.requester, policy.request.requester) {
        (Some(r), _) => r.clone(),
        (None, policy::config::RequesterIs::Subject) => req.subject.to_string(),
        (None, rule) => {
            return Err(Refusal {
                policy: policy.name.clone(),
                rule: format!("request.requester = \"{}\"", rule.as_str()),
                why: "this policy needs the requester named: pass --requester with their id".into(),
            }
            .into())
        }
    };
    let requester = policy::request::party(&family, &policy, &requester_id)?;
    let fit =
        policy::request::check(&family, &policy, &req.subject, &requester, &date, req.override_reason.as_deref())?;
    if let Some(u) = &req.release_unreviewed {
        if req.request.is_some() {
            bail!("--release-unreviewed is for a one-shot export; a registered request is released by its approval (disclose review approve)");
        }
        if policy.review.required {
            return Err(Refusal {
                policy: policy.name.clone(),
                rule: "review.required = true".into(),
                why: "this policy releases only after review; register the request (disclose request new) and have it approved".into(),
            }
            .into());
        }
        crate::review::workflow::require_reviewer(store, &u.reviewer)?;
        if u.why.trim().is_empty() {
            bail!("--why must say why this is released without review");
        }
    }
    if req.sign.is_some() && req.request.is_none() && req.release_unreviewed.is_none() {
        bail!("a draft cannot be signed: a one-shot export is a draft unless released with --release-unreviewed --reviewer NAME --why TEXT; for review and sign-off register the request (disclose request new) and export it with --request once approved. Nothing was written");
    }
    if let (Some(id), Some(_)) = (&req.request, &req.sign) {
        if store.approval(id)?.is_none() {
            bail!("request {id} is not approved, so its bundle is a draft and cannot be signed; approve it first (disclose review approve --request {id} --reviewer NAME). Nothing was written");
        }
    }
    // The key is checked before any work or output (wrong key, mismatched or expired certificate).
    let signer = match &req.sign {
        Some(s) => Some(s.load(&date)?),
        None => None,
    };
    // A Tesseract named with --tesseract that cannot be used is refused before any work.
    let tesseract = ocr::pages::tesseract()?;
    Ok(Resolved {
        export,
        family,
        subject: req.subject.clone(),
        requester,
        policy,
        date,
        fit,
        signer,
        tesseract,
        council,
    })
}

/// Build every output of one request, staged in the output folder under temporary names (the
/// store is only read; nothing is in place until the outputs are committed).
pub fn build(store: &Store, req: &ExportRequest) -> Result<Outputs> {
    memtrace::begin();
    let proposed = propose(store, resolve(store, req)?)?;
    // The reviewers' decisions (a registered request), and whether the disclosure is final.
    let (decisions, status) = match &req.request {
        Some(id) => {
            let row = store.request(id)?.with_context(|| format!("request {id} is not in the case store"))?;
            let d = crate::review::workflow::decisions(store, &row, &proposed)?;
            let status = crate::review::workflow::status(store, &row, &proposed, &d)?;
            (d, status)
        }
        None => {
            let status = match &req.release_unreviewed {
                Some(u) => Status::Unreviewed { by: u.reviewer.clone(), why: u.why.clone() },
                None => Status::Draft,
            };
            (Decisions::default(), status)
        }
    };
    if proposed.resolved.signer.is_some() && !status.is_final() {
        bail!("the request's approval no longer holds (its proposal or decisions changed since), so the bundle is a draft and cannot be signed; approve it again. Nothing was written");
    }
    let ocr_note = proposed.ocr_note();
    let Proposed { resolved, read, scans, inputs: mut inputs_text, proposal } = proposed;
    let Resolved { export, family: fam, requester, policy, date, signer, tesseract, council: answers, .. } = resolved;
    let mut warnings: Vec<String> = signer.as_ref().map(|s| s.warnings().to_vec()).unwrap_or_default();
    warnings.extend(ocr_note);
    let file = CaseFile::build(&fam, &req.subject)?;
    let disclosure = review::apply(&proposal, &decisions, status);
    drop(proposal);
    mark("applying decisions");
    // True redaction inside the attachments; a page that fails verification is withheld (REV).
    let mut atts = crate::pdf::redact_attachments(&disclosure, &read, &scans, tesseract.as_ref());
    mark("redacting attachments");
    // A document whose pages cannot be placed in the bundle is withheld, not the whole export.
    atts.withhold_unplaceable();
    // what reviewers' regions took out of a page is out of its text too
    atts.blank_regions(&mut inputs_text);
    let held = held_pages(&disclosure, &atts);
    drop(read); // the glyph lists of every attachment page are no longer needed
    drop(scans);
    mark("dropping the read attachments");
    let mut staged = Staged::new(&req.out);
    let redacted = std::sync::Arc::new(redact::redact(&file, &disclosure, &policy, &inputs_text, &held));
    mark("redacting text");
    // The preview first: the removed words are checked against it, then it is on disk only.
    let preview = redact::preview(&redacted, &disclosure);
    let preview_sha256 = staged.write("preview.txt", preview.as_bytes())?;
    let removed = removed_hashes(&disclosure, &file, &inputs_text, &preview);
    drop(preview);
    drop(inputs_text);
    mark("preview and removed words");
    let seal = signer
        .as_ref()
        .map(|s| bundle::SealInfo { signer: s.subject_common_name(), fingerprint: s.cert_sha256()[..16].to_string() });
    // The response is dated by the approval of a registered request (or --response-date), by the
    // request's date for a one-shot export; a draft has no response date.
    let response = match (&req.response_date, &disclosure.status) {
        (Some(d), _) => Some(d.clone()),
        (None, Status::Draft) => None,
        (None, Status::Approved { at, .. }) => Some(at.get(0..10).unwrap_or(at).to_string()),
        (None, Status::Unreviewed { .. }) => Some(date.clone()),
    };
    let letter = bundle::Letter { reference: req.reference.clone(), received: date.clone(), response };
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
        plan: &disclosure,
        held_pages: &held,
        policy: &policy,
        family: &fam,
        attachments: &atts.pages,
        seal,
        council: &answers,
        letter: &letter,
    });
    // From here on the family, the file's view of it and the detector are not needed: a large
    // family's records are freed before the bundle is laid out.
    drop(redacted);
    drop(file);
    drop(fam);
    mark("preparing the bundle");
    let bundle = bundle::finish(prepared, &disclosure, &held, &policy)
        .map_err(|e| anyhow::anyhow!("building the bundle: {e}"))?;
    let plan = Plan { disclosure, held, sanitized: std::mem::take(&mut atts.sanitized) };
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
        redact::schedule_csv(&plan.disclosure, &plan.held, &policy, &|i, loc| bundle.pages_of(i, loc), &mut w)
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
        signed: signer.is_some(),
        signer: signer.as_ref().map(|s| s.subject_common_name()),
        signer_cert_sha256: signer.as_ref().map(|s| s.cert_sha256()),
    };
    let core_sha256 = core.hash();
    let bundle_bytes = sign(bundle.bytes, signer.as_ref(), &core_sha256, &date, &council)?;
    mark("signing");
    let bundle_sha256 = staged.write("bundle.pdf", &bundle_bytes)?;
    drop(bundle_bytes);
    // The audit trail's head goes into the manifest, signed with it (not into the bundle, whose
    // bytes stay the same for the same inputs and key).
    let manifest = Manifest::new(core, bundle_sha256, audit::head(store)?, signer.as_ref())?;
    let manifest_json = serde_json::to_string_pretty(&manifest)? + "\n";
    staged.write("manifest.json", manifest_json.as_bytes())?;
    Ok(Outputs { plan, staged, manifest, removed, inputs, warnings })
}

/// plan.json: the disclosure as JSON with each mark on its own line, written field by field so
/// that no JSON tree (or string) of the whole plan is ever held in memory.
fn plan_json(plan: &Plan, out: &mut dyn std::io::Write) -> Result<()> {
    use serde_json::to_string as j;
    let d = &plan.disclosure;
    write!(out, "{{\n  \"request\": {},\n", j(&d.request)?)?;
    writeln!(out, "  \"status\": {},", j(&d.status)?)?;
    writeln!(out, "  \"narrative_removed_percent\": {},", j(&d.narrative_removed_percent)?)?;
    writeln!(out, "  \"verification_failures\": {},", plan.verification_failures())?;
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
    #[derive(serde::Serialize)]
    struct Held<'a> {
        location: &'a Location,
        reason: &'static str,
        rule: &'static str,
        why: &'a str,
    }
    let held: Vec<Held<'_>> = plan
        .held
        .iter()
        .map(|h| Held { location: &h.location, reason: "REV", rule: "R3.verification", why: &h.why })
        .collect();
    list(out, "review", &d.review, false)?;
    list(out, "held_after_redaction", &held, false)?;
    list(out, "consult", &d.consult, false)?;
    list(out, "narrative", &d.narrative, false)?;
    list(out, "sanitized", &plan.sanitized, false)?;
    list(out, "marks", &d.marks, true)?;
    out.write_all(b"}\n")?;
    Ok(())
}

/// Every attachment page that failed verification (or could not be placed) is held for review;
/// each gets a number after the disclosure's marks, for its placeholder and schedule row.
fn held_pages(d: &Disclosure, atts: &crate::pdf::RedactedAttachments) -> Vec<HeldPage> {
    atts.failed
        .iter()
        .enumerate()
        .map(|(k, f)| HeldPage {
            location: Location::attachment(&f.attachment, Part::AttachmentPage { page: f.page }),
            why: format!("verification after redaction failed: {}", f.problems.join("; ")),
            id: (d.marks.len() + k) as u32,
        })
        .collect()
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
    d: &Disclosure,
    file: &CaseFile<'_>,
    inputs: &AttachmentInputs,
    preview: &str,
) -> Vec<(String, String, usize)> {
    let mut runs = Vec::new();
    let mut locations = Vec::new();
    for d in d.marks.iter().filter(|d| d.action == Action::Redact) {
        let (Some(span), Some(text)) = (d.span, file.text_at(inputs, &d.location)) else { continue };
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

/// Read every attachment on the file once.
fn read_attachments(store: &Store, file: &CaseFile<'_>) -> Result<ReadMap> {
    let mut blobs = Vec::new();
    for a in file.attachments() {
        // Scans are read too: a reviewer may release one (their pages carry no text to mark).
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
        "disclosed the file of {} to {} under {}: {} marks; removed by code: {}; {} held for review; {} to consult; {} attachment pages failed verification and were withheld; {}; share of the child's own narrative removed: {:.1}%",
        p.request().subject,
        p.request().requester,
        p.request().policy,
        p.disclosure.marks.len(),
        if counts.is_empty() { "none".into() } else { counts.join(", ") },
        p.review().len(),
        p.disclosure.consult.len(),
        p.verification_failures(),
        if o.manifest.core.signed { "signed" } else { "not signed" },
        p.disclosure.narrative_removed_percent
    )
}
