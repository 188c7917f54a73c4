//! The case store: the only owner of the SQLite connection. It holds validated exports as typed
//! rows (one JSON document per entity, with the columns queries need), attachment bytes by content
//! hash, and the audit log. Schema changes are append-only migrations tracked in
//! `PRAGMA user_version`, run in one exclusive transaction. A store is made only where no file
//! exists; every write transaction takes the write lock first (IMMEDIATE), so concurrent
//! writers queue; attachment bytes are checked against their hash when read, and each family's
//! rows against a digest taken at import. It never validates (that is `import`'s job) and
//! never decides anything.

use crate::model::text::PlainText;
use crate::model::*;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub mod review;

/// Errors from the store. Messages name ids and tables, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("case store {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("case store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("case store: stored {kind} {id} cannot be read back ({msg}); the store may come from a newer disclose")]
    Corrupt { kind: &'static str, id: String, msg: String },
    #[error("case store: schema version {found} is newer than this disclose knows ({known}); upgrade disclose")]
    TooNew { found: i64, known: i64 },
    #[error("export {0} is not in the case store; run `disclose import` first")]
    NoExport(String),
    #[error("person {0} is not in the case store; `disclose files` lists the children")]
    NoPerson(String),
    #[error("person {0} is in more than one export in this store; pass --export to choose one")]
    Ambiguous(String),
    #[error("attachment blob {0} is missing from the case store")]
    NoBlob(String),
    #[error("case store {path}: cannot create the file ({kind}); check that its folder exists and is writable")]
    Create { path: String, kind: std::io::ErrorKind },
    #[error("case store {0} does not exist; run `disclose import EXPORT.json --db {0}` first")]
    Missing(String),
    #[error("{path} is not a disclose case store ({why}); give the path of a case store, or a path where no file exists to make a new one")]
    NotAStore { path: String, why: &'static str },
    #[error("export {0} is already in the case store; pass --replace to replace it")]
    ExportExists(String),
    #[error("attachment blob {0} in the case store is damaged: its bytes no longer match their SHA-256; restore the store from a backup or import the export again with --replace")]
    BlobDamaged(String),
    #[error("export {0} in the case store is damaged or was changed: its rows no longer match the digest taken when it was imported; restore the store from a backup or import the export again with --replace")]
    FamilyDamaged(String),
    #[error("export {0} in the case store has no digest of its rows; import it again with --replace")]
    NoDigest(String),
}

/// One schema step: SQL, or Rust for what SQL cannot compute (digests).
enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction<'_>) -> Result<(), StoreError>),
}
use Migration::{Rust, Sql};

/// Append-only: never edit a migration that has shipped; add a new one.
const MIGRATIONS: &[Migration] = &[
    // 1: exports, entities, membership, section text, blobs.
    Sql("CREATE TABLE export (
        id TEXT PRIMARY KEY,
        format_version TEXT NOT NULL,
        exported_at TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        header_json TEXT NOT NULL,
        import_seq INTEGER NOT NULL
     );
     CREATE TABLE entity (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        ord INTEGER NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (export_id, kind, id)
     );
     CREATE INDEX entity_by_kind ON entity(export_id, kind, ord);
     CREATE TABLE person (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (export_id, id)
     );
     CREATE TABLE membership (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        record_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        on_file INTEGER NOT NULL,
        removed_reason TEXT,
        PRIMARY KEY (export_id, record_id, person_id)
     );
     CREATE TABLE attachment_file (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        attachment_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        PRIMARY KEY (export_id, attachment_id, person_id)
     );
     CREATE TABLE section_text (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        record_id TEXT NOT NULL,
        section_id TEXT NOT NULL,
        text TEXT NOT NULL,
        source_map BLOB NOT NULL,
        PRIMARY KEY (export_id, record_id, section_id)
     );
     CREATE TABLE blob (
        sha256 TEXT PRIMARY KEY,
        bytes BLOB NOT NULL
     );
     CREATE TABLE attachment_blob (
        export_id TEXT NOT NULL REFERENCES export(id) ON DELETE CASCADE,
        attachment_id TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES blob(sha256),
        PRIMARY KEY (export_id, attachment_id)
     );"),
    // 2: the audit log (one row per export run, hash-chained).
    Sql("CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        entry_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );
     CREATE TABLE removed_span (
        run_hash TEXT NOT NULL,
        location TEXT NOT NULL,
        span_hash TEXT NOT NULL
     );
     CREATE INDEX removed_span_by_run ON removed_span(run_hash);"),
    // 3: the number of words of each removed span (for the leak check's sliding window), and the
    // head of the audit chain (so that deleting the last entries is detectable too).
    Sql("ALTER TABLE removed_span ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
     );"),
    // 4: a digest of each imported family's rows (checked before every export), and the state
    // of each release in the audit log: recorded as pending before its outputs are put in place,
    // done once they are (with the folder and process, to settle a release whose run was killed).
    Sql("CREATE TABLE export_digest (
        export_id TEXT PRIMARY KEY REFERENCES export(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL
     );
     ALTER TABLE audit ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
     ALTER TABLE audit ADD COLUMN out_dir TEXT;
     ALTER TABLE audit ADD COLUMN pid INTEGER;"),
    // 5: digests of the exports imported before there were digests.
    Rust(digest_existing),
    // 6: the review: requests with their due dates, reviewers (argon2id hashes), decisions on
    // marks and persons (append-only: the latest per target counts), marks added by reviewers,
    // approvals, and the review page's sessions.
    Sql("CREATE TABLE request (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        export_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        requester TEXT NOT NULL,
        policy TEXT NOT NULL,
        received TEXT NOT NULL,
        due TEXT NOT NULL,
        extended_to TEXT,
        extension_reason TEXT,
        reference TEXT,
        override_reason TEXT,
        created_at TEXT NOT NULL,
        released_at TEXT
     );
     CREATE TABLE reviewer (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
     );
     CREATE TABLE decision (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES request(id),
        target_kind TEXT NOT NULL CHECK (target_kind IN ('mark', 'person')),
        target TEXT NOT NULL,
        verdict TEXT NOT NULL,
        code TEXT,
        reviewer TEXT NOT NULL REFERENCES reviewer(name),
        why TEXT,
        at TEXT NOT NULL
     );
     CREATE INDEX decision_by_request ON decision(request_id, seq);
     CREATE TABLE added_mark (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES request(id),
        place TEXT NOT NULL,
        words TEXT,
        rect TEXT,
        code TEXT NOT NULL,
        reviewer TEXT NOT NULL REFERENCES reviewer(name),
        why TEXT NOT NULL,
        at TEXT NOT NULL,
        withdrawn_at TEXT
     );
     CREATE TABLE approval (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES request(id),
        reviewer TEXT NOT NULL REFERENCES reviewer(name),
        basis TEXT NOT NULL,
        at TEXT NOT NULL,
        withdrawn_at TEXT
     );
     CREATE TABLE session (
        token_sha256 TEXT PRIMARY KEY,
        reviewer TEXT NOT NULL REFERENCES reviewer(name),
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at INTEGER NOT NULL
     );
     CREATE TABLE login_failure (
        name TEXT NOT NULL,
        at INTEGER NOT NULL
     );"),
];

fn digest_existing(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let ids: Vec<String> = {
        let mut st = tx.prepare("SELECT id FROM export WHERE id NOT IN (SELECT export_id FROM export_digest)")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in ids {
        let d = family_digest(tx, &id)?;
        tx.execute("INSERT INTO export_digest (export_id, sha256) VALUES (?1, ?2)", params![id, d])?;
    }
    Ok(())
}

/// The SHA-256 of every stored row of one export, in a fixed order, each value length-prefixed:
/// the export row, its entities, the query tables (persons, membership, files of attachments),
/// section text with its offset map and the attachments' blob hashes. (Blob bytes are checked
/// against their own hash when read.)
fn family_digest(conn: &Connection, export: &str) -> Result<String, StoreError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    const TABLES: &[(&str, &str)] = &[
        ("export", "SELECT id, format_version, exported_at, source_sha256, header_json FROM export WHERE id = ?1"),
        ("entity", "SELECT kind, id, ord, json FROM entity WHERE export_id = ?1 ORDER BY kind, id"),
        ("person", "SELECT id, kind FROM person WHERE export_id = ?1 ORDER BY id"),
        (
            "membership",
            "SELECT record_id, person_id, on_file, removed_reason FROM membership WHERE export_id = ?1 ORDER BY record_id, person_id",
        ),
        (
            "attachment_file",
            "SELECT attachment_id, person_id FROM attachment_file WHERE export_id = ?1 ORDER BY attachment_id, person_id",
        ),
        (
            "section_text",
            "SELECT record_id, section_id, text, source_map FROM section_text WHERE export_id = ?1 ORDER BY record_id, section_id",
        ),
        ("attachment_blob", "SELECT attachment_id, sha256 FROM attachment_blob WHERE export_id = ?1 ORDER BY attachment_id"),
    ];
    for (table, sql) in TABLES {
        h.update(table.as_bytes());
        h.update([0]);
        let mut st = conn.prepare_cached(sql)?;
        let mut rows = st.query([export])?;
        while let Some(r) = rows.next()? {
            let n = r.as_ref().column_count();
            h.update([1]);
            for i in 0..n {
                use rusqlite::types::ValueRef;
                let (tag, bytes): (u8, std::borrow::Cow<'_, [u8]>) = match r.get_ref(i)? {
                    ValueRef::Null => (0, (&[][..]).into()),
                    ValueRef::Integer(v) => (1, v.to_le_bytes().to_vec().into()),
                    ValueRef::Real(v) => (2, v.to_le_bytes().to_vec().into()),
                    ValueRef::Text(t) => (3, t.into()),
                    ValueRef::Blob(b) => (4, b.into()),
                };
                h.update([tag]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
        }
    }
    Ok(crate::import::hex(&h.finalize()))
}

/// Everything the importer hands to the store for one export, already validated.
pub struct ImportBatch<'a> {
    pub export: &'a Export,
    pub relationships: &'a [Relationship],
    pub section_text: &'a [(RecordId, SectionId, PlainText)],
    pub blobs: &'a [(AttachmentId, String, Vec<u8>)],
    pub source_sha256: String,
}

/// A child in the store with file sizes, for `disclose files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSummary {
    pub export: ExportId,
    pub person: PersonId,
    pub records: usize,
    pub attachments: usize,
}

/// The case store.
pub struct Store {
    conn: Connection,
    /// The store file (none in memory).
    path: Option<PathBuf>,
    /// Where the audit trail's key is, when given (`--audit-key`); else beside the store.
    audit_key: Option<PathBuf>,
}

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Temporary names are unique within the process.
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Store {
    /// Open a store file, or make a new one where no file exists. An existing file that is not a
    /// case store (an empty file, another program's database) is refused, never taken over.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            _ => Self::open_existing(path),
        }
    }

    /// Open a store file that must exist; never creates one.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|_| StoreError::Missing(shown.clone()))?;
        let not = |why| StoreError::NotAStore { path: shown.clone(), why };
        if !meta.is_file() {
            return Err(not("it is not a file"));
        }
        let mut head = [0u8; 16];
        let n = {
            use std::io::Read;
            let mut f = std::fs::File::open(path).map_err(|_| not("it cannot be read"))?;
            let mut n = 0;
            while n < head.len() {
                match f.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(_) => return Err(not("it cannot be read")),
                }
            }
            n
        };
        if n == 0 {
            return Err(not("the file is empty"));
        }
        if n < head.len() || &head != SQLITE_HEADER {
            return Err(not("it is not a SQLite database"));
        }
        // Read-write without create: a file that is not writable opens read-only, and writes fail.
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open { path: shown.clone(), source })?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|_| not("it is not a SQLite database"))?;
        if version == 0 {
            return Err(not("it is a SQLite database of another program"));
        }
        Self::init(conn, Some(path.to_path_buf()))
    }

    /// A new store: made complete under a temporary name beside `path`, then linked into place
    /// only if still nothing is there, so that no one ever sees a half-made store.
    fn create(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "store".into());
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.new", std::process::id()));
        {
            let conn = Connection::open(&tmp).map_err(|source| StoreError::Open { path: shown.clone(), source })?;
            if let Err(e) = Self::init(conn, None) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            // Made by another process meanwhile: open that one.
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::Create { path: shown, kind: e.kind() }),
        }
        Self::open_existing(path)
    }

    /// A store in memory, for tests and the demo.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Writers queue behind each other (every write transaction starts IMMEDIATE).
        conn.busy_timeout(std::time::Duration::from_secs(120))?;
        let mut s = Store { conn, path, audit_key: None };
        s.migrate()?;
        Ok(s)
    }

    /// The store file, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Use the audit key at `p` instead of the default beside the store.
    pub fn set_audit_key(&mut self, p: Option<PathBuf>) {
        self.audit_key = p;
    }

    /// The audit key given with [`Store::set_audit_key`], if any.
    pub fn audit_key(&self) -> Option<&Path> {
        self.audit_key.as_deref()
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Bring the schema up to date. The version is read again inside one exclusive transaction,
    /// so two processes opening an old store at once migrate it once.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        let have = self.schema_version()?;
        if have > known {
            return Err(StoreError::TooNew { found: have, known });
        }
        if have == known {
            return Ok(()); // the version and the schema change in one transaction
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let have: i64 = tx.query_row("SELECT user_version FROM pragma_user_version", [], |r| r.get(0))?;
        if have > known {
            return Err(StoreError::TooNew { found: have, known });
        }
        for m in MIGRATIONS.iter().skip(have.max(0) as usize) {
            match m {
                Sql(sql) => tx.execute_batch(sql)?,
                Rust(f) => f(&tx)?,
            }
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(())
    }

    /// Whether an export id is already stored.
    pub fn has_export(&self, id: &ExportId) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT 1 FROM export WHERE id = ?1", [id.as_str()], |_| Ok(())).optional()?.is_some())
    }

    /// Write one validated export in a single transaction (replacing an earlier copy if asked).
    pub fn import(&mut self, b: &ImportBatch<'_>, replace: bool) -> Result<(), StoreError> {
        // IMMEDIATE: the write lock is taken first, so a second import waits for this one and
        // then sees what it wrote (never "database is locked" half-way).
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = b.export.export.id.as_str();
        let exists = tx.query_row("SELECT 1 FROM export WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some();
        if exists && !replace {
            return Err(StoreError::ExportExists(id.to_string()));
        }
        if replace {
            tx.execute("DELETE FROM export WHERE id = ?1", [id])?;
        }
        let seq: i64 = tx.query_row("SELECT COALESCE(MAX(import_seq), 0) + 1 FROM export", [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO export (id, format_version, exported_at, source_sha256, header_json, import_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                b.export.format_version,
                b.export.export.exported_at.0,
                b.source_sha256,
                to_json(&b.export.export),
                seq
            ],
        )?;
        put_all(&tx, id, "organisation", &b.export.organisations, |x| x.id.as_str())?;
        put_all(&tx, id, "professional", &b.export.professionals, |x| x.id.as_str())?;
        put_all(&tx, id, "address", &b.export.addresses, |x| x.id.as_str())?;
        put_all(&tx, id, "person", &b.export.persons, |x| x.id.as_str())?;
        put_all(&tx, id, "relationship", b.relationships, |x| x.id.as_str())?;
        put_all(&tx, id, "group", &b.export.groups, |x| x.id.as_str())?;
        put_all_by(&tx, id, "involvement", &b.export.involvements, |i, _| format!("involvement-{i}"))?;
        put_all(&tx, id, "episode", &b.export.episodes, |x| x.id.as_str())?;
        put_all(&tx, id, "record", &b.export.records, |x| x.id.as_str())?;
        put_all(&tx, id, "attachment", &b.export.attachments, |x| x.id.as_str())?;
        {
            let mut st = tx.prepare_cached("INSERT INTO person (export_id, id, kind) VALUES (?1, ?2, ?3)")?;
            for p in &b.export.persons {
                st.execute(params![id, p.id.as_str(), p.kind])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO membership (export_id, record_id, person_id, on_file, removed_reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in &b.export.records {
                for m in &r.membership {
                    st.execute(params![
                        id,
                        r.id.as_str(),
                        m.person.as_str(),
                        m.on_file && m.removed.is_none(),
                        m.removed.as_ref().map(|x| x.reason.as_str())
                    ])?;
                }
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO attachment_file (export_id, attachment_id, person_id) VALUES (?1, ?2, ?3)",
            )?;
            for a in &b.export.attachments {
                for p in &a.on_files {
                    st.execute(params![id, a.id.as_str(), p.as_str()])?;
                }
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO section_text (export_id, record_id, section_id, text, source_map) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (r, s, t) in b.section_text {
                let map: Vec<u8> = t.map.iter().flat_map(|o| o.to_le_bytes()).collect();
                st.execute(params![id, r.as_str(), s.as_str(), t.text, map])?;
            }
            let mut put_blob = tx.prepare_cached("INSERT OR IGNORE INTO blob (sha256, bytes) VALUES (?1, ?2)")?;
            let mut link = tx
                .prepare_cached("INSERT INTO attachment_blob (export_id, attachment_id, sha256) VALUES (?1, ?2, ?3)")?;
            for (att, sha, bytes) in b.blobs {
                put_blob.execute(params![sha, bytes])?;
                link.execute(params![id, att.as_str(), sha])?;
            }
        }
        // Blobs no export refers to any more (after --replace) are dropped.
        tx.execute("DELETE FROM blob WHERE sha256 NOT IN (SELECT sha256 FROM attachment_blob)", [])?;
        // The digest of the rows as stored, checked again before every export.
        let digest = family_digest(&tx, id)?;
        tx.execute("INSERT INTO export_digest (export_id, sha256) VALUES (?1, ?2)", params![id, digest])?;
        tx.commit()?;
        Ok(())
    }

    /// The exports that hold person `p`.
    pub fn exports_with_person(&self, p: &PersonId) -> Result<Vec<ExportId>, StoreError> {
        let mut st = self.conn.prepare_cached("SELECT export_id FROM person WHERE id = ?1 ORDER BY export_id")?;
        let rows = st.query_map([p.as_str()], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().map(ExportId).collect())
    }

    /// The export that holds `p`, or a clear error when none or several do.
    pub fn export_of(&self, p: &PersonId, export: Option<&ExportId>) -> Result<ExportId, StoreError> {
        let all = self.exports_with_person(p)?;
        match export {
            Some(e) if all.contains(e) => Ok(e.clone()),
            Some(_) => Err(StoreError::NoPerson(p.to_string())),
            None => match all.len() {
                0 => Err(StoreError::NoPerson(p.to_string())),
                1 => Ok(all[0].clone()),
                _ => Err(StoreError::Ambiguous(p.to_string())),
            },
        }
    }

    /// Every stored export id, oldest import first.
    pub fn exports(&self) -> Result<Vec<ExportId>, StoreError> {
        let mut st = self.conn.prepare_cached("SELECT id FROM export ORDER BY import_seq")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().map(ExportId).collect())
    }

    /// The SHA-256 of the export JSON as imported.
    pub fn export_source_hash(&self, e: &ExportId) -> Result<String, StoreError> {
        self.conn
            .query_row("SELECT source_sha256 FROM export WHERE id = ?1", [e.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NoExport(e.to_string()))
    }

    /// The children in the store with the number of records and attachments on each file.
    pub fn children(&self) -> Result<Vec<ChildSummary>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT p.export_id, p.id,
                (SELECT COUNT(*) FROM membership m WHERE m.export_id = p.export_id AND m.person_id = p.id AND m.on_file = 1),
                (SELECT COUNT(*) FROM attachment_file a WHERE a.export_id = p.export_id AND a.person_id = p.id)
             FROM person p JOIN export e ON e.id = p.export_id
             WHERE p.kind = 'child' OR EXISTS (SELECT 1 FROM membership m WHERE m.export_id = p.export_id AND m.person_id = p.id AND m.on_file = 1)
             ORDER BY e.import_seq, p.id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ChildSummary {
                export: ExportId(r.get(0)?),
                person: PersonId(r.get(1)?),
                records: r.get::<_, i64>(2)? as usize,
                attachments: r.get::<_, i64>(3)? as usize,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Load a whole family. One query per table, not per record.
    pub fn load_family(&self, e: &ExportId) -> Result<Family, StoreError> {
        self.check_digest(e)?;
        let header_json: String = self
            .conn
            .query_row("SELECT header_json FROM export WHERE id = ?1", [e.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NoExport(e.to_string()))?;
        let header: ExportHeader = from_json("export", e.as_str(), &header_json)?;
        let mut section_text = HashMap::new();
        {
            let mut st = self.conn.prepare_cached(
                "SELECT record_id, section_id, text, source_map FROM section_text WHERE export_id = ?1",
            )?;
            let rows = st.query_map([e.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Vec<u8>>(3)?))
            })?;
            for row in rows {
                let (rid, sid, text, map) = row?;
                let map = map.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                section_text.insert((RecordId(rid), SectionId(sid)), PlainText { text, map });
            }
        }
        let mut attachment_blobs = HashMap::new();
        {
            let mut st =
                self.conn.prepare_cached("SELECT attachment_id, sha256 FROM attachment_blob WHERE export_id = ?1")?;
            let rows = st.query_map([e.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (a, h) = row?;
                attachment_blobs.insert(AttachmentId(a), h);
            }
        }
        let involvements: Vec<Involvement> = self.get_all(e, "involvement")?;
        Ok(Family::new(
            header,
            self.get_all(e, "organisation")?,
            self.get_all(e, "professional")?,
            self.get_all(e, "address")?,
            self.get_all(e, "person")?,
            self.get_all(e, "relationship")?,
            self.get_all(e, "group")?,
            involvements,
            self.get_all(e, "episode")?,
            self.get_all(e, "record")?,
            self.get_all(e, "attachment")?,
            section_text,
            attachment_blobs,
        ))
    }

    /// Check an export's rows against the digest taken when it was imported.
    pub fn check_digest(&self, e: &ExportId) -> Result<(), StoreError> {
        if !self.has_export(e)? {
            return Err(StoreError::NoExport(e.to_string()));
        }
        let want: Option<String> = self
            .conn
            .query_row("SELECT sha256 FROM export_digest WHERE export_id = ?1", [e.as_str()], |r| r.get(0))
            .optional()?;
        let Some(want) = want else { return Err(StoreError::NoDigest(e.to_string())) };
        if family_digest(&self.conn, e.as_str())? != want {
            return Err(StoreError::FamilyDamaged(e.to_string()));
        }
        Ok(())
    }

    fn get_all<T: DeserializeOwned>(&self, e: &ExportId, kind: &'static str) -> Result<Vec<T>, StoreError> {
        let mut st =
            self.conn.prepare_cached("SELECT id, json FROM entity WHERE export_id = ?1 AND kind = ?2 ORDER BY ord")?;
        let rows = st.query_map(params![e.as_str(), kind], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row?;
            out.push(from_json(kind, &id, &json)?);
        }
        Ok(out)
    }

    /// The bytes of a stored attachment, by content hash; refused if they no longer hash to it.
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let bytes: Vec<u8> = self
            .conn
            .query_row("SELECT bytes FROM blob WHERE sha256 = ?1", [sha256], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NoBlob(sha256.to_string()))?;
        if crate::seal::manifest::sha256_hex(&bytes) != sha256.to_ascii_lowercase() {
            return Err(StoreError::BlobDamaged(sha256.to_string()));
        }
        Ok(bytes)
    }

    /// Run `f` inside one write transaction (IMMEDIATE: it waits for other writers first) on the
    /// raw connection. Only the audit module uses this, to append to its chain atomically.
    pub fn with_transaction<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Read-only access to the connection for modules that own their own tables (audit).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model types always serialize")
}

fn from_json<T: DeserializeOwned>(kind: &'static str, id: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        kind,
        id: id.to_string(),
        msg: format!("line {} column {}", e.line(), e.column()),
    })
}

fn put_all<T: Serialize>(
    tx: &Transaction<'_>,
    export: &str,
    kind: &str,
    items: &[T],
    id: impl Fn(&T) -> &str,
) -> Result<(), StoreError> {
    put_all_by(tx, export, kind, items, |_, x| id(x).to_string())
}

fn put_all_by<T: Serialize>(
    tx: &Transaction<'_>,
    export: &str,
    kind: &str,
    items: &[T],
    id: impl Fn(usize, &T) -> String,
) -> Result<(), StoreError> {
    let mut st =
        tx.prepare_cached("INSERT INTO entity (export_id, kind, id, ord, json) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for (i, x) in items.iter().enumerate() {
        st.execute(params![export, kind, id(i, x), i as i64, to_json(x)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        let s = Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        // Opening again applies nothing and keeps the version.
        let s = Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        // In memory, twice.
        for _ in 0..2 {
            let s = Store::open_in_memory().unwrap();
            assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        }
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.db");
        {
            let c = Connection::open(&other).unwrap();
            c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        }
        let cases: [(&str, &[u8], &str); 3] = [
            ("empty.db", b"", "the file is empty"),
            ("text.db", b"subject,policy\n", "not a SQLite database"),
            ("other.db", b"", "another program"),
        ];
        for (name, bytes, why) in cases {
            let p = dir.path().join(name);
            if name != "other.db" {
                std::fs::write(&p, bytes).unwrap();
            }
            let before = std::fs::read(&p).unwrap();
            for r in [Store::open(&p), Store::open_existing(&p)] {
                let e = r.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(e.contains("is not a disclose case store") && e.contains(why), "{name}: {e}");
            }
            assert_eq!(std::fs::read(&p).unwrap(), before, "{name} was changed");
        }
        // A folder is not a store either, and a missing file is made only by `open`.
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not a file"), "{e}");
        let missing = dir.path().join("new.db");
        assert!(Store::open_existing(&missing).err().unwrap().to_string().contains("does not exist"));
        assert!(!missing.exists());
        Store::open(&missing).unwrap();
        Store::open_existing(&missing).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 4, "no temporary file is left: {left:?}");
    }

    #[test]
    fn stores_opened_at_once_by_many_threads_are_made_and_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || Store::open(&p).map(|s| s.schema_version().unwrap()))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), MIGRATIONS.len() as i64);
        }
    }

    #[test]
    fn a_damaged_blob_is_refused_when_read() {
        let s = Store::open_in_memory().unwrap();
        let bytes = b"%PDF-1.4 attachment".to_vec();
        let h = crate::seal::manifest::sha256_hex(&bytes);
        s.conn.execute("INSERT INTO blob (sha256, bytes) VALUES (?1, ?2)", params![h, bytes]).unwrap();
        assert_eq!(s.blob(&h).unwrap(), bytes);
        let mut bad = bytes.clone();
        bad[3] ^= 1;
        s.conn.execute("UPDATE blob SET bytes = ?1", params![bad]).unwrap();
        let e = s.blob(&h).unwrap_err().to_string();
        assert!(e.contains("damaged") && e.contains(&h), "{e}");
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(matches!(Store::open(&p), Err(StoreError::TooNew { found: 99, .. })));
    }
}
