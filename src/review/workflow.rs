//! The review workflow over the case store: registering requests (with their due dates under
//! UK GDPR Art. 12(3)), reviewers (argon2id password hashes), decisions, marks added by hand,
//! and the sign-off. Every write goes into the audit trail in the same transaction. The command
//! line and the review page both call these functions; neither holds a rule of its own.

use super::{Added, AddedSpan, Decision, Decisions, Status, Verdict};
use crate::audit::{Event, EventWriter};
use crate::detect::norm::{self, Normalized};
use crate::detect::Span;
use crate::export::{self, Proposed};
use crate::file::{Location, Part};
use crate::model::*;
use crate::policy::{self, Action, Mark, MarkId, Proposal, Reason};
use crate::store::review::{AddedRow, DecisionRow, RequestRow};
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashMap};

/// A request's place in the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Registered; nobody has decided anything yet.
    Proposed,
    /// Some decisions are recorded; not signed off.
    InReview,
    Approved,
    /// Its final bundle was put in place.
    Released,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Proposed => "proposed",
            Stage::InReview => "in review",
            Stage::Approved => "approved",
            Stage::Released => "released",
        }
    }
}

/// One calendar month after `d` (or `months` of them): the same day of the month, or the last day
/// of the month where it has no such day (ICO: a request received on 31 March is due 30 April).
pub fn add_months(d: Date, months: u32) -> Date {
    let total = d.year * 12 + (d.month as i32 - 1) + months as i32;
    let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let last = days_in_month(year, month);
    Date { year, month, day: d.day.min(last) }
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The reviewer must be registered (`disclose reviewer add`).
pub fn require_reviewer(store: &Store, name: &str) -> Result<()> {
    if store.reviewer_hash(name)?.is_none() {
        bail!("reviewer {name:?} is not registered in this case store; add them with `disclose reviewer add --db DB --name NAME`");
    }
    Ok(())
}

/// Register a reviewer with a password, kept as an argon2id hash only.
pub fn add_reviewer(store: &mut Store, name: &str, password: &str, by: &str) -> Result<()> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if name.trim().is_empty() || name.len() > 80 || name.chars().any(|c| c.is_control()) {
        bail!("a reviewer's name is 1 to 80 printable characters");
    }
    if password.chars().count() < 10 {
        bail!("the password is too short: use at least 10 characters");
    }
    let salt = SaltString::generate(&mut rand_core::OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string();
    let w = EventWriter::for_store(store)?;
    let ev = Event::new("reviewer", by).target(name);
    let added = store.add_reviewer(name, &hash, &time::now_utc(), &mut |tx| w.append(tx, &ev))?;
    if !added {
        bail!("reviewer {name:?} is already registered");
    }
    w.finish();
    Ok(())
}

/// Whether `password` is the reviewer's (argon2id, constant time in the hash comparison).
pub fn check_password(store: &Store, name: &str, password: &str) -> Result<bool> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let Some(h) = store.reviewer_hash(name)? else {
        // Spend the same work for an unknown name, so timing does not tell names apart.
        let _ = argon2::Argon2::default().verify_password(password.as_bytes(), &dummy_hash());
        return Ok(false);
    };
    let parsed =
        PasswordHash::new(&h).map_err(|_| anyhow::anyhow!("the stored password hash of {name:?} is damaged"))?;
    Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn dummy_hash() -> argon2::password_hash::PasswordHash<'static> {
    use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let s = H.get_or_init(|| {
        let salt = SaltString::encode_b64(b"disclose-dummy-salt").expect("salt");
        argon2::Argon2::default().hash_password(b"not a password", &salt).expect("hash").to_string()
    });
    PasswordHash::new(s).expect("dummy hash parses")
}

/// What a new request says.
pub struct NewRequest {
    pub subject: String,
    pub requester: String,
    pub policy: String,
    /// YYYY-MM-DD.
    pub received: String,
    pub reference: Option<String>,
    pub export: Option<String>,
    pub override_reason: Option<String>,
    pub officer: String,
}

/// Register a request. It must fit its policy (as an export would); the due date is one
/// calendar month from receipt.
pub fn new_request(store: &mut Store, n: &NewRequest) -> Result<String> {
    let received = Date::parse(&n.received).context("--received must be YYYY-MM-DD")?;
    let probe = export::ExportRequest {
        subject: PersonId(n.subject.clone()),
        requester: Some(n.requester.clone()),
        policy: n.policy.clone(),
        out: std::path::PathBuf::new(),
        export: n.export.clone().map(ExportId),
        date: Some(received.iso()),
        officer: None,
        sign: None,
        override_reason: n.override_reason.clone(),
        request: None,
        release_unreviewed: None,
        reference: n.reference.clone(),
        response_date: None,
        council: None,
    };
    let r = export::resolve(store, &probe)?;
    let row = RequestRow {
        id: String::new(),
        export: r.export.to_string(),
        subject: n.subject.clone(),
        requester: n.requester.clone(),
        policy: n.policy.clone(),
        received: received.iso(),
        due: add_months(received, 1).iso(),
        extended_to: None,
        extension_reason: None,
        reference: n.reference.clone(),
        override_reason: n.override_reason.clone(),
        created_at: time::now_utc(),
        released_at: None,
    };
    let w = EventWriter::for_store(store)?;
    let mut ev = Event::new("request", &n.officer)
        .target(&n.subject)
        .with("requester", n.requester.clone())
        .with("policy", r.policy.name.clone())
        .with("received", row.received.clone())
        .with("due", row.due.clone());
    if let Some(o) = &n.override_reason {
        ev = ev.with("override_reason", o.clone());
    }
    let id = store.insert_request(&row, &mut |tx| {
        // The id is the next free one; the event names it once known.
        let seq: i64 = tx.query_row("SELECT MAX(seq) FROM request", [], |r| r.get(0))?;
        let e = ev.clone().request(&format!("req-{seq:04}"));
        w.append(tx, &e)
    })?;
    w.finish();
    Ok(id)
}

/// Extend a request's due date by two further months (UK GDPR Art. 12(3)), with the reason.
pub fn extend(store: &mut Store, id: &str, reason: &str, by: &str) -> Result<String> {
    let row = request(store, id)?;
    if row.extended_to.is_some() {
        bail!("request {id} is already extended (to {}); it can be extended once", row.extended_to.unwrap_or_default());
    }
    if reason.trim().is_empty() {
        bail!("--reason must say why the request needs longer (complexity or the number of requests)");
    }
    let received = Date::parse(&row.received).context("the request's received date")?;
    let to = add_months(received, 3).iso();
    let w = EventWriter::for_store(store)?;
    let ev = Event::new("extend", by).request(id).with("to", to.clone()).with("why", reason.to_string());
    store.extend_request(id, &to, reason, &mut |tx| w.append(tx, &ev))?;
    w.finish();
    Ok(to)
}

/// A request from the store, or an error saying how to find one.
pub fn request(store: &Store, id: &str) -> Result<RequestRow> {
    store
        .request(id)?
        .with_context(|| format!("request {id} is not in the case store; `disclose request list` lists them"))
}

/// A request with its stage and days left.
pub struct Summary {
    pub row: RequestRow,
    pub stage: Stage,
    /// Days from `today` to the due date (negative when overdue).
    pub days_left: i64,
}

impl Summary {
    /// The due date in force (extended or not).
    pub fn due(&self) -> &str {
        self.row.extended_to.as_deref().unwrap_or(&self.row.due)
    }
}

/// Every request with its stage, oldest first.
pub fn list(store: &Store, today: Date) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for row in store.requests()? {
        let stage = if row.released_at.is_some() {
            Stage::Released
        } else if store.approval(&row.id)?.is_some() {
            Stage::Approved
        } else if !store.decisions(&row.id)?.is_empty() || !store.added_marks(&row.id)?.is_empty() {
            Stage::InReview
        } else {
            Stage::Proposed
        };
        let due = row.extended_to.as_deref().unwrap_or(&row.due);
        let days_left = Date::parse(due).map(|d| d.days() - today.days()).unwrap_or(0);
        out.push(Summary { row, stage, days_left });
    }
    Ok(out)
}

/// The export request of a registered request (its decisions apply).
pub fn export_request(row: &RequestRow) -> export::ExportRequest {
    export::ExportRequest::of_request(row, std::path::PathBuf::new())
}

/// Propose a registered request: what its reviewers decide on.
pub fn propose(store: &Store, row: &RequestRow) -> Result<Proposed> {
    let req = export_request(row);
    export::propose(store, export::resolve(store, &req)?)
}

fn verdict_of(d: &DecisionRow) -> Option<Verdict> {
    Some(match d.verdict.as_str() {
        "accept" => Verdict::Accept,
        "reject" => Verdict::Reject,
        "release" => Verdict::Release,
        "withhold" => Verdict::Withhold { code: Reason::parse(d.code.as_deref()?)? },
        _ => return None,
    })
}

/// The decisions of a request, with its added marks resolved against the file as it is now
/// (every occurrence of the words in the record).
pub fn decisions(store: &Store, row: &RequestRow, p: &Proposed) -> Result<Decisions> {
    let mut d = Decisions::default();
    for r in store.decisions(&row.id)? {
        let Some(verdict) = verdict_of(&r) else { continue };
        let dec = Decision { verdict, reviewer: r.reviewer.clone(), why: r.why.clone(), at: r.at.clone() };
        match r.target_kind.as_str() {
            "mark" => {
                d.marks.insert(MarkId(r.target.clone()), dec);
            }
            _ => {
                d.persons.insert(PersonId(r.target.clone()), dec);
            }
        }
    }
    let file = p.file()?;
    for a in store.added_marks(&row.id)? {
        let code = Reason::parse(&a.code).unwrap_or(Reason::TP);
        let at = resolve_added(&file, &p.inputs, &a);
        d.added.push(Added { id: a.id.clone(), code, reviewer: a.reviewer.clone(), why: a.why.clone(), at });
    }
    Ok(d)
}

/// Where an added mark applies now: every occurrence of its words in its record's texts (or of
/// its document's), or its page region.
fn resolve_added(
    file: &crate::file::CaseFile<'_>,
    inputs: &crate::file::AttachmentInputs,
    a: &AddedRow,
) -> Vec<(Location, AddedSpan)> {
    if let (Some(loc), Some(rect)) = (Location::parse_key(&a.place), &a.rect) {
        let v: Vec<f64> = rect.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        if let [x1, y1, x2, y2] = v[..] {
            return vec![(loc, AddedSpan::Region { rect: [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)] })];
        }
        return Vec::new();
    }
    let Some(words) = &a.words else { return Vec::new() };
    let want = norm::pattern(words);
    if want.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for u in file.units(inputs) {
        let here = u.loc.record_id().is_some_and(|r| r.as_str() == a.place)
            || u.loc.attachment_id().is_some_and(|x| {
                x.as_str() == a.place
                    || file
                        .family
                        .attachment(x)
                        .and_then(|att| att.record.as_ref())
                        .is_some_and(|r| r.as_str() == a.place)
            });
        if !here {
            continue;
        }
        for s in occurrences(&u.text, &want) {
            out.push((u.loc.clone(), AddedSpan::Text { span: s }));
        }
    }
    out
}

/// Every whole-word occurrence of a normalised phrase in a text, as original byte spans.
pub fn occurrences(text: &str, want: &str) -> Vec<Span> {
    let n = Normalized::new(text);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = n.text[from..].find(want) {
        let s = from + i;
        let e = s + want.len();
        let before = n.text[..s].chars().next_back();
        let after = n.text[e..].chars().next();
        if !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric()) {
            let (os, oe) = n.original(s, e, text);
            out.push(Span::new(os, oe));
        }
        from = s + want.len().max(1);
        while !n.text.is_char_boundary(from) {
            from += 1;
        }
    }
    out
}

/// What a sign-off is given on: the proposal's marks and every decision and added mark. If any
/// of them changes (a re-import, a later decision), the approval no longer holds.
pub fn basis(p: &Proposal, d: &Decisions) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for m in &p.marks {
        h.update(m.id.as_str());
        h.update([m.action as u8, 0]);
    }
    for (k, v) in &d.marks {
        h.update(format!("mark {k} {:?} {}\n", v.verdict, v.reviewer));
    }
    for (k, v) in &d.persons {
        h.update(format!("person {k} {:?} {}\n", v.verdict, v.reviewer));
    }
    for a in &d.added {
        h.update(format!("added {} {} {}\n", a.id, a.code, a.at.len()));
    }
    crate::import::hex(&h.finalize())
}

/// The request's status: approved when its standing approval was given on these very marks and
/// decisions, else a draft.
pub fn status(store: &Store, row: &RequestRow, p: &Proposed, d: &Decisions) -> Result<Status> {
    Ok(match store.approval(&row.id)? {
        Some(a) if a.basis == basis(&p.proposal, d) => Status::Approved { by: a.reviewer, at: a.at },
        _ => Status::Draft,
    })
}

/// What a decision is about.
pub enum Target {
    Mark(MarkId),
    Person(PersonId),
}

/// Record one decision. The mark must be in the current proposal (or the person have marks in
/// it); `release` is for held or withheld items, `reject` for marks that remove words.
pub fn decide(
    store: &mut Store,
    row: &RequestRow,
    p: &Proposed,
    target: Target,
    verdict: Verdict,
    reviewer: &str,
    why: Option<&str>,
) -> Result<()> {
    require_reviewer(store, reviewer)?;
    if row.released_at.is_some() {
        bail!("request {} is released; its decisions are final", row.id);
    }
    let needs_why = !matches!(verdict, Verdict::Accept);
    let why = why.map(str::trim).filter(|w| !w.is_empty());
    if needs_why && why.is_none() {
        bail!("--why must say why (it goes on the record with the decision)");
    }
    let (kind, id) = match &target {
        Target::Mark(m) => {
            let Some(mark) = p.proposal.mark(m) else {
                bail!("mark {m} is not in the proposal of request {}; `disclose review list --request {}` lists the marks", row.id, row.id);
            };
            match (&verdict, mark.action) {
                (Verdict::Release, a) if !matches!(a, Action::Review | Action::Withhold) => {
                    bail!("mark {m} is not a held or withheld item: reject it to keep its words")
                }
                (Verdict::Reject, Action::Review) => bail!("mark {m} is held for review: release or withhold it"),
                _ => {}
            }
            ("mark", m.to_string())
        }
        Target::Person(person) => {
            if !p.proposal.marks.iter().any(|m| m.person.as_ref() == Some(person)) {
                bail!("person {person} has no marks in the proposal of request {}", row.id);
            }
            if matches!(verdict, Verdict::Release) {
                bail!("a decision by person keeps (reject) or accepts that person's marks; held items are decided one by one");
            }
            ("person", person.to_string())
        }
    };
    let code = match &verdict {
        Verdict::Withhold { code } => Some(code.to_string()),
        _ => None,
    };
    let at = time::now_utc();
    let d = DecisionRow {
        seq: 0,
        target_kind: kind.into(),
        target: id.clone(),
        verdict: verdict.as_str().into(),
        code: code.clone(),
        reviewer: reviewer.into(),
        why: why.map(str::to_string),
        at: at.clone(),
    };
    let w = EventWriter::for_store(store)?;
    let mut ev = Event::new("decision", reviewer).request(&row.id).target(&id).with("verdict", verdict.as_str());
    if let Some(c) = &code {
        ev = ev.with("code", c.clone());
    }
    if let Some(w) = why {
        ev = ev.with("why", w.to_string());
    }
    ev.at = at;
    store.add_decision(&row.id, &d, &mut |tx| w.append(tx, &ev))?;
    w.finish();
    Ok(())
}

/// Where a reviewer adds a mark.
pub enum AddAt {
    /// These words, on every occurrence in the record (its texts and its documents' pages).
    Words { record: RecordId, words: String },
    /// A rectangle of an attachment page, in its user space.
    Region { attachment: AttachmentId, page: usize, rect: [f64; 4] },
}

/// Add a mark the engine missed. Words must occur in the record; a page must exist.
pub fn add(
    store: &mut Store,
    row: &RequestRow,
    p: &Proposed,
    at: AddAt,
    code: Reason,
    reviewer: &str,
    why: &str,
) -> Result<(String, usize)> {
    require_reviewer(store, reviewer)?;
    if why.trim().is_empty() {
        bail!("--why must say why the words are taken out");
    }
    let now = time::now_utc();
    let (place, words, rect) = match &at {
        AddAt::Words { record, words } => (record.to_string(), Some(words.clone()), None),
        AddAt::Region { attachment, page, rect } => {
            let loc = Location::attachment(attachment, Part::AttachmentPage { page: *page });
            (loc.key(), None, Some(rect.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(",")))
        }
    };
    let id = {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!(
            "{}\0{place}\0{}\0{}\0{now}",
            row.id,
            words.as_deref().unwrap_or(""),
            rect.as_deref().unwrap_or("")
        ));
        format!("a-{}", crate::import::hex(&d[..6]))
    };
    let added = AddedRow {
        id: id.clone(),
        place: place.clone(),
        words,
        rect,
        code: code.to_string(),
        reviewer: reviewer.into(),
        why: why.into(),
        at: now,
    };
    let file = p.file()?;
    let n = match &at {
        AddAt::Words { record, .. } => {
            if file.family.record(record).is_none() || !file.records().any(|r| &r.id == record) {
                bail!("record {record} is not on the file of request {}", row.id);
            }
            let n = resolve_added(&file, &p.inputs, &added).len();
            if n == 0 {
                bail!("those words do not occur in record {record}; give them exactly as the record has them");
            }
            n
        }
        AddAt::Region { attachment, page, .. } => {
            let pages = match p.inputs.get(attachment) {
                Some(crate::file::AttachmentInput::Pages(v)) => v.len(),
                _ => 0,
            };
            if !file.attachments().contains(&attachment) || *page >= pages {
                bail!("attachment {attachment} has no page {} on this file", page + 1);
            }
            1
        }
    };
    let w = EventWriter::for_store(store)?;
    let ev = Event::new("added_mark", reviewer)
        .request(&row.id)
        .target(&place)
        .with("id", id.clone())
        .with("code", code.to_string())
        .with("occurrences", n.to_string())
        .with("why", why.to_string());
    store.add_mark(&row.id, &added, &mut |tx| w.append(tx, &ev))?;
    w.finish();
    Ok((id, n))
}

/// Sign off a request. Refused while a held item is undecided, a decision names a mark that no
/// longer exists (or an added mark's words no longer occur), or, when the policy asks for a
/// second reviewer, by anyone who decided a mark.
pub fn approve(store: &mut Store, row: &RequestRow, p: &Proposed, reviewer: &str) -> Result<()> {
    require_reviewer(store, reviewer)?;
    if row.released_at.is_some() {
        bail!("request {} is already released", row.id);
    }
    let d = decisions(store, row, p)?;
    let orphans = d.orphans(&p.proposal);
    if !orphans.is_empty() {
        bail!(
            "approval refused: {} decision(s) name marks that are no longer in the proposal (the export was re-imported and changed): {}; decide those items again",
            orphans.len(),
            orphans.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let lost: Vec<&str> = d.added.iter().filter(|a| a.at.is_empty()).map(|a| a.id.as_str()).collect();
    if !lost.is_empty() {
        bail!(
            "approval refused: added mark(s) {} no longer match any words in their record; add them again",
            lost.join(", ")
        );
    }
    let undecided: Vec<&Mark> = p.proposal.held().filter(|m| !d.marks.contains_key(&m.id)).collect();
    if !undecided.is_empty() {
        bail!(
            "approval refused: {} held item(s) are undecided: {}; release or withhold each (disclose review decide)",
            undecided.len(),
            undecided.iter().map(|m| m.id.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let policy = &p.resolved.policy;
    if policy.review.second_reviewer {
        let deciders = d.deciders();
        if deciders.iter().any(|x| x == reviewer) {
            bail!("approval refused: policy {} asks for a second reviewer (review.second_reviewer = true), and {reviewer:?} decided marks of this request; another registered reviewer signs off", policy.name);
        }
    }
    let basis = basis(&p.proposal, &d);
    let at = time::now_utc();
    let w = EventWriter::for_store(store)?;
    let mut ev = Event::new("approval", reviewer).request(&row.id).with("basis", basis.clone());
    ev.at = at.clone();
    store.approve(&row.id, reviewer, &basis, &at, &mut |tx| w.append(tx, &ev))?;
    w.finish();
    Ok(())
}

/// One line of the review list: a proposed mark (`mark`) or an item held for review (`held`).
#[derive(Clone, Debug)]
pub struct Item {
    pub mark: MarkId,
    pub kind: &'static str,
    pub action: Action,
    pub code: String,
    pub rule: String,
    pub person: String,
    pub record: String,
    pub location: Location,
    /// The words around the mark, the marked words in [brackets] (for the officer only).
    pub context: String,
    pub decision: String,
    pub reviewer: String,
    pub attention: String,
}

/// The marks and held items of a proposal, with the decisions taken so far.
pub fn items(p: &Proposed, d: &Decisions) -> Result<Vec<Item>> {
    let file = p.file()?;
    let mut texts: HashMap<Location, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for m in p.proposal.marks.iter().filter(|m| m.action.removes()) {
        let text = texts.entry(m.location.clone()).or_insert_with(|| file.text_at(&p.inputs, &m.location));
        let context = match (m.span, text.as_deref()) {
            (Some(s), Some(t)) => context_of(t, s),
            _ => m.location.describe(),
        };
        let dec = d.marks.get(&m.id).or_else(|| m.person.as_ref().and_then(|x| d.persons.get(x)));
        let record = m
            .location
            .record_id()
            .cloned()
            .or_else(|| {
                m.location.attachment_id().and_then(|a| file.family.attachment(a)).and_then(|a| a.record.clone())
            })
            .map(|r| r.to_string())
            .unwrap_or_default();
        out.push(Item {
            mark: m.id.clone(),
            kind: if m.action == Action::Review { "held" } else { "mark" },
            action: m.action,
            code: m.reason.map(|r| r.to_string()).unwrap_or_default(),
            rule: m.rule.to_string(),
            person: m.person.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            record,
            location: m.location.clone(),
            context,
            decision: dec
                .map(|x| match &x.verdict {
                    Verdict::Withhold { code } => format!("withhold:{code}"),
                    v => v.as_str().to_string(),
                })
                .unwrap_or_default(),
            reviewer: dec.map(|x| x.reviewer.clone()).unwrap_or_default(),
            attention: m.attention.as_deref().unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

/// A few words either side of a span, the span in [brackets], on one line.
pub fn context_of(text: &str, s: Span) -> String {
    let mut a = s.start().saturating_sub(40);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (s.end() + 40).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    let one = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let inner = if s.is_empty() { "^".to_string() } else { format!("[{}]", one(&text[s.start()..s.end()])) };
    format!(
        "{}{} {inner} {}{}",
        if a > 0 { "…" } else { "" },
        one(&text[a..s.start()]),
        one(&text[s.end()..b]),
        if b < text.len() { "…" } else { "" }
    )
    .trim()
    .to_string()
}

/// The review list as CSV, for a spreadsheet: one row per mark or held item, with a `decision`
/// column to fill in (accept, reject, release, withhold:CODE) and `why`.
pub fn to_csv(items: &[Item], out: &mut dyn std::io::Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "mark", "kind", "code", "rule", "person", "record", "location", "context", "decision", "reviewer", "why",
    ])?;
    for i in items {
        let loc = i.location.describe();
        w.write_record([
            i.mark.as_str(),
            i.kind,
            &i.code,
            &i.rule,
            &i.person,
            &i.record,
            &loc,
            &i.context,
            &i.decision,
            &i.reviewer,
            "",
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Read a review CSV back: the rows whose `decision` is filled in and differs from what is
/// recorded become decisions by `reviewer`. Gives how many were recorded. Every row is checked
/// before any is recorded.
pub fn from_csv(store: &mut Store, row: &RequestRow, p: &Proposed, reviewer: &str, data: &[u8]) -> Result<usize> {
    require_reviewer(store, reviewer)?;
    let text = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let headers: Vec<String> = r.headers()?.iter().map(|h| h.trim().to_lowercase()).collect();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (Some(cm), Some(cd)) = (col("mark"), col("decision")) else {
        bail!("the review CSV needs the columns mark and decision (as `disclose review export` writes them)");
    };
    let cw = col("why");
    let current = decisions(store, row, p)?;
    let mut todo: Vec<(MarkId, Verdict, Option<String>)> = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("line {} of the review CSV", i + 2))?;
        let mark = MarkId(rec.get(cm).unwrap_or("").trim().to_string());
        let dec = rec.get(cd).unwrap_or("").trim().to_lowercase();
        if dec.is_empty() {
            continue;
        }
        let verdict = match dec.as_str() {
            "accept" => Verdict::Accept,
            "reject" => Verdict::Reject,
            "release" => Verdict::Release,
            x if x.starts_with("withhold") => {
                let code = x.split_once(':').map(|(_, c)| c).unwrap_or("");
                let code = Reason::parse(code)
                    .with_context(|| format!("line {}: withhold needs a code (withhold:TP)", i + 2))?;
                Verdict::Withhold { code }
            }
            _ => bail!("line {}: decision must be accept, reject, release or withhold:CODE", i + 2),
        };
        if p.proposal.mark(&mark).is_none() {
            bail!("line {}: mark {mark} is not in the proposal of request {}", i + 2, row.id);
        }
        if current.marks.get(&mark).is_some_and(|d| d.verdict == verdict) {
            continue;
        }
        let why = cw.and_then(|c| rec.get(c)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        todo.push((mark, verdict, why));
    }
    let n = todo.len();
    for (mark, verdict, why) in todo {
        let why = why
            .or_else(|| (!matches!(verdict, Verdict::Accept)).then(|| "decided in the review spreadsheet".to_string()));
        decide(store, row, p, Target::Mark(mark), verdict, reviewer, why.as_deref())?;
    }
    Ok(n)
}

/// Counts of a request's items by kind and decision, for summaries.
pub fn tally(items: &[Item]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        let k = format!("{} {}", i.kind, if i.decision.is_empty() { "undecided" } else { &i.decision });
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// The held items still undecided (they block approval).
pub fn undecided(p: &Proposal, d: &Decisions) -> Vec<MarkId> {
    p.held().filter(|m| !d.marks.contains_key(&m.id)).map(|m| m.id.clone()).collect()
}

pub use policy::Action as MarkAction;
