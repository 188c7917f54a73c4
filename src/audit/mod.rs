//! The audit trail: every release is recorded in the case store (who released what, to whom,
//! under which policy, with which inputs and outputs) before its outputs are put in place, as
//! pending, and marked done once they are; an output is never in place unaudited. Each entry
//! carries a keyed hash (HMAC-SHA-256) of itself and the entry before, with a secret kept
//! outside the store (the audit key, a file readable by its owner only), so that whoever can
//! write the store but not read the key cannot edit, delete or recompute entries unseen. The
//! chain's head is also kept beside the key (a checkpoint, so deleting the last entries, or all
//! of them, is seen) and goes into every manifest, so history rewritten after a release
//! contradicts the bundles already sent. Also keeps, per run, hashes of the text removed, so
//! `disclose verify --db` can look for it again without plain text on disk.

use crate::seal::manifest::{AuditHead, Manifest};
use crate::store::{Store, StoreError};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One export as recorded.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    /// When the export ran (UTC, from the clock: the audit records real time).
    pub run_at: String,
    pub export: String,
    pub subject: String,
    pub requester: String,
    pub policy: String,
    pub policy_sha256: String,
    pub officer: String,
    /// The request's date.
    pub date: String,
    pub inputs: BTreeMap<String, String>,
    pub manifest_sha256: String,
    pub bundle_sha256: String,
    pub signed: bool,
    pub counts: BTreeMap<String, usize>,
    /// Review items, as locations.
    pub review: Vec<String>,
    pub verification_failures: usize,
    /// A marker of the requester that the policy refuses, overridden by the officer with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden_markers: Vec<String>,
    /// The registered request released, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Whether it was a draft, approved (by whom) or released unreviewed (by whom, why).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}

/// Something a person did in the review (a request registered, a decision, an approval, a view of
/// a record in the review page), as recorded. Ids and codes only, never the case's words; the
/// officer's own reasons are kept as they wrote them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// What happened: `request`, `extend`, `reviewer`, `decision`, `added_mark`, `approval`,
    /// `view`, `release_unreviewed`, `login`.
    pub event: String,
    /// When (UTC, from the clock).
    pub at: String,
    /// Who (a reviewer, or the officer).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// What it was about: a mark id, a person id, a record id, a page's location key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The rest, by name (verdict, code, why, basis...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, String>,
}

impl Event {
    pub fn new(event: &str, by: &str) -> Event {
        Event {
            event: event.into(),
            at: crate::model::time::now_utc(),
            by: by.into(),
            request: None,
            target: None,
            detail: BTreeMap::new(),
        }
    }

    pub fn request(mut self, r: &str) -> Event {
        self.request = Some(r.into());
        self
    }

    pub fn target(mut self, t: &str) -> Event {
        self.target = Some(t.into());
        self
    }

    pub fn with(mut self, k: &str, v: impl Into<String>) -> Event {
        self.detail.insert(k.into(), v.into());
        self
    }
}

/// What an entry of the trail is: a release, or something a person did.
#[derive(Clone, Debug)]
pub enum Entry {
    Release(Box<AuditEntry>),
    Event(Event),
}

impl Entry {
    /// Read a stored entry.
    pub fn parse(json: &str) -> Option<Entry> {
        if let Ok(e) = serde_json::from_str::<Event>(json) {
            if !e.event.is_empty() && json.contains("\"event\"") {
                return Some(Entry::Event(e));
            }
        }
        serde_json::from_str::<AuditEntry>(json).ok().map(|e| Entry::Release(Box::new(e)))
    }
}

/// Appends events to the chain inside a store transaction (with the write they record), then
/// moves the checkpoint beside the key once the transaction is committed.
pub struct EventWriter {
    key: AuditKey,
    last: std::cell::Cell<Option<(i64, String)>>,
}

impl EventWriter {
    pub fn for_store(store: &Store) -> Result<EventWriter, AuditError> {
        Ok(EventWriter { key: AuditKey::for_store(store, true)?, last: std::cell::Cell::new(None) })
    }

    /// Append inside `tx`.
    pub fn append(&self, tx: &rusqlite::Transaction<'_>, e: &Event) -> Result<(), StoreError> {
        let json = serde_json::to_string(e).expect("an event serialises");
        let prev: String = tx
            .query_row("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| GENESIS.to_string());
        let hash = self.key.chain_hash(&prev, &json);
        tx.execute(
            "INSERT INTO audit (entry_json, prev_hash, hash, state) VALUES (?1, ?2, ?3, 'done')",
            params![json, prev, hash],
        )?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2",
            params![seq, hash],
        )?;
        self.last.set(Some((seq, hash)));
        Ok(())
    }

    /// After the transaction is committed: the checkpoint follows the chain.
    pub fn finish(self) {
        if let Some((seq, hash)) = self.last.take() {
            self.key.write_checkpoint(&AuditHead { seq, hash });
        }
    }
}

/// Record one event on its own.
pub fn record_event(store: &mut Store, e: &Event) -> Result<(), AuditError> {
    let w = EventWriter::for_store(store)?;
    store.audited(&mut |tx| w.append(tx, e))?;
    w.finish();
    Ok(())
}

/// A stored entry with its chain hashes and the state of its release.
#[derive(Clone, Debug)]
pub struct Stored {
    pub seq: i64,
    pub entry_json: String,
    pub prev_hash: String,
    pub hash: String,
    /// `pending` (recorded, outputs being put in place), `done`, or `not placed` (the run
    /// stopped before its outputs were in place).
    pub state: String,
    pub out_dir: Option<String>,
}

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Errors of the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the audit key {0} does not exist; pass the store's key with --audit-key (or DISCLOSE_AUDIT_KEY)")]
    NoKey(String),
    #[error("the audit key {path} cannot be used: {why}")]
    BadKey { path: String, why: String },
}

/// The secret that keys the chain.
pub struct AuditKey {
    key: [u8; 32],
    /// The key file (none for a store in memory, whose key lives as long as the process).
    path: Option<PathBuf>,
}

/// The environment variable that names the audit key when `--audit-key` is not given.
pub const KEY_ENV: &str = "DISCLOSE_AUDIT_KEY";

/// Where a store's audit key is: as given to the store (`--audit-key`), else `$DISCLOSE_AUDIT_KEY`,
/// else `STORE.audit-key` beside the store file. None for a store in memory.
pub fn key_path(store: &Store) -> Option<PathBuf> {
    if let Some(p) = store.audit_key() {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let db = store.path()?;
    let mut name = db.file_name()?.to_os_string();
    name.push(".audit-key");
    Some(db.with_file_name(name))
}

impl AuditKey {
    /// The store's key; made (32 random bytes, mode 0600) when `create` and it does not exist.
    pub fn for_store(store: &Store, create: bool) -> Result<AuditKey, AuditError> {
        let Some(path) = key_path(store) else {
            static MEMORY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
            return Ok(AuditKey { key: *MEMORY.get_or_init(random_key), path: None });
        };
        let shown = path.display().to_string();
        let bad = |why: String| AuditError::BadKey { path: shown.clone(), why };
        if std::fs::symlink_metadata(&path).is_err() {
            if !create {
                return Err(AuditError::NoKey(shown));
            }
            let key = random_key();
            let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| bad("it has no file name".into()))?;
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let text = crate::import::hex(&key) + "\n";
            match crate::export::staged::write_new_files(&dir, &[(name, text.as_bytes(), true)]) {
                Ok(_) => {}
                // Made by another process meanwhile: read that one.
                Err(_) if path.exists() => return Self::for_store(store, false),
                Err(e) => return Err(bad(format!("{e:#}"))),
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_err(|e| bad(e.kind().to_string()))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(bad(format!(
                    "it is readable or writable by others (mode {:o}); run `chmod 600 {shown}`",
                    mode & 0o777
                )));
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.kind().to_string()))?;
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("it is not 64 hex digits".into()));
        }
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).expect("hex checked");
        }
        Ok(AuditKey { key, path: Some(path) })
    }

    fn chain_hash(&self, prev: &str, entry_json: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        m.update(prev.as_bytes());
        m.update(b"\n");
        m.update(entry_json.as_bytes());
        crate::import::hex(&m.finalize().into_bytes())
    }

    /// The checkpoint file beside the key: the chain's last known (seq, hash).
    fn checkpoint_path(&self) -> Option<PathBuf> {
        let p = self.path.as_ref()?;
        let mut name = p.file_name()?.to_os_string();
        name.push(".head");
        Some(p.with_file_name(name))
    }

    fn read_checkpoint(&self) -> Option<AuditHead> {
        let text = std::fs::read_to_string(self.checkpoint_path()?).ok()?;
        let (seq, hash) = text.trim().split_once(' ')?;
        Some(AuditHead { seq: seq.parse().ok()?, hash: hash.to_string() })
    }

    /// Move the checkpoint forward (never back), written whole under a temporary name.
    fn write_checkpoint(&self, h: &AuditHead) {
        let Some(p) = self.checkpoint_path() else { return };
        if self.read_checkpoint().is_some_and(|c| c.seq >= h.seq) {
            return;
        }
        let tmp = p.with_extension(format!("head.{}.partial", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let ok = opts.open(&tmp).and_then(|mut f| {
            use std::io::Write;
            writeln!(f, "{} {}", h.seq, h.hash)?;
            f.sync_all()
        });
        if ok.is_ok() {
            let _ = std::fs::rename(&tmp, &p);
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn random_key() -> [u8; 32] {
    use rand_core::RngCore;
    let mut k = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut k);
    k
}

/// The chain's head now: the last entry's sequence number and hash (0 and [`GENESIS`] when the
/// trail is empty). It goes into the manifest of the next release.
pub fn head(store: &Store) -> Result<AuditHead, AuditError> {
    let h: Option<(i64, String)> = store
        .conn()
        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match h {
        Some((seq, hash)) => AuditHead { seq, hash },
        None => AuditHead { seq: 0, hash: GENESIS.to_string() },
    })
}

/// Record a release before its outputs are put in place: the entry, keyed and chained, with the
/// removed spans' hashes of its run, in one transaction, as `pending`, with the output folder.
/// Fails (and nothing may be put in place) when the store cannot be written.
pub fn record_pending(
    store: &mut Store,
    e: &AuditEntry,
    removed: &[(String, String, usize)],
    out_dir: &Path,
) -> Result<i64, AuditError> {
    let key = AuditKey::for_store(store, true)?;
    let json = serde_json::to_string(e).expect("audit entry serialises");
    let out = out_dir.display().to_string();
    let (seq, hash) = store.with_transaction(|tx| -> Result<(i64, String), AuditError> {
        let prev: String = tx
            .query_row("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| GENESIS.to_string());
        let hash = key.chain_hash(&prev, &json);
        tx.execute(
            "INSERT INTO audit (entry_json, prev_hash, hash, state, out_dir, pid) VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
            params![json, prev, hash, out, std::process::id() as i64],
        )?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2",
            params![seq, hash],
        )?;
        let mut st = tx.prepare_cached(
            "INSERT INTO removed_span (run_hash, location, span_hash, words) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (loc, h, w) in removed {
            st.execute(params![e.manifest_sha256, loc, h, *w as i64])?;
        }
        Ok((seq, hash))
    })?;
    key.write_checkpoint(&AuditHead { seq, hash });
    Ok(seq)
}

/// Mark a pending release `done` (its outputs are in place) or `not placed`.
pub fn mark(store: &mut Store, seq: i64, done: bool) -> Result<(), AuditError> {
    let state = if done { "done" } else { "not placed" };
    store.with_transaction(|tx| -> Result<(), AuditError> {
        tx.execute("UPDATE audit SET state = ?1, pid = NULL WHERE seq = ?2", params![state, seq])?;
        Ok(())
    })
}

/// Settle the pending releases of runs that are gone (killed between recording and marking):
/// `done` when their output folder holds their manifest, else `not placed`. Releases of live
/// processes are left alone. Returns how many were settled.
pub fn settle(store: &mut Store) -> Result<usize, AuditError> {
    let pending: Vec<(i64, String, Option<String>, Option<i64>)> = {
        let mut st = store.conn().prepare("SELECT seq, entry_json, out_dir, pid FROM audit WHERE state = 'pending'")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (seq, json, out, pid) in pending {
        let alive = match pid {
            Some(p) if p as u32 == std::process::id() => true,
            Some(p) => !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{p}")).exists(),
            None => false,
        };
        if alive {
            continue;
        }
        let want = serde_json::from_str::<AuditEntry>(&json).ok().map(|e| e.manifest_sha256);
        let placed = out
            .and_then(|o| std::fs::read(Path::new(&o).join("manifest.json")).ok())
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .is_some_and(|m| Some(&m.core_sha256) == want.as_ref());
        mark(store, seq, placed)?;
        n += 1;
    }
    Ok(n)
}

/// Every entry, oldest first.
pub fn list(store: &Store) -> Result<Vec<Stored>, AuditError> {
    let mut st =
        store.conn().prepare("SELECT seq, entry_json, prev_hash, hash, state, out_dir FROM audit ORDER BY seq")?;
    let rows = st.query_map([], |r| {
        Ok(Stored {
            seq: r.get(0)?,
            entry_json: r.get(1)?,
            prev_hash: r.get(2)?,
            hash: r.get(3)?,
            state: r.get(4)?,
            out_dir: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The recorded release of a manifest: the latest entry with its manifest hash, preferring one
/// that records the same bundle (re-runs of a request give the same manifest core).
pub fn release_of(store: &Store, m: &Manifest) -> Result<Option<(Stored, AuditEntry)>, AuditError> {
    let mut found: Option<(Stored, AuditEntry)> = None;
    for s in list(store)? {
        let Ok(e) = serde_json::from_str::<AuditEntry>(&s.entry_json) else { continue };
        if e.manifest_sha256 != m.core_sha256 {
            continue;
        }
        let same = e.bundle_sha256 == m.bundle_sha256;
        if same || found.as_ref().is_none_or(|(_, f)| f.bundle_sha256 != m.bundle_sha256) {
            found = Some((s, e));
        }
    }
    Ok(found)
}

/// Check the chain with the store's audit key: each entry's keyed hash, each link to the one
/// before, no gap, the head kept in the store and the checkpoint beside the key. Returns the
/// number of entries, or what is wrong (by sequence number).
pub fn verify_chain(store: &Store) -> Result<Result<usize, String>, AuditError> {
    let key = AuditKey::for_store(store, false)?;
    let all = list(store)?;
    let mut prev = GENESIS.to_string();
    let mut last_seq = 0;
    for s in &all {
        if s.seq != last_seq + 1 {
            return Ok(Err(format!(
                "entry {} is missing (the chain jumps from {} to {})",
                last_seq + 1,
                last_seq,
                s.seq
            )));
        }
        if s.prev_hash != prev {
            return Ok(Err(format!("entry {} does not link to the entry before it", s.seq)));
        }
        if key.chain_hash(&s.prev_hash, &s.entry_json) != s.hash {
            return Ok(Err(format!(
                "entry {} was changed or written without the audit key: its keyed hash does not match",
                s.seq
            )));
        }
        if Entry::parse(&s.entry_json).is_none() {
            return Ok(Err(format!("entry {} cannot be read", s.seq)));
        }
        prev = s.hash.clone();
        last_seq = s.seq;
    }
    let head: Option<(i64, String)> = store
        .conn()
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match head {
        None if all.is_empty() => {}
        None => return Ok(Err("the chain head is missing".into())),
        Some((seq, hash)) if seq == last_seq && hash == prev => {}
        Some((seq, _)) => {
            return Ok(Err(format!("the chain ends at entry {last_seq} but its head says {seq}: entries were deleted")))
        }
    }
    if key.path.is_some() {
        match key.read_checkpoint() {
            None if all.is_empty() => {}
            None => return Ok(Err("the checkpoint beside the audit key is missing".into())),
            Some(c) => {
                if let Err(why) = head_holds(&all, &c) {
                    return Ok(Err(format!("the checkpoint beside the audit key contradicts the store: {why}")));
                }
            }
        }
    }
    Ok(Ok(all.len()))
}

/// Whether the chain still holds a head taken earlier (a checkpoint or a manifest's).
fn head_holds(all: &[Stored], h: &AuditHead) -> Result<(), String> {
    if h.seq == 0 {
        return if h.hash == GENESIS { Ok(()) } else { Err("its head before the first entry is not the start".into()) };
    }
    match all.iter().find(|s| s.seq == h.seq) {
        None => Err(format!("entry {} is gone: entries were deleted", h.seq)),
        Some(s) if s.hash != h.hash => Err(format!("entry {} is not the one it was: the history was rewritten", h.seq)),
        Some(_) => Ok(()),
    }
}

/// Check a release's manifest against the trail: the release is recorded (same manifest and
/// bundle hash), and the chain still holds the head the manifest carries (what the trail was
/// when the bundle was released). Gives the problems found.
pub fn check_manifest(store: &Store, m: &Manifest) -> Result<Vec<String>, AuditError> {
    let all = list(store)?;
    let mut problems = Vec::new();
    let recs: Vec<(i64, AuditEntry)> = all
        .iter()
        .filter_map(|s| serde_json::from_str::<AuditEntry>(&s.entry_json).ok().map(|e| (s.seq, e)))
        .filter(|(_, e)| e.manifest_sha256 == m.core_sha256)
        .collect();
    let same: Vec<i64> = recs
        .iter()
        .filter(|(_, e)| e.bundle_sha256 == m.bundle_sha256 && e.signed == m.core.signed)
        .map(|(seq, _)| *seq)
        .collect();
    let head_seq = m.audit_head.as_ref().map(|h| h.seq).unwrap_or(0);
    if recs.is_empty() {
        problems.push("its release is not in the audit trail: entries were deleted or rewritten".to_string());
    } else if same.is_empty() {
        problems.push(format!("entry {} records another bundle, or a signed one as unsigned", recs[0].0));
    } else if !same.iter().any(|seq| *seq > head_seq) {
        problems.push(format!("its audit head (entry {head_seq}) is not older than its own entry"));
    }
    if let Some(h) = &m.audit_head {
        if let Err(why) = head_holds(&all, h) {
            problems.push(format!("the trail contradicts the head it carries: {why}"));
        }
    }
    Ok(problems)
}

/// The distinct runs of removed words (hash, number of words) of an export; the same words
/// removed in several places, or by several runs of the same export, count once.
pub fn removed_spans(store: &Store, manifest_sha256: &str) -> Result<Vec<(String, usize)>, AuditError> {
    let mut st = store
        .conn()
        .prepare("SELECT DISTINCT span_hash, words FROM removed_span WHERE run_hash = ?1 ORDER BY span_hash")?;
    let rows = st.query_map([manifest_sha256], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
