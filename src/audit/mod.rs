//! The audit trail: every export is recorded in the case store (who released what, to whom,
//! under which policy, with which inputs and outputs), each entry carrying the hash of the one
//! before, so that an edit or a deletion is detectable. Also keeps, per run, hashes of the text
//! removed, so `disclose verify --db` can look for it again without plain text on disk.

use crate::seal::manifest::sha256_hex;
use crate::store::{Store, StoreError};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
}

/// A stored entry with its chain hashes.
#[derive(Clone, Debug)]
pub struct Stored {
    pub seq: i64,
    pub entry_json: String,
    pub prev_hash: String,
    pub hash: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn chain_hash(prev: &str, entry_json: &str) -> String {
    sha256_hex(format!("{prev}\n{entry_json}").as_bytes())
}

/// Errors of the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Append an entry, with the removed spans' hashes of its run, in one transaction.
pub fn record(store: &mut Store, e: &AuditEntry, removed: &[(String, String, usize)]) -> Result<i64, AuditError> {
    let json = serde_json::to_string(e).expect("audit entry serialises");
    store.with_transaction(|tx| -> Result<i64, AuditError> {
        let prev: String = tx
            .query_row("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .optional()?
            .unwrap_or_else(|| GENESIS.to_string());
        let hash = chain_hash(&prev, &json);
        tx.execute("INSERT INTO audit (entry_json, prev_hash, hash) VALUES (?1, ?2, ?3)", params![json, prev, hash])?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2",
            params![seq, hash],
        )?;
        let mut st = tx.prepare_cached("INSERT INTO removed_span (run_hash, location, span_hash, words) VALUES (?1, ?2, ?3, ?4)")?;
        for (loc, h, w) in removed {
            st.execute(params![e.manifest_sha256, loc, h, *w as i64])?;
        }
        Ok(seq)
    })
}

/// Every entry, oldest first.
pub fn list(store: &Store) -> Result<Vec<Stored>, AuditError> {
    let mut st = store.conn().prepare("SELECT seq, entry_json, prev_hash, hash FROM audit ORDER BY seq")?;
    let rows = st.query_map([], |r| {
        Ok(Stored { seq: r.get(0)?, entry_json: r.get(1)?, prev_hash: r.get(2)?, hash: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Check the chain: each entry's hash, each link to the one before, no gap, and the head.
/// Returns the number of entries, or what is wrong (by sequence number).
pub fn verify_chain(store: &Store) -> Result<Result<usize, String>, AuditError> {
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
        if chain_hash(&s.prev_hash, &s.entry_json) != s.hash {
            return Ok(Err(format!("entry {} was changed: its hash does not match its content", s.seq)));
        }
        if serde_json::from_str::<AuditEntry>(&s.entry_json).is_err() {
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
        None if all.is_empty() => Ok(Ok(0)),
        None => Ok(Err("the chain head is missing".into())),
        Some((seq, hash)) if seq == last_seq && hash == prev => Ok(Ok(all.len())),
        Some((seq, _)) => {
            Ok(Err(format!("the chain ends at entry {last_seq} but its head says {seq}: entries were deleted")))
        }
    }
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
