//! Import: `csc-case-export` JSON -> validated model -> case store, in one transaction.
//! It reads the document and its attachments, checks every rule of CASE-EXPORT.md section 10,
//! derives omitted relationship inverses and converts HTML bodies to text. It refuses the whole
//! export on any problem and reports all of them (capped), naming JSON paths and ids, never
//! personal data. It never decides what to disclose.

mod validate;

pub use validate::Problem;

use crate::model::relation;
use crate::model::text::{html_to_text, PlainText};
use crate::model::*;
use crate::store::{ImportBatch, Store, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// The most problems listed in one refusal.
pub const MAX_PROBLEMS: usize = 50;

/// The default cap on one attachment file's size, in MiB (`--max-attachment-mb`).
pub const DEFAULT_MAX_ATTACHMENT_MB: u64 = 256;

/// How an import reads its files.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Replace an export with the same id already in the store.
    pub replace: bool,
    /// The largest attachment file accepted, in bytes.
    pub max_attachment_bytes: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { replace: false, max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_MB << 20 }
    }
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: not valid JSON at line {line} column {column} ({kind}); fix the file and import again")]
    Syntax { path: String, line: usize, column: usize, kind: &'static str },
    #[error("{path}: `format` is not \"csc-case-export\"; this is not a case export")]
    WrongFormat { path: String },
    #[error("{path}: format_version {found} is not supported (this disclose reads 0.1.x); export in format 0.1")]
    WrongVersion { path: String, found: String },
    #[error("{path}: {json_path}: {msg}")]
    Shape { path: String, json_path: String, msg: String },
    #[error("{path}: the export is not valid ({total} problem{s}{capped}):\n{list}\nnothing was imported", s = if *.total == 1 { "" } else { "s" }, capped = if *.total > MAX_PROBLEMS { ", first 50 shown" } else { "" }, list = .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: String, problems: Vec<Problem>, total: usize },
    #[error("export {0} is already in the case store; pass --replace to replace it")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    pub export: ExportId,
    pub persons: usize,
    pub records: usize,
    pub attachments: usize,
    pub derived_relationships: usize,
    /// Unknown fields that were ignored, as JSON paths.
    pub warnings: Vec<String>,
}

/// A parsed and fully validated export, ready for the store.
pub struct Validated {
    pub export: Export,
    pub relationships: Vec<Relationship>,
    pub section_text: Vec<(RecordId, SectionId, PlainText)>,
    pub blobs: Vec<(AttachmentId, String, Vec<u8>)>,
    pub source_sha256: String,
    pub warnings: Vec<String>,
}

/// Read, check and import an export file into the store.
pub fn import_file(store: &mut Store, path: &Path, replace: bool) -> Result<ImportReport, ImportError> {
    import_file_with(store, path, &ImportOptions { replace, ..ImportOptions::default() })
}

/// [`import_file`] with every option.
pub fn import_file_with(store: &mut Store, path: &Path, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    let replace = opts.replace;
    let v = parse_and_validate_with(path, opts)?;
    if !replace && store.has_export(&v.export.export.id)? {
        return Err(ImportError::Exists(v.export.export.id.to_string()));
    }
    let stored = store.import(
        &ImportBatch {
            export: &v.export,
            relationships: &v.relationships,
            section_text: &v.section_text,
            blobs: &v.blobs,
            source_sha256: v.source_sha256.clone(),
        },
        replace,
    );
    // Another import of the same id may have got in first (checked again inside the transaction).
    match stored {
        Err(StoreError::ExportExists(id)) => return Err(ImportError::Exists(id)),
        other => other?,
    }
    Ok(ImportReport {
        export: v.export.export.id.clone(),
        persons: v.export.persons.len(),
        records: v.export.records.len(),
        attachments: v.export.attachments.len(),
        derived_relationships: v.relationships.len() - v.export.relationships.len(),
        warnings: v.warnings,
    })
}

/// Parse and validate without touching a store.
pub fn parse_and_validate(path: &Path) -> Result<Validated, ImportError> {
    parse_and_validate_with(path, &ImportOptions::default())
}

/// [`parse_and_validate`] with the options of an import (the attachment size cap).
pub fn parse_and_validate_with(path: &Path, opts: &ImportOptions) -> Result<Validated, ImportError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read { path: shown.clone(), source })?;
    let source_sha256 = hex(&Sha256::digest(&bytes));
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ImportError::Syntax {
        path: shown.clone(),
        line: e.line(),
        column: e.column(),
        kind: match e.classify() {
            serde_json::error::Category::Eof => "unexpected end of file",
            serde_json::error::Category::Io => "read error",
            _ => "syntax error",
        },
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some("csc-case-export") {
        return Err(ImportError::WrongFormat { path: shown });
    }
    let version = match value.get("format_version") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(_) => "(not a string)".to_string(),
    };
    // Before 1.0 a minor version is a breaking one: this disclose reads 0.1.x.
    let mut parts = version.split('.');
    if parts.next() != Some("0") || parts.next() != Some("1") {
        // Version strings are schema, not personal data; still cap their length.
        let found: String = version.chars().take(20).collect();
        return Err(ImportError::WrongVersion {
            path: shown,
            found: if found.is_empty() { "(missing)".into() } else { found },
        });
    }
    let mut warnings = Vec::new();
    // The key of an unknown field is data (it may be a name): the warning names the object
    // that holds it, by JSON path and id.
    let mut unknown: Vec<String> = Vec::new();
    let export: Export = match serde_ignored::deserialize(&value, |p| {
        let s = json_path(&p.to_string());
        if !s.starts_with("test_scenarios") {
            unknown.push(s)
        }
    }) {
        Ok(e) => e,
        Err(_) => {
            // Run again to learn where it failed.
            let err = serde_path_to_error::deserialize::<_, Export>(&value).err();
            let (jp, msg) = match err {
                Some(e) => (json_path(&e.path().to_string()), scrub(&e.inner().to_string())),
                None => ("$".into(), "unreadable".into()),
            };
            // `persons[0] (p-danielle).names`: the id right after the entity it names.
            let id = id_at(&value, &jp);
            let at = match jp.find(']') {
                Some(i) if !id.is_empty() => format!("{}{id}{}", &jp[..=i], &jp[i + 1..]),
                _ => jp.clone(),
            };
            return Err(ImportError::Shape { path: shown, json_path: at, msg });
        }
    };
    for s in unknown {
        let parent = match s.rfind('.') {
            Some(i) => s[..i].to_string(),
            None => "$".to_string(),
        };
        let id = id_at(&value, &parent);
        let at = match parent.find(']') {
            Some(i) if !id.is_empty() => format!("{}{id}{}", &parent[..=i], &parent[i + 1..]),
            _ => parent,
        };
        warnings.push(format!("{at}: an unknown field"));
    }
    // A bare file name has an empty parent: the folder is the current one.
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut problems = validate::validate(&export);
    let blobs = read_attachments(&export, &base, opts.max_attachment_bytes, &mut problems);
    let mut section_text = Vec::new();
    for (ri, r) in export.records.iter().enumerate() {
        for (si, s) in r.sections.iter().enumerate() {
            let body = s.body.as_deref().unwrap_or("");
            let pt = match s.body_format.as_deref() {
                None | Some("text") => PlainText::plain(body),
                Some("html") => html_to_text(body),
                Some(_) => {
                    problems.push(Problem::at(
                        format!(
                            "{}.sections[{si}]{}",
                            validate::here("records", ri, r.id.as_str()),
                            shown_id(s.id.as_str())
                        ),
                        "body_format must be \"text\" or \"html\"",
                    ));
                    continue;
                }
            };
            section_text.push((r.id.clone(), s.id.clone(), pt));
        }
    }
    if !problems.is_empty() {
        let total = problems.len();
        problems.truncate(MAX_PROBLEMS);
        return Err(ImportError::Invalid { path: shown, problems, total });
    }
    let relationships = derive_inverses(&export);
    Ok(Validated { export, relationships, section_text, blobs, source_sha256, warnings })
}

/// Relationships as exported plus an inverse for each edge whose inverse is not given.
fn derive_inverses(e: &Export) -> Vec<Relationship> {
    let mut out = e.relationships.clone();
    let have: HashSet<(PersonId, PersonId)> =
        e.relationships.iter().map(|r| (r.person.clone(), r.related.clone())).collect();
    for r in &e.relationships {
        if have.contains(&(r.related.clone(), r.person.clone())) {
            continue;
        }
        let sex = e.persons.iter().find(|p| p.id == r.person).and_then(|p| p.sex.clone());
        out.push(Relationship {
            id: RelationshipId(format!("{}.inverse", r.id)),
            person: r.related.clone(),
            related: r.person.clone(),
            kind: relation::inverse(&r.kind, sex.as_deref()),
            parental_responsibility: None,
            lives_with: r.lives_with,
            main_carer: None,
            period: r.period.clone(),
            note: None,
            sensitivity: r.sensitivity.clone(),
            derived_from: Some(r.id.clone()),
        });
    }
    out
}

fn read_attachments(
    e: &Export,
    base: &Path,
    cap: u64,
    problems: &mut Vec<Problem>,
) -> Vec<(AttachmentId, String, Vec<u8>)> {
    let mut out = Vec::new();
    // Messages name the attachment by JSON path and id, never by its file name.
    let folder = base.canonicalize().ok();
    for (i, a) in e.attachments.iter().enumerate() {
        let at = validate::here("attachments", i, a.id.as_str());
        let rel = Path::new(&a.file);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir | Component::Prefix(_))) {
            problems.push(Problem::at(at, "file must be a relative path inside the export folder"));
            continue;
        }
        let bytes = match read_attachment_file(folder.as_deref(), &base.join(rel), cap) {
            Ok(b) => b,
            Err(why) => {
                problems.push(Problem::at(at, why));
                continue;
            }
        };
        let sha = hex(&Sha256::digest(&bytes));
        if let Some(want) = &a.sha256 {
            if !want.eq_ignore_ascii_case(&sha) {
                problems.push(Problem::at(
                    at,
                    "sha256 does not match the file's content; the file was changed or replaced",
                ));
                continue;
            }
        }
        if let Some(n) = a.bytes {
            if n != bytes.len() as u64 {
                problems.push(Problem::at(at, format!("bytes is {n} but the file has {}", bytes.len())));
                continue;
            }
        }
        if !bytes.starts_with(b"%PDF-") && !bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
            problems.push(Problem::at(at, "file is not a PDF (no %PDF- header)"));
            continue;
        }
        out.push((a.id.clone(), sha, bytes));
    }
    out
}

/// Read one attachment file: it must be a regular file inside the export folder (a link may
/// point elsewhere inside it, never out), no larger than `cap` bytes. A FIFO or device is
/// refused without reading from it (opened non-blocking, checked before any read).
fn read_attachment_file(folder: Option<&Path>, full: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        format!("the file named in `file` cannot be read ({}); put it in the export folder or fix `file`", e.kind())
    };
    let real = full.canonicalize().map_err(cannot)?;
    match folder {
        Some(f) if real.starts_with(f) => {}
        Some(_) => {
            return Err("file leads out of the export folder (through a link); put the file itself in the folder".into())
        }
        None => return Err("the export's folder cannot be opened; check its permissions".into()),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let f = opts.open(&real).map_err(cannot)?;
    let meta = f.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err("file is not a regular file (a folder, FIFO, socket or device); give the PDF itself".into());
    }
    if meta.len() > cap {
        return Err(format!(
            "the file has {} bytes, more than the cap of {} MiB; raise it with --max-attachment-mb if the file is right",
            meta.len(),
            cap >> 20
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read is still held to the cap.
    f.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(format!("the file grew past the cap of {} MiB while it was read", cap >> 20));
    }
    Ok(bytes)
}

/// ` (id)` after a JSON path, when the id is shaped like one (else it may be data).
fn shown_id(id: &str) -> String {
    if is_valid_id(id) {
        format!(" ({id})")
    } else {
        String::new()
    }
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `records.3.sections.0.scope` -> `records[3].sections[0].scope`.
fn json_path(dotted: &str) -> String {
    let mut out = String::new();
    for part in dotted.split('.') {
        if part.is_empty() || part == "?" {
            continue;
        }
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    if out.is_empty() {
        "$".into()
    } else {
        out
    }
}

/// The id of the top-level entity at a JSON path, shown as ` (rec-004)` to help find it.
fn id_at(v: &serde_json::Value, jp: &str) -> String {
    let Some(br) = jp.find('[') else { return String::new() };
    let key = &jp[..br];
    let Some(end) = jp[br..].find(']') else { return String::new() };
    let Ok(i) = jp[br + 1..br + end].parse::<usize>() else { return String::new() };
    v.get(key)
        .and_then(|a| a.get(i))
        .and_then(|e| e.get("id"))
        .and_then(|x| x.as_str())
        .filter(|s| is_valid_id(s))
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

/// serde messages quote the offending value ("invalid type: integer `9990001014`", "unknown
/// variant `Gwen`", "unknown field `Gwen Aldous`"); values and keys may be personal data, so
/// every quoted part before ", expected" is dropped, except the name of a missing field (which
/// is this format's own). What follows ", expected" is the format's vocabulary and stays.
fn scrub(msg: &str) -> String {
    let (head, tail) = match msg.find(", expected") {
        Some(i) => (&msg[..i], &msg[i..]),
        None => (msg, ""),
    };
    let mut out = String::new();
    let mut chars = head.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '`' {
            let mut inner = String::new();
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == '\\' {
                    chars.next();
                    continue;
                }
                if d == c {
                    closed = true;
                    break;
                }
                inner.push(d);
            }
            let schema = out.ends_with("missing field ")
                && closed
                && inner.chars().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_');
            if schema {
                out.push(c);
                out.push_str(&inner);
                out.push(c);
            } else {
                out.push_str("(value)");
            }
        } else {
            out.push(c);
        }
    }
    out.push_str(tail);
    out
}

impl Validated {
    /// The family as the store would give it back (for tests and in-memory runs).
    pub fn family(&self) -> Family {
        let e = &self.export;
        Family::new(
            e.export.clone(),
            e.organisations.clone(),
            e.professionals.clone(),
            e.addresses.clone(),
            e.persons.clone(),
            self.relationships.clone(),
            e.groups.clone(),
            e.involvements.clone(),
            e.episodes.clone(),
            e.records.clone(),
            e.attachments.clone(),
            self.section_text.iter().map(|(r, s, t)| ((r.clone(), s.clone()), t.clone())).collect(),
            self.blobs.iter().map(|(a, h, _)| (a.clone(), h.clone())).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_scrub() {
        assert_eq!(json_path("records.3.sections.0.scope"), "records[3].sections[0].scope");
        assert_eq!(
            scrub("invalid type: string \"Gwen Aldous\", expected a boolean"),
            "invalid type: string (value), expected a boolean"
        );
        assert_eq!(scrub("unknown variant `Gwen`, expected `a`"), "unknown variant (value), expected `a`");
        assert_eq!(
            scrub("invalid type: integer `9990001014`, expected a string"),
            "invalid type: integer (value), expected a string"
        );
        assert_eq!(scrub("unknown field `Gwen Aldous`, expected `id`"), "unknown field (value), expected `id`");
        assert_eq!(scrub("invalid value: string \"Gwen \\\"G\\\" Aldous\""), "invalid value: string (value)");
        assert_eq!(scrub("missing field `given`"), "missing field `given`");
        assert_eq!(scrub("missing field `Gwen Aldous`"), "missing field (value)");
    }
}
