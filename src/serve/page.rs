//! The review page's HTML: the login form, the queue of requests, and one request's file with
//! its marks. Plain HTML, every control labelled; no inline script or style (the
//! Content-Security-Policy forbids them), so positions and state travel in `data-` attributes
//! that `assets/review.js` reads. Everything from the case is escaped.

use super::View;
use crate::detect::Span;
use crate::export::Proposed;
use crate::file::{Entry, Location, Part};
use crate::model::*;
use crate::ocr::ImageUse;
use crate::policy::{Mark, MarkId, Reason};
use crate::review::session::Session;
use crate::review::workflow::{self, Item};
use crate::review::{AddedSpan, Status};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write;

/// HTML-escape text (and attribute values).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn shell(title: &str, csrf: Option<&str>, body: &str) -> String {
    let meta = csrf.map(|c| format!("<meta name=\"csrf\" content=\"{}\">", esc(c))).unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{meta}<title>{}</title><link rel=\"stylesheet\" href=\"/assets/review.css\"><script src=\"/assets/review.js\" defer></script></head><body>{body}</body></html>\n",
        esc(title)
    )
}

fn csrf_field(c: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(c))
}

/// The sign-in page: nothing of any case.
pub fn login(token: &str, msg: Option<&str>) -> String {
    let msg = msg.map(|m| format!("<p class=\"alert\" role=\"alert\">{}</p>", esc(m))).unwrap_or_default();
    shell(
        "Sign in: disclose review",
        None,
        &format!(
            "<main class=\"login\"><h1>disclose review</h1><p>Sign in as a registered reviewer.</p>{msg}\
<form method=\"post\" action=\"/login\">{}\
<p><label for=\"name\">Name</label><input id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus></p>\
<p><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
<p><button type=\"submit\">Sign in</button></p></form></main>",
            csrf_field(token)
        ),
    )
}

/// A short page with one message and a way back.
pub fn message(title: &str, msg: &str, back: &str) -> String {
    shell(
        title,
        None,
        &format!(
            "<main class=\"login\"><h1>{}</h1><p role=\"alert\">{}</p><p><a href=\"{}\">Back</a></p></main>",
            esc(title),
            esc(msg),
            esc(back)
        ),
    )
}

fn signed_in_bar(s: &Session) -> String {
    format!(
        "<form class=\"signout\" method=\"post\" action=\"/logout\">{}<span>Signed in as {}</span> <button type=\"submit\">Sign out</button></form>",
        csrf_field(&s.csrf),
        esc(&s.reviewer)
    )
}

/// The queue: every request with its due date and days left.
pub fn queue(s: &Session, list: &[workflow::Summary]) -> String {
    let mut rows = String::new();
    for r in list {
        let left = if r.stage == workflow::Stage::Released {
            "-".to_string()
        } else if r.days_left < 0 {
            format!("{} overdue", -r.days_left)
        } else {
            r.days_left.to_string()
        };
        let _ = write!(
            rows,
            "<tr><td><a href=\"/r/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&r.row.subject),
            esc(&r.row.requester),
            esc(&r.row.policy),
            esc(&r.row.received),
            esc(r.due()),
            if r.row.extended_to.is_some() { " (extended)" } else { "" },
            esc(&left),
            r.stage.as_str(),
            id = esc(&r.row.id),
        );
    }
    let table = if list.is_empty() {
        "<p>No requests yet. Register one with <code>disclose request new</code>.</p>".to_string()
    } else {
        format!(
            "<table class=\"queue\"><caption>Requests, oldest first</caption><thead><tr><th scope=\"col\">Request</th><th scope=\"col\">Subject</th><th scope=\"col\">Requester</th><th scope=\"col\">Policy</th><th scope=\"col\">Received</th><th scope=\"col\">Due</th><th scope=\"col\">Days left</th><th scope=\"col\">Status</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    shell(
        "Requests: disclose review",
        Some(&s.csrf),
        &format!(
            "<header class=\"top\"><h1>Requests</h1>{}</header><main class=\"queue\">{table}</main>",
            signed_in_bar(s)
        ),
    )
}

/// An item's decision as the page shows it.
pub fn decision_text(i: &Item) -> String {
    if i.decision.is_empty() {
        "undecided".to_string()
    } else {
        format!("{} by {}", i.decision.replace(':', " "), i.reviewer)
    }
}

/// The state class of an item: undecided, taken out, kept.
fn state_class(i: Option<&Item>) -> &'static str {
    match i.map(|i| i.decision.as_str()) {
        None | Some("") => "open",
        Some(d) if d == "reject" || d == "release" => "kept",
        Some(_) => "out",
    }
}

pub fn status_text(s: &Status) -> String {
    match s {
        Status::Draft => "draft (not approved)".to_string(),
        Status::Approved { by, at } => format!("approved by {by} at {at}"),
        Status::Unreviewed { by, .. } => format!("released unreviewed by {by}"),
    }
}

fn code_class(c: &str) -> String {
    if c.is_empty() {
        "c-none".to_string()
    } else {
        format!("c-{c}")
    }
}

fn code_options(selected: Option<Reason>) -> String {
    Reason::ALL
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{0}\"{1}>{0}</option>",
                r.as_str(),
                if Some(*r) == selected { " selected" } else { "" }
            )
        })
        .collect()
}

/// One span to highlight in a piece of text.
struct Hl {
    span: Span,
    /// The mark id (an added mark's id for added marks).
    id: String,
    class: String,
    title: String,
    /// Whether the side list has an item for it (proposed marks), so the text links to it.
    listed: bool,
}

/// The text with its spans highlighted: overlapping spans split the text at every edge, and
/// each piece is shown with its innermost mark.
fn highlighted(text: &str, spans: &[Hl]) -> String {
    let mut edges: BTreeSet<usize> = BTreeSet::new();
    edges.insert(0);
    edges.insert(text.len());
    for h in spans {
        if h.span.end() <= text.len() && text.is_char_boundary(h.span.start()) && text.is_char_boundary(h.span.end()) {
            edges.insert(h.span.start());
            edges.insert(h.span.end());
        }
    }
    let edges: Vec<usize> = edges.into_iter().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut first_seen: HashSet<&str> = HashSet::new();
    for w in edges.windows(2) {
        let (a, b) = (w[0], w[1]);
        let piece = esc(&text[a..b]);
        let covering: Vec<&Hl> =
            spans.iter().filter(|h| h.span.start() <= a && h.span.end() >= b && h.span.end() <= text.len()).collect();
        let Some(inner) = covering.iter().min_by_key(|h| h.span.len()) else {
            out.push_str(&piece);
            continue;
        };
        let id_attr =
            if first_seen.insert(inner.id.as_str()) { format!(" id=\"hl-{}\"", esc(&inner.id)) } else { String::new() };
        let all: Vec<&str> = covering.iter().map(|h| h.id.as_str()).collect();
        let _ = write!(
            out,
            "<mark class=\"hl {}{}{}\"{id_attr} data-mark=\"{}\" data-marks=\"{}\" title=\"{}\">{piece}</mark>",
            inner.class,
            if inner.listed { " listed" } else { "" },
            // Inside another mark (a name in a removed sentence): outlined, so both can be seen.
            if covering.len() > 1 { " nested" } else { "" },
            esc(&inner.id),
            esc(&all.join(" ")),
            esc(&inner.title)
        );
    }
    out
}

/// A region mark added on a page: its id, code and rectangle in page space.
type Region = (String, String, [f64; 4]);

/// Who owns a piece of the file on the page: a record, or an attachment.
#[derive(Clone, PartialEq)]
enum Owner {
    Record(RecordId),
    Attachment(AttachmentId),
}

fn owner_of(l: &Location) -> Option<Owner> {
    l.record_id().map(|r| Owner::Record(r.clone())).or_else(|| l.attachment_id().map(|a| Owner::Attachment(a.clone())))
}

/// The name of a person for the officer (their id when the family has no such person).
fn person_name(fam: &Family, p: &str) -> String {
    fam.person(&PersonId(p.to_string())).map(|x| x.display_name()).filter(|n| !n.is_empty()).unwrap_or_default()
}

/// End the block of a record or attachment: its whole-element marks not yet shown, then close.
fn close<'m>(
    main: &mut String,
    open: &Option<Owner>,
    shown: &mut HashSet<&'m MarkId>,
    wholes: &[&'m Mark],
    banner: &dyn Fn(&Mark) -> String,
) {
    if let Some(o) = open {
        for m in wholes.iter().filter(|m| owner_of(&m.location).as_ref() == Some(o)) {
            if shown.insert(&m.id) {
                main.push_str(&banner(m));
            }
        }
        main.push_str("</section>");
    }
}

/// The review page of one request.
pub fn request(
    s: &Session,
    p: &Proposed,
    v: &View,
    practice: &BTreeMap<RecordId, Vec<(String, String, String)>>,
    placement: &dyn Fn(&AttachmentId, usize) -> Option<ImageUse>,
) -> Result<String> {
    let file = p.file()?;
    let fam = file.family;
    let req = esc(&v.row.id);
    let csrf = csrf_field(&s.csrf);
    let by_mark: HashMap<&MarkId, &Item> = v.items.iter().map(|i| (&i.mark, i)).collect();
    // Marks by where they are: spans to highlight, whole elements to show as a banner.
    let mut spans: HashMap<&Location, Vec<Hl>> = HashMap::new();
    let mut wholes: Vec<&Mark> = Vec::new();
    for m in p.proposal.marks.iter().filter(|m| m.action.removes()) {
        let item = by_mark.get(&m.id).copied();
        let code = m.reason.map(|r| r.as_str()).unwrap_or("");
        match m.span {
            Some(sp) if !sp.is_empty() => spans.entry(&m.location).or_default().push(Hl {
                span: sp,
                id: m.id.to_string(),
                class: format!("{} {}", code_class(code), state_class(item)),
                title: format!("{} {} ({})", code, m.rule, item.map(decision_text).unwrap_or_default()),
                listed: true,
            }),
            Some(_) => {}
            None if m.region.is_none() => wholes.push(m),
            None => {}
        }
    }
    let mut regions: HashMap<&Location, Vec<Region>> = HashMap::new();
    for a in &v.decisions.added {
        for (n, (loc, at)) in a.at.iter().enumerate() {
            match at {
                AddedSpan::Text { span } => spans.entry(loc).or_default().push(Hl {
                    span: *span,
                    id: format!("{}-{n}", a.id),
                    class: format!("{} added", code_class(a.code.as_str())),
                    title: format!("{} added by {}: {}", a.code, a.reviewer, a.why),
                    listed: false,
                }),
                AddedSpan::Region { rect } => {
                    regions.entry(loc).or_default().push((a.id.clone(), a.code.to_string(), *rect))
                }
            }
        }
    }

    let mut main = String::new();
    let mut shown: HashSet<&MarkId> = HashSet::new();
    let banner = |m: &Mark| -> String {
        let item = by_mark.get(&m.id).copied();
        let code = m.reason.map(|r| r.as_str()).unwrap_or("");
        let what = if m.action == crate::policy::Action::Review { "Held for review" } else { "Withheld" };
        format!(
            "<div class=\"held {} {}\" id=\"hl-{id}\" data-mark=\"{id}\"><strong>{what}</strong> ({}): {} <span class=\"dec\" data-dec=\"{id}\">{}</span> <button type=\"button\" class=\"goto\" data-mark=\"{id}\">Decide</button></div>",
            code_class(code),
            state_class(item),
            esc(&format!("{} {}", code, m.rule)),
            esc(&m.explanation),
            esc(&item.map(decision_text).unwrap_or_default()),
            id = esc(m.id.as_str()),
        )
    };
    let units = file.units(&p.inputs);
    let mut open: Option<Owner> = None;
    // The record whose words an attachment's text counts as (for adding a mark by words).
    let mut words_record: Option<RecordId> = None;
    // Marks shown by `close` are borrowed from the proposal, which outlives this loop.
    let wholes_ref: Vec<&Mark> = wholes.clone();
    for u in &units {
        let owner = owner_of(&u.loc);
        if owner != open {
            close(&mut main, &open, &mut shown, &wholes_ref, &banner);
            match &owner {
                Some(Owner::Record(r)) => {
                    words_record = Some(r.clone());
                    let rec = fam.record(r);
                    let kind = rec
                        .map(|x| match &x.subtype {
                            Some(st) => format!("{} ({st})", x.kind),
                            None => x.kind.clone(),
                        })
                        .unwrap_or_default();
                    let date = rec.map(|x| x.occurred.start.0.clone()).unwrap_or_default();
                    let _ = write!(
                        main,
                        "<section class=\"rec\" id=\"{id}\" data-record=\"{id}\" aria-labelledby=\"t-{id}\"><p class=\"rmeta\">{id} · {} · {}</p>",
                        esc(&kind),
                        esc(&date),
                        id = esc(r.as_str())
                    );
                    if let Some(fs) = practice.get(r).filter(|f| !f.is_empty()) {
                        main.push_str("<aside class=\"practice\" aria-label=\"Recording practice\"><h3>Recording practice</h3><ul>");
                        for (title, what, todo) in fs {
                            let _ = write!(
                                main,
                                "<li><strong>{}</strong>: {} <em>{}</em></li>",
                                esc(title),
                                esc(what),
                                esc(todo)
                            );
                        }
                        main.push_str("</ul></aside>");
                    }
                    for m in wholes_ref.iter().filter(|m| m.location == Location::record(r, Part::Record)) {
                        if shown.insert(&m.id) {
                            main.push_str(&banner(m));
                        }
                    }
                }
                Some(Owner::Attachment(a)) => {
                    let parent = fam.attachment(a).and_then(|x| x.record.clone());
                    if parent.is_some() {
                        words_record = parent;
                    } else {
                        words_record = None;
                    }
                    let _ = write!(
                        main,
                        "<section class=\"att\" id=\"{id}\" data-attachment=\"{id}\"{}><p class=\"rmeta\">Document {id}</p>",
                        words_record.as_ref().map(|r| format!(" data-record=\"{}\"", esc(r.as_str()))).unwrap_or_default(),
                        id = esc(a.as_str())
                    );
                    for m in wholes_ref.iter().filter(|m| m.location == Location::attachment(a, Part::Attachment)) {
                        if shown.insert(&m.id) {
                            main.push_str(&banner(m));
                        }
                    }
                    if let Some(crate::file::AttachmentInput::Unreadable(_)) = p.inputs.get(a) {
                        main.push_str("<p class=\"note\">This document could not be read safely; it is held.</p>");
                    }
                }
                None => {}
            }
            open = owner;
        }
        for m in wholes_ref.iter().filter(|m| {
            m.location == u.loc || (matches!(m.location.part(), Part::Section { .. }) && u.loc.within(&m.location))
        }) {
            if shown.insert(&m.id) {
                main.push_str(&banner(m));
            }
        }
        let mut hl: Vec<Hl> = Vec::new();
        if let Some(v) = spans.get_mut(&u.loc) {
            hl.append(v);
        }
        let has_marks = !hl.is_empty();
        let text = highlighted(&u.text, &hl);
        let key = esc(&u.loc.key());
        match u.loc.part() {
            Part::Title => {
                let id = u.loc.record_id().map(|r| r.as_str()).unwrap_or("");
                let _ = write!(
                    main,
                    "<h2 class=\"title\" id=\"t-{}\"><span class=\"text\" data-loc=\"{key}\">{text}</span></h2>",
                    esc(id)
                );
            }
            Part::Author => {
                let _ = write!(
                    main,
                    "<p class=\"author\">Recorded by <span class=\"text\" data-loc=\"{key}\">{text}</span></p>"
                );
            }
            Part::Participant { .. } => {
                let _ = write!(
                    main,
                    "<p class=\"author\">Present: <span class=\"text\" data-loc=\"{key}\">{text}</span></p>"
                );
            }
            Part::Heading { .. } => {
                let _ =
                    write!(main, "<h3 class=\"heading\"><span class=\"text\" data-loc=\"{key}\">{text}</span></h3>");
            }
            Part::Body { .. } => {
                let _ = write!(main, "<div class=\"text body\" data-loc=\"{key}\">{text}</div>");
            }
            Part::Field { key: k, .. } => {
                let _ = write!(
                    main,
                    "<p class=\"field\"><span class=\"key\">{}:</span> <span class=\"text\" data-loc=\"{key}\">{text}</span></p>",
                    esc(k)
                );
            }
            Part::Appendment { .. } => {
                let _ = write!(main, "<div class=\"appendment\"><p class=\"key\">Appended note</p><div class=\"text body\" data-loc=\"{key}\">{text}</div></div>");
            }
            Part::AttachmentTitle => {
                let _ = write!(main, "<h3 class=\"title\"><span class=\"text\" data-loc=\"{key}\">{text}</span></h3>");
            }
            Part::AttachmentAuthor => {
                let _ =
                    write!(main, "<p class=\"author\">From <span class=\"text\" data-loc=\"{key}\">{text}</span></p>");
            }
            Part::AttachmentPage { page } => {
                let a = u.loc.attachment_id().cloned().unwrap_or_else(|| AttachmentId(String::new()));
                let n = page + 1;
                let mut boxes = String::new();
                // The proposal's marks over the page image (dashed: what will be taken out, by
                // the page's glyphs or the words OCR read), and words OCR read with low
                // confidence (dotted): the reviewer sees on the page what the list says.
                let (proposed, weak) = p.page_marks(&a, *page);
                if !proposed.is_empty() || !weak.is_empty() {
                    if let Some(pl) = placement(&a, *page) {
                        let (w, h) = (pl.width as f64, pl.height as f64);
                        let mut put = |class: String, rect: &[f64; 4], title: String| {
                            if let Some(px) = pl.page_to_pixels(rect) {
                                let _ = write!(
                                    boxes,
                                    "<span class=\"{class}\" data-x=\"{:.5}\" data-y=\"{:.5}\" data-w=\"{:.5}\" data-h=\"{:.5}\" title=\"{}\"></span>",
                                    px.x0 as f64 / w,
                                    px.y0 as f64 / h,
                                    (px.x1 - px.x0) as f64 / w,
                                    (px.y1 - px.y0) as f64 / h,
                                    esc(&title)
                                );
                            }
                        };
                        for (m, rects) in &proposed {
                            let code = m.reason.map(|r| r.to_string()).unwrap_or_default();
                            for r in rects {
                                put(format!("proposed {}", code_class(&code)), r, format!("{code} {}", m.id));
                            }
                        }
                        for r in &weak {
                            put("weak".into(), r, "read with low confidence".into());
                        }
                    }
                }
                if let Some(rs) = regions.get(&u.loc) {
                    if let Some(pl) = placement(&a, *page) {
                        for (id, code, rect) in rs {
                            if let Some(px) = pl.page_to_pixels(rect) {
                                let (w, h) = (pl.width as f64, pl.height as f64);
                                let _ = write!(
                                    boxes,
                                    "<span class=\"region {}\" data-x=\"{:.5}\" data-y=\"{:.5}\" data-w=\"{:.5}\" data-h=\"{:.5}\" title=\"{} {}\"></span>",
                                    code_class(code),
                                    px.x0 as f64 / w,
                                    px.y0 as f64 / h,
                                    (px.x1 - px.x0) as f64 / w,
                                    (px.y1 - px.y0) as f64 / h,
                                    esc(code),
                                    esc(id)
                                );
                            }
                        }
                    }
                }
                let _ = write!(
                    main,
                    "<figure class=\"page\" data-attachment=\"{att}\" data-page=\"{n}\"><figcaption>Page {n} of document {att}. Draw a box on the page to mark a region.</figcaption>\
<div class=\"pagebox\"><img src=\"/r/{req}/page/{att}/{n}\" alt=\"Page {n} of document {att}\" draggable=\"false\">{boxes}<span class=\"drawn\" hidden></span></div>\
<form class=\"js add-region\" method=\"post\" action=\"/r/{req}/add\" hidden>{csrf}<input type=\"hidden\" name=\"attachment\" value=\"{att}\"><input type=\"hidden\" name=\"page\" value=\"{n}\">\
<input type=\"hidden\" name=\"x1\"><input type=\"hidden\" name=\"y1\"><input type=\"hidden\" name=\"x2\"><input type=\"hidden\" name=\"y2\">\
<label>Code <select name=\"code\">{codes}</select></label> <label>Why <input name=\"why\" required></label> <button type=\"submit\">Add region mark</button> <button type=\"button\" class=\"cancel\">Cancel</button></form>\
<details{open}><summary>Text read from page {n}</summary><div class=\"text body\" data-loc=\"{key}\">{text}</div></details></figure>",
                    att = esc(a.as_str()),
                    codes = code_options(Some(Reason::TP)),
                    open = if has_marks { " open" } else { "" },
                );
            }
            _ => {
                let _ = write!(main, "<p class=\"field\"><span class=\"text\" data-loc=\"{key}\">{text}</span></p>");
            }
        }
    }
    close(&mut main, &open, &mut shown, &wholes_ref, &banner);
    let _ = words_record;

    // The side list.
    let mut codes: BTreeSet<&str> = BTreeSet::new();
    let mut persons: BTreeSet<&str> = BTreeSet::new();
    let mut rules: BTreeSet<&str> = BTreeSet::new();
    for i in &v.items {
        if !i.code.is_empty() {
            codes.insert(&i.code);
        }
        if !i.person.is_empty() {
            persons.insert(&i.person);
        }
        rules.insert(&i.rule);
    }
    let opts = |set: &BTreeSet<&str>, label: &dyn Fn(&str) -> String| -> String {
        set.iter().map(|x| format!("<option value=\"{}\">{}</option>", esc(x), esc(&label(x)))).collect()
    };
    let person_label = |x: &str| {
        let n = person_name(fam, x);
        if n.is_empty() {
            x.to_string()
        } else {
            format!("{n} ({x})")
        }
    };
    let mut list = String::new();
    for i in &v.items {
        let held = i.kind == "held";
        let buttons = if held {
            format!(
                "<button type=\"submit\" name=\"verdict\" value=\"release\">Release</button> <label>Code <select name=\"code\">{}</select></label> <button type=\"submit\" name=\"verdict\" value=\"withhold\">Withhold</button>",
                code_options(Reason::parse(&i.code).or(Some(Reason::REV)))
            )
        } else {
            "<button type=\"submit\" name=\"verdict\" value=\"accept\">Accept <kbd>a</kbd></button> <button type=\"submit\" name=\"verdict\" value=\"reject\">Reject <kbd>r</kbd></button>".to_string()
        };
        let who = if i.person.is_empty() { String::new() } else { format!(" · {}", esc(&person_label(&i.person))) };
        let attention = if i.attention.is_empty() {
            String::new()
        } else {
            format!("<p class=\"attention\">Look at this: {}</p>", esc(&i.attention))
        };
        let _ = write!(
            list,
            "<li class=\"item {state} {cc}\" id=\"it-{id}\" tabindex=\"-1\" data-mark=\"{id}\" data-kind=\"{kind}\" data-code=\"{code}\" data-person=\"{person}\" data-rule=\"{rule}\">\
<p class=\"ihead\"><span class=\"badge {cc}\">{codeshown}</span> <span class=\"kind\">{kindw}</span> <a href=\"#hl-{id}\" class=\"goto\" data-mark=\"{id}\">{loc}</a>{who}</p>\
{ctx}{attention}<p class=\"rule\">{rule} · <span class=\"dec\" data-dec=\"{id}\">{dec}</span></p>\
<form class=\"js decide\" method=\"post\" action=\"/r/{req}/decide\">{csrf}<input type=\"hidden\" name=\"mark\" value=\"{id}\">\
<label>Why <input name=\"why\" class=\"why\"></label> {buttons}</form></li>",
            state = state_class(Some(i)),
            id = esc(i.mark.as_str()),
            kind = i.kind,
            kindw = if held { "held item" } else { "mark" },
            code = esc(&i.code),
            codeshown = if i.code.is_empty() { "-".to_string() } else { esc(&i.code) },
            cc = code_class(&i.code),
            person = esc(&i.person),
            rule = esc(&i.rule),
            loc = esc(&i.location.describe()),
            // A whole element's context is its place, already shown as the link.
            ctx = if i.context == i.location.describe() {
                String::new()
            } else {
                format!("<p class=\"ctx\">{}</p>", esc(&i.context))
            },
            dec = esc(&decision_text(i)),
        );
    }
    let record_opts: String = file
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Record(r) => Some(&r.id),
            _ => None,
        })
        .map(|r| {
            let t = fam.record(r).map(|x| x.title.as_str()).unwrap_or("");
            format!("<option value=\"{0}\">{0}: {1}</option>", esc(r.as_str()), esc(t))
        })
        .collect();
    let legend: String = Reason::ALL
        .iter()
        .filter(|r| codes.contains(r.as_str()) || v.decisions.added.iter().any(|a| a.code == **r))
        .map(|r| {
            let words = p.resolved.policy.reasons.get(r).map(|d| d.words.as_str()).unwrap_or("");
            format!("<li><span class=\"badge {}\">{}</span> {}</li>", code_class(r.as_str()), r.as_str(), esc(words))
        })
        .collect();
    let added: String = v
        .decisions
        .added
        .iter()
        .map(|a| {
            format!(
                "<li><span class=\"badge {}\">{}</span> {} by {}: {} ({} place{})</li>",
                code_class(a.code.as_str()),
                a.code,
                esc(&a.id),
                esc(&a.reviewer),
                esc(&a.why),
                a.at.len(),
                if a.at.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    let added = if added.is_empty() {
        String::new()
    } else {
        format!("<h3>Added by reviewers</h3><ul class=\"added\">{added}</ul>")
    };
    let subject = person_name(fam, v.row.subject.as_str());
    let due = v.row.extended_to.as_deref().unwrap_or(&v.row.due);
    let left =
        if v.days_left < 0 { format!("{} days overdue", -v.days_left) } else { format!("{} days left", v.days_left) };
    let body = format!(
        "<a class=\"skip\" href=\"#marks\">Skip to the marks</a>\
<header class=\"top\"><p><a href=\"/\">All requests</a></p><h1>Request {req}: the file of {subj} ({sid})</h1>\
<p class=\"meta\">Requester {rq} · policy {pol} · received {rec} · due {due} ({left}) · <span id=\"status\">{status}</span> · <span id=\"undecided\">{undecided}</span> held item(s) undecided</p>\
<p class=\"figure\">Share of the child's own narrative removed: <strong id=\"figure\">{pct:.2}%</strong></p>\
<div class=\"actions\"><form class=\"js approve\" method=\"post\" action=\"/r/{req}/approve\">{csrf}<button type=\"submit\" id=\"approve\">Approve (sign off) as {me}</button></form>{bar}</div>\
<p id=\"msg\" role=\"status\" aria-live=\"polite\"></p>\
<p class=\"keys\">Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous mark · <kbd>a</kbd> accept · <kbd>r</kbd> reject (type why first) · select words in the text to add a mark.</p></header>\
<div class=\"layout\"><main id=\"file\" aria-label=\"The file, in bundle order\">{main}</main>\
<aside id=\"side\" aria-label=\"Marks\">\
<form class=\"js add-words\" id=\"add-words\" method=\"post\" action=\"/r/{req}/add\"><h2>Add a mark</h2>{csrf}\
<p class=\"hint\">Select words in a record's text, or type them.</p>\
<p><label for=\"add-record\">Record</label> <select id=\"add-record\" name=\"record\">{record_opts}</select></p>\
<p><label for=\"add-text\">Words</label> <input id=\"add-text\" name=\"words\" required></p>\
<p><label for=\"add-code\">Code</label> <select id=\"add-code\" name=\"code\">{codes_all}</select> <label for=\"add-why\">Why</label> <input id=\"add-why\" name=\"why\" required></p>\
<p><button type=\"submit\" id=\"add-button\">Add mark</button></p></form>\
<form class=\"js decide-person\" method=\"post\" action=\"/r/{req}/decide\"><h2>Decide by person</h2>{csrf}\
<p><label for=\"dp-person\">Person</label> <select id=\"dp-person\" name=\"person\">{persons}</select></p>\
<p><label for=\"dp-why\">Why</label> <input id=\"dp-why\" name=\"why\"></p>\
<p><button type=\"submit\" name=\"verdict\" value=\"reject\">Keep every mention</button> <button type=\"submit\" name=\"verdict\" value=\"accept\">Accept all their marks</button></p></form>\
<h2 id=\"marks\">Marks and held items</h2>\
<div class=\"filters\"><label>Code <select id=\"f-code\"><option value=\"\">all</option>{fcodes}</select></label> \
<label>Person <select id=\"f-person\"><option value=\"\">all</option>{persons}</select></label> \
<label>Rule <select id=\"f-rule\"><option value=\"\">all</option>{frules}</select></label> \
<label><input type=\"checkbox\" id=\"f-open\"> undecided only</label> <span id=\"f-count\"></span></div>\
<ol id=\"items\">{list}</ol>{added}<h3>Codes</h3><ul class=\"legend\">{legend}</ul></aside></div>",
        subj = esc(&subject),
        sid = esc(v.row.subject.as_str()),
        rq = esc(&v.row.requester),
        pol = esc(&v.row.policy),
        rec = esc(&v.row.received),
        due = esc(due),
        status = esc(&status_text(&v.status)),
        undecided = v.undecided,
        pct = v.percent,
        me = esc(&s.reviewer),
        bar = signed_in_bar(s),
        codes_all = code_options(Some(Reason::TP)),
        persons = opts(&persons, &person_label),
        fcodes = opts(&codes, &|x| x.to_string()),
        frules = opts(&rules, &|x| x.to_string()),
    );
    let _ = v.stage;
    Ok(shell(&format!("Request {}: disclose review", v.row.id), Some(&s.csrf), &body))
}
