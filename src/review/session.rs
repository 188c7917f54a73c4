//! Signing in to the review page: sessions kept in the case store (the token as its SHA-256
//! only, with a CSRF token tied to it and an expiry), failed sign-ins slowed down per name, and
//! the audit entries of a sign-in and of every view of a record or page. The review server calls
//! these; it holds no rule of its own about who may do what.

use super::workflow::check_password;
use crate::audit::{Event, EventWriter};
use crate::model::time;
use crate::store::review::{now_secs, SessionRow};
use crate::store::Store;
use anyhow::Result;
use sha2::{Digest, Sha256};

/// How long a session lasts from sign-in (seconds): a working day.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// Failed sign-ins older than this (seconds) no longer slow a name down.
pub const FAILURE_WINDOW: i64 = 15 * 60;

/// A signed-in reviewer's session as the browser holds it.
#[derive(Clone, Debug)]
pub struct Session {
    pub reviewer: String,
    /// The cookie's value (random, 32 bytes in hex); the store keeps only its hash.
    pub token: String,
    /// The token every change must carry (random, 32 bytes in hex).
    pub csrf: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

/// What a sign-in attempt gave.
#[derive(Clone, Debug)]
pub enum SignIn {
    Ok(Session),
    /// Wrong name or password. `wait` seconds must pass before the next attempt for that name.
    Refused {
        failures: i64,
        wait: i64,
    },
    /// Too soon after failed attempts for that name: not checked at all.
    Wait {
        seconds: i64,
    },
}

/// The delay a name must wait after `failures` recent failed sign-ins: none for the first two
/// (a typo), then doubling from 2 seconds, at most 5 minutes.
pub fn delay_after(failures: i64) -> i64 {
    if failures < 3 {
        0
    } else {
        (1i64 << (failures - 2).min(20)).min(300)
    }
}

/// Random bytes as hex (the OS's generator).
fn random_hex() -> String {
    use rand_core::RngCore;
    let mut b = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut b);
    crate::import::hex(&b)
}

/// The form in which a token is stored.
pub fn token_hash(token: &str) -> String {
    crate::import::hex(&Sha256::digest(token.as_bytes()))
}

/// Sign in: refused without checking while the name is slowed down; a failure is recorded (by
/// name) and lengthens the wait; a success starts a session and is audited.
pub fn sign_in(store: &mut Store, name: &str, password: &str) -> Result<SignIn> {
    let (failures, last) = store.login_failure_state(name, FAILURE_WINDOW)?;
    if let Some(last) = last {
        let until = last + delay_after(failures);
        let now = now_secs();
        if now < until {
            return Ok(SignIn::Wait { seconds: until - now });
        }
    }
    if !check_password(store, name, password)? {
        let failures = store.login_failed(name, FAILURE_WINDOW)?;
        return Ok(SignIn::Refused { failures, wait: delay_after(failures) });
    }
    store.clear_login_failures(name)?;
    let s = Session {
        reviewer: name.to_string(),
        token: random_hex(),
        csrf: random_hex(),
        expires_at: now_secs() + SESSION_SECONDS,
    };
    let row = SessionRow { reviewer: s.reviewer.clone(), csrf: s.csrf.clone(), expires_at: s.expires_at };
    let w = EventWriter::for_store(store)?;
    let ev = Event::new("login", name);
    store.add_session_audited(&token_hash(&s.token), &row, &time::now_utc(), &mut |tx| w.append(tx, &ev))?;
    w.finish();
    Ok(SignIn::Ok(s))
}

/// The live session of a cookie's token, if any (an expired one is none).
pub fn session(store: &Store, token: &str) -> Result<Option<Session>> {
    Ok(store.session(&token_hash(token))?.map(|r| Session {
        reviewer: r.reviewer,
        token: token.to_string(),
        csrf: r.csrf,
        expires_at: r.expires_at,
    }))
}

/// End a session.
pub fn sign_out(store: &mut Store, token: &str) -> Result<()> {
    store.end_session(&token_hash(token))?;
    Ok(())
}

/// Whether a submitted CSRF token is the session's (compared in constant time).
pub fn csrf_ok(s: &Session, given: &str) -> bool {
    let (a, b) = (s.csrf.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Record that `reviewer` viewed `what` (record ids, page location keys) of a request: one
/// audit entry, ids only.
pub fn record_view(store: &mut Store, reviewer: &str, request: &str, target: &str, what: &[String]) -> Result<()> {
    let mut ev = Event::new("view", reviewer).request(request).target(target);
    if !what.is_empty() {
        ev = ev.with("shown", what.join(" "));
    }
    crate::audit::record_event(store, &ev)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_with_failures_and_is_capped() {
        assert_eq!([0, 1, 2].map(delay_after), [0, 0, 0]);
        assert_eq!([3, 4, 5, 6].map(delay_after), [2, 4, 8, 16]);
        assert_eq!(delay_after(40), 300);
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        let s = Session { reviewer: "a".into(), token: "t".into(), csrf: "abc".into(), expires_at: 0 };
        assert!(csrf_ok(&s, "abc"));
        assert!(!csrf_ok(&s, "abd") && !csrf_ok(&s, "ab") && !csrf_ok(&s, ""));
    }
}
