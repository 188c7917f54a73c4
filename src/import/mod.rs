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
    let v = parse_and_validate(path)?;
    if !replace && store.has_export(&v.export.export.id)? {
        return Err(ImportError::Exists(v.export.export.id.to_string()));
    }
    store.import(
        &ImportBatch {
            export: &v.export,
            relationships: &v.relationships,
            section_text: &v.section_text,
            blobs: &v.blobs,
            source_sha256: v.source_sha256.clone(),
        },
        replace,
    )?;
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
    let export: Export = match serde_ignored::deserialize(&value, |p| {
        let s = json_path(&p.to_string());
        if !s.starts_with("test_scenarios") {
            warnings.push(s)
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
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut problems = validate::validate(&export);
    let blobs = read_attachments(&export, &base, &mut problems);
    let mut section_text = Vec::new();
    for (ri, r) in export.records.iter().enumerate() {
        for (si, s) in r.sections.iter().enumerate() {
            let body = s.body.as_deref().unwrap_or("");
            let pt = match s.body_format.as_deref() {
                None | Some("text") => PlainText::plain(body),
                Some("html") => html_to_text(body),
                Some(_) => {
                    problems.push(Problem::at(
                        format!("records[{ri}] ({}).sections[{si}] ({})", r.id, s.id),
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

fn read_attachments(e: &Export, base: &Path, problems: &mut Vec<Problem>) -> Vec<(AttachmentId, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, a) in e.attachments.iter().enumerate() {
        let at = format!("attachments[{i}] ({})", a.id);
        let rel = Path::new(&a.file);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir | Component::Prefix(_))) {
            problems.push(Problem::at(at, "file must be a relative path inside the export folder"));
            continue;
        }
        let full: PathBuf = base.join(rel);
        let bytes = match std::fs::read(&full) {
            Ok(b) => b,
            Err(err) => {
                problems.push(Problem::at(
                    at,
                    format!("file {} cannot be read ({}); put it beside the export or fix `file`", a.file, err.kind()),
                ));
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

/// serde messages quote the offending value; values may be personal data, so drop them.
fn scrub(msg: &str) -> String {
    let mut out = String::new();
    let mut chars = msg.chars().peekable();
    let mut in_q: Option<char> = None;
    let mut word = String::new();
    while let Some(c) = chars.next() {
        match in_q {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    in_q = None;
                    out.push_str("(value)");
                }
            }
            None => {
                if c == '"' || (c == '`' && (word.ends_with("variant ") || word.ends_with("value "))) {
                    in_q = Some(c);
                } else {
                    out.push(c);
                }
            }
        }
        word.push(c);
        if word.len() > 40 {
            word.drain(..word.len() - 20);
        }
    }
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
    }
}
