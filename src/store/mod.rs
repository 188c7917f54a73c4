//! The case store: the only owner of the SQLite connection. It holds validated exports as typed
//! rows (one JSON document per entity, with the columns queries need), attachment bytes by content
//! hash, and later the audit log. Schema changes are append-only migrations tracked in
//! `PRAGMA user_version`. It never validates (that is `import`'s job) and never decides anything.

use crate::model::text::PlainText;
use crate::model::*;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

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
}

/// Append-only: never edit a migration that has shipped; add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: exports, entities, membership, section text, blobs.
    "CREATE TABLE export (
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
     );",
    // 2: the audit log (one row per export run, hash-chained).
    "CREATE TABLE audit (
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
     CREATE INDEX removed_span_by_run ON removed_span(run_hash);",
    // 3: the number of words of each removed span (for the leak check's sliding window), and the
    // head of the audit chain (so that deleting the last entries is detectable too).
    "ALTER TABLE removed_span ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
     );",
];

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
}

impl Store {
    /// Open (creating if needed) a store file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn =
            Connection::open(path).map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        Self::init(conn)
    }

    /// A store in memory, for tests and the demo.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut s = Store { conn };
        s.migrate()?;
        Ok(s)
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let have = self.schema_version()?;
        let known = MIGRATIONS.len() as i64;
        if have > known {
            return Err(StoreError::TooNew { found: have, known });
        }
        let tx = self.conn.transaction()?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(have as usize) {
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether an export id is already stored.
    pub fn has_export(&self, id: &ExportId) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT 1 FROM export WHERE id = ?1", [id.as_str()], |_| Ok(())).optional()?.is_some())
    }

    /// Write one validated export in a single transaction (replacing an earlier copy if asked).
    pub fn import(&mut self, b: &ImportBatch<'_>, replace: bool) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let id = b.export.export.id.as_str();
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

    /// The bytes of a stored attachment, by content hash.
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row("SELECT bytes FROM blob WHERE sha256 = ?1", [sha256], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NoBlob(sha256.to_string()))
    }

    /// Run `f` inside one transaction on the raw connection. Only the audit module uses this,
    /// to append to its chain atomically.
    pub fn with_transaction<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.conn.transaction().map_err(StoreError::from)?;
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
