//! The review's tables in the case store: requests (with their due dates), reviewers (password
//! hashes only), decisions (append-only: the latest per mark or person counts), marks added by
//! reviewers, approvals, and the review page's sessions. Rows only: what they mean is
//! `crate::review`'s business. Every write that must be audited takes a closure that appends the
//! audit entry inside the same transaction, so a decision is never recorded unaudited, or
//! audited unrecorded.

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

/// What runs inside a write's transaction: the audit entry of that write.
pub type InTx<'a> = &'a mut dyn FnMut(&Transaction<'_>) -> Result<(), StoreError>;

/// A registered request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRow {
    pub id: String,
    pub export: String,
    pub subject: String,
    pub requester: String,
    pub policy: String,
    /// YYYY-MM-DD.
    pub received: String,
    pub due: String,
    pub extended_to: Option<String>,
    pub extension_reason: Option<String>,
    pub reference: Option<String>,
    pub override_reason: Option<String>,
    pub created_at: String,
    pub released_at: Option<String>,
}

/// One recorded decision.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRow {
    pub seq: i64,
    /// `mark` or `person`.
    pub target_kind: String,
    pub target: String,
    pub verdict: String,
    pub code: Option<String>,
    pub reviewer: String,
    pub why: Option<String>,
    pub at: String,
}

/// A mark a reviewer added: words in a record, or a region of an attachment page.
#[derive(Clone, Debug, PartialEq)]
pub struct AddedRow {
    pub id: String,
    /// A record id, or an attachment page's location key (`att-x/page/2`).
    pub place: String,
    pub words: Option<String>,
    /// `x1,y1,x2,y2` in the page's user space.
    pub rect: Option<String>,
    pub code: String,
    pub reviewer: String,
    pub why: String,
    pub at: String,
}

/// A sign-off, with the basis it was given on (a digest of the proposal and its decisions).
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalRow {
    pub seq: i64,
    pub reviewer: String,
    pub basis: String,
    pub at: String,
}

/// A signed-in reviewer's session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    pub reviewer: String,
    pub csrf: String,
    pub expires_at: i64,
}

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        export: r.get(1)?,
        subject: r.get(2)?,
        requester: r.get(3)?,
        policy: r.get(4)?,
        received: r.get(5)?,
        due: r.get(6)?,
        extended_to: r.get(7)?,
        extension_reason: r.get(8)?,
        reference: r.get(9)?,
        override_reason: r.get(10)?,
        created_at: r.get(11)?,
        released_at: r.get(12)?,
    })
}

const REQUEST_COLS: &str = "id, export_id, subject, requester, policy, received, due, extended_to, extension_reason, reference, override_reason, created_at, released_at";

impl Store {
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Register a request; its id (`req-0001`, ...) is the next free one.
    pub fn insert_request(&mut self, r: &RequestRow, audit: InTx<'_>) -> Result<String, StoreError> {
        self.write(|tx| {
            let seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM request", [], |r| r.get(0))?;
            let id = format!("req-{seq:04}");
            tx.execute(
                &format!("INSERT INTO request ({REQUEST_COLS}, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    id,
                    r.export,
                    r.subject,
                    r.requester,
                    r.policy,
                    r.received,
                    r.due,
                    r.extended_to,
                    r.extension_reason,
                    r.reference,
                    r.override_reason,
                    r.created_at,
                    r.released_at,
                    seq
                ],
            )?;
            audit(tx)?;
            Ok(id)
        })
    }

    /// One request.
    pub fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {REQUEST_COLS} FROM request WHERE id = ?1"), [id], request_row)
            .optional()?)
    }

    /// Every request, oldest first.
    pub fn requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        let mut st = self.conn.prepare(&format!("SELECT {REQUEST_COLS} FROM request ORDER BY seq"))?;
        let rows = st.query_map([], request_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Extend a request's due date, with the reason.
    pub fn extend_request(&mut self, id: &str, to: &str, reason: &str, audit: InTx<'_>) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE request SET extended_to = ?2, extension_reason = ?3 WHERE id = ?1",
                params![id, to, reason],
            )?;
            audit(tx)
        })
    }

    /// Mark a request released (its final bundle was put in place).
    pub fn set_released(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE request SET released_at = ?2 WHERE id = ?1", params![id, at])?;
            Ok(())
        })
    }

    /// Register a reviewer. Refused when the name is taken.
    pub fn add_reviewer(&mut self, name: &str, hash: &str, at: &str, audit: InTx<'_>) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO reviewer (name, password_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO NOTHING",
                params![name, hash, at],
            )?;
            if n == 1 {
                audit(tx)?;
            }
            Ok(n == 1)
        })
    }

    /// A reviewer's password hash, when the name is registered.
    pub fn reviewer_hash(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT password_hash FROM reviewer WHERE name = ?1", [name], |r| r.get(0))
            .optional()?)
    }

    /// Record a decision; any approval of the request is withdrawn (it was given on other decisions).
    pub fn add_decision(&mut self, request: &str, d: &DecisionRow, audit: InTx<'_>) -> Result<i64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO decision (request_id, target_kind, target, verdict, code, reviewer, why, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![request, d.target_kind, d.target, d.verdict, d.code, d.reviewer, d.why, d.at],
            )?;
            let seq = tx.last_insert_rowid();
            tx.execute(
                "UPDATE approval SET withdrawn_at = ?2 WHERE request_id = ?1 AND withdrawn_at IS NULL",
                params![request, d.at],
            )?;
            audit(tx)?;
            Ok(seq)
        })
    }

    /// A request's decisions, in the order they were made.
    pub fn decisions(&self, request: &str) -> Result<Vec<DecisionRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT seq, target_kind, target, verdict, code, reviewer, why, at FROM decision WHERE request_id = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([request], |r| {
            Ok(DecisionRow {
                seq: r.get(0)?,
                target_kind: r.get(1)?,
                target: r.get(2)?,
                verdict: r.get(3)?,
                code: r.get(4)?,
                reviewer: r.get(5)?,
                why: r.get(6)?,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record a mark a reviewer added; approvals of the request are withdrawn.
    pub fn add_mark(&mut self, request: &str, a: &AddedRow, audit: InTx<'_>) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO added_mark (id, request_id, place, words, rect, code, reviewer, why, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![a.id, request, a.place, a.words, a.rect, a.code, a.reviewer, a.why, a.at],
            )?;
            tx.execute(
                "UPDATE approval SET withdrawn_at = ?2 WHERE request_id = ?1 AND withdrawn_at IS NULL",
                params![request, a.at],
            )?;
            audit(tx)
        })
    }

    /// The marks reviewers added to a request (not withdrawn), oldest first.
    pub fn added_marks(&self, request: &str) -> Result<Vec<AddedRow>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, place, words, rect, code, reviewer, why, at FROM added_mark WHERE request_id = ?1 AND withdrawn_at IS NULL ORDER BY rowid",
        )?;
        let rows = st.query_map([request], |r| {
            Ok(AddedRow {
                id: r.get(0)?,
                place: r.get(1)?,
                words: r.get(2)?,
                rect: r.get(3)?,
                code: r.get(4)?,
                reviewer: r.get(5)?,
                why: r.get(6)?,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record a sign-off.
    pub fn approve(
        &mut self,
        request: &str,
        reviewer: &str,
        basis: &str,
        at: &str,
        audit: InTx<'_>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE approval SET withdrawn_at = ?2 WHERE request_id = ?1 AND withdrawn_at IS NULL",
                params![request, at],
            )?;
            tx.execute(
                "INSERT INTO approval (request_id, reviewer, basis, at) VALUES (?1, ?2, ?3, ?4)",
                params![request, reviewer, basis, at],
            )?;
            audit(tx)
        })
    }

    /// The request's standing approval, if any.
    pub fn approval(&self, request: &str) -> Result<Option<ApprovalRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, reviewer, basis, at FROM approval WHERE request_id = ?1 AND withdrawn_at IS NULL ORDER BY seq DESC LIMIT 1",
                [request],
                |r| Ok(ApprovalRow { seq: r.get(0)?, reviewer: r.get(1)?, basis: r.get(2)?, at: r.get(3)? }),
            )
            .optional()?)
    }

    /// Start a session (the token is kept as its hash only).
    pub fn add_session(&mut self, token_sha256: &str, s: &SessionRow, now: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM session WHERE expires_at < ?1", params![now_secs()])?;
            tx.execute(
                "INSERT INTO session (token_sha256, reviewer, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_sha256, s.reviewer, s.csrf, now, s.expires_at],
            )?;
            Ok(())
        })
    }

    /// A live session by its token's hash.
    pub fn session(&self, token_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT reviewer, csrf, expires_at FROM session WHERE token_sha256 = ?1 AND expires_at >= ?2",
                params![token_sha256, now_secs()],
                |r| Ok(SessionRow { reviewer: r.get(0)?, csrf: r.get(1)?, expires_at: r.get(2)? }),
            )
            .optional()?)
    }

    /// End a session.
    pub fn end_session(&mut self, token_sha256: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM session WHERE token_sha256 = ?1", [token_sha256])?;
            Ok(())
        })
    }

    /// Note a failed sign-in (by name; the name need not exist) and give how many there were in
    /// the last `window` seconds.
    pub fn login_failed(&mut self, name: &str, window: i64) -> Result<i64, StoreError> {
        let now = now_secs();
        self.write(|tx| {
            tx.execute("DELETE FROM login_failure WHERE at < ?1", params![now - 86_400])?;
            tx.execute("INSERT INTO login_failure (name, at) VALUES (?1, ?2)", params![name, now])?;
            Ok(tx.query_row(
                "SELECT COUNT(*) FROM login_failure WHERE name = ?1 AND at >= ?2",
                params![name, now - window],
                |r| r.get(0),
            )?)
        })
    }

    /// Recent failed sign-ins for a name.
    pub fn login_failures(&self, name: &str, window: i64) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM login_failure WHERE name = ?1 AND at >= ?2",
            params![name, now_secs() - window],
            |r| r.get(0),
        )?)
    }

    /// Run `f` with the audit appended in the same transaction (for audit entries alone: a view).
    pub fn audited(&mut self, audit: InTx<'_>) -> Result<(), StoreError> {
        self.write(|tx| audit(tx))
    }
}

/// Seconds since the epoch (session expiry is real time).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
