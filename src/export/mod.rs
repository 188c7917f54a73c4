//! `disclose export`: the pipeline for one request, stage by stage (store -> file -> detect ->
//! decide -> redact -> outputs). Every output is written under a temporary name in the output
//! folder and renamed into place, so a failed run leaves no half-written file.

use crate::detect::Detector;
use crate::file::CaseFile;
use crate::model::*;
use crate::policy::{self, AttachmentInput, Plan, Policy};
use crate::redact::{self, RedactedFile};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
}

/// What a run produced.
pub struct ExportOutcome {
    pub plan: Plan,
    pub redacted: RedactedFile,
    pub files: Vec<PathBuf>,
}

/// Run one request against the store.
pub fn run(store: &Store, req: &ExportRequest) -> Result<ExportOutcome> {
    let export = store.export_of(&req.subject, req.export.as_ref())?;
    let fam = store.load_family(&export)?;
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
    let file = CaseFile::build(&fam, &req.subject)?;
    let det = Detector::new(&fam);
    let read = read_attachments(store, &file)?;
    let inputs: HashMap<AttachmentId, AttachmentInput> =
        read.iter().map(|(a, r)| (a.clone(), crate::pdf::attachment_input(r))).collect();
    let mut plan = policy::decide(&file, &det, &policy, &requester, &date, &inputs);
    // True redaction inside the attachments; a page that fails verification is withheld (REV).
    let atts = crate::pdf::redact_attachments(&plan, &read);
    plan.sanitized = atts.sanitized.clone();
    for f in &atts.failed {
        let loc = policy::Location {
            record: None,
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
            action: policy::Action::Review,
            reason: Some("REV".into()),
            rule: "R3.verification".into(),
            label: None,
            explanation: why,
            removed_chars: 0,
        });
    }
    plan.verification_failures = atts.failed.len();
    let redacted = redact::redact(&file, &plan, &policy, &inputs);
    let bundle = crate::pdf::bundle::build(&crate::pdf::bundle::BundleInput {
        file: &redacted,
        plan: &plan,
        policy: &policy,
        family: &fam,
        attachments: &atts.pages,
        seal_line: None,
    })
    .map_err(|e| anyhow::anyhow!("building the bundle: {e}"))?;
    let files = write_outputs(&req.out, &plan, &redacted, &policy, &bundle)?;
    Ok(ExportOutcome { plan, redacted, files })
}

type ReadMap = HashMap<AttachmentId, Result<crate::pdf::ReadAttachment, crate::pdf::core::PdfError>>;

/// Read every attachment on the file once (scans are not read: they are held for review).
fn read_attachments(store: &Store, file: &CaseFile<'_>) -> Result<ReadMap> {
    let mut out = HashMap::new();
    for a in file.attachments() {
        let Some(att) = file.family.attachment(a) else { continue };
        if !att.text_layer {
            continue;
        }
        let Some(hash) = file.family.attachment_blobs.get(a) else { continue };
        let bytes = store.blob(hash)?;
        out.insert(a.clone(), crate::pdf::read_attachment(&bytes));
    }
    Ok(out)
}

fn write_outputs(
    out: &Path,
    plan: &Plan,
    rf: &RedactedFile,
    policy: &Policy,
    bundle: &crate::pdf::bundle::Bundle,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating output folder {}", out.display()))?;
    let plan_json = serde_json::to_string_pretty(plan)? + "\n";
    let preview = redact::preview(rf, plan);
    let schedule = redact::schedule_csv(plan, policy, &|loc| crate::pdf::bundle::page_of(&bundle.anchors, loc));
    let mut files = Vec::new();
    for (name, bytes) in [
        ("plan.json", plan_json.as_bytes()),
        ("preview.txt", preview.as_bytes()),
        ("schedule.csv", schedule.as_bytes()),
        ("bundle.pdf", bundle.bytes.as_slice()),
    ] {
        files.push(write_atomic(&out.join(name), bytes)?);
    }
    Ok(files)
}

/// Write `bytes` to a temporary name beside `path`, then rename it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// A one-paragraph summary of a run for the terminal (ids and counts only).
pub fn summary(o: &ExportOutcome) -> String {
    let p = &o.plan;
    let counts: Vec<String> = p.counts().iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "disclosed the file of {} to {} under {}: {} decisions; marks by code: {}; {} held for review; {} to consult; {} attachment pages failed verification and were withheld; share of the child's own narrative removed: {:.1}%",
        p.request.subject,
        p.request.requester,
        p.request.policy,
        p.decisions.len(),
        if counts.is_empty() { "none".into() } else { counts.join(", ") },
        p.review.len(),
        p.consult.len(),
        p.verification_failures,
        p.narrative_removed_percent
    )
}
