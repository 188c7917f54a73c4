//! The practice report in three forms: `practice.csv` (one row per finding, ids, codes and
//! offsets only), `practice.html` (for the officer or team manager inside the council: grouped by
//! child and by kind, a sentence and a suggestion per finding, the words quoted; self-contained)
//! and the summary printed on standard output (ids and counts only).

use super::{Evidence, Finding, Kind, Place, Practice, Report};
use crate::detect::{sentence, Span};
use crate::model::*;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `practice.csv`.
pub fn csv(report: &Report, fam: &Family) -> String {
    let mut o = String::from("finding,kind,record,record_type,record_date,section,children,evidence\n");
    for f in &report.findings {
        let r = fam.record(&f.record);
        let kids: Vec<&str> = f.children.iter().map(|c| c.as_str()).collect();
        let row = [
            f.id(),
            f.kind.code().to_string(),
            f.record.to_string(),
            r.map(|r| r.kind.clone()).unwrap_or_default(),
            r.and_then(|r| r.occurred.start.date()).map(|d| d.iso()).unwrap_or_default(),
            f.place.code(),
            kids.join(";"),
            evidence_code(&f.evidence),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        o.push_str(&cells.join(","));
        o.push('\n');
    }
    o
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn spans(v: &[Span]) -> String {
    let s: Vec<String> = v.iter().map(|s| format!("{}+{}", s.start(), s.len())).collect();
    s.join("|")
}

/// The evidence as codes, ids and `offset+length` byte ranges, never words.
pub fn evidence_code(e: &Evidence) -> String {
    match e {
        Evidence::Absence { member, absent } => {
            if *absent {
                format!("membership[{member}] attendance=absent")
            } else {
                format!("membership[{member}] seen=false")
            }
        }
        Evidence::Detail { sentences, markers, flags } => {
            let mut s = format!("sentences={}", spans(sentences));
            if !markers.is_empty() {
                let _ = write!(s, " markers={}", spans(markers));
            }
            if !flags.is_empty() {
                let _ = write!(s, " flags={}", flags.join("|"));
            }
            s
        }
        Evidence::Plan { earlier, similarity, copied_from } => {
            let mut s = format!("earlier={earlier}");
            if let Some(x) = similarity {
                let _ = write!(s, " similarity={x:.2}");
            }
            if *copied_from {
                s.push_str(" copied_from=yes");
            }
            s
        }
        Evidence::NotConsidered { sections } => format!("sections={sections} named=no scoped=no"),
        Evidence::NoContact { window_days } => format!("window_days={window_days}"),
        Evidence::Event { sentences, events } => format!("sentences={} events={}", spans(sentences), spans(events)),
        Evidence::Term { span, term } => format!("at={}+{} entry=language.terms[{term}]", span.start(), span.len()),
        Evidence::Acronym { span, acronym } => {
            format!("at={}+{} entry=language.acronyms[{acronym}]", span.start(), span.len())
        }
    }
}

/// The summary for standard output: ids and counts only.
pub fn summary(report: &Report, fam: &Family) -> String {
    let mut o = String::new();
    let scope = match &report.child {
        Some(c) => format!(" for {c}"),
        None => String::new(),
    };
    let _ = writeln!(
        o,
        "practice check of export {}{scope}: {} records, {} of 7 kinds run, {} findings",
        report.export,
        report.records,
        report.kinds.len(),
        report.findings.len()
    );
    for k in Kind::ALL {
        let n = if report.kinds.contains(&k) { report.count(k).to_string() } else { "off".into() };
        let _ = writeln!(o, "  {:<34} {n:>5}", k.code());
    }
    let types = by_record_type(report, fam);
    if !types.is_empty() {
        let v: Vec<String> = types.iter().map(|(t, n)| format!("{t} {n}")).collect();
        let _ = writeln!(o, "  by record type: {}", v.join(", "));
    }
    let kids = by_child(report, fam);
    if !kids.is_empty() {
        let v: Vec<String> = kids.iter().map(|(c, f)| format!("{c} {}", f.len())).collect();
        let _ = writeln!(o, "  by child: {}", v.join(", "));
    }
    o
}

fn by_record_type(report: &Report, fam: &Family) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in &report.findings {
        let t = fam.record(&f.record).map(|r| r.kind.clone()).unwrap_or_default();
        *m.entry(t).or_insert(0) += 1;
    }
    m
}

/// The children concerned, in the export's order of persons, each with their findings.
fn by_child<'r>(report: &'r Report, fam: &Family) -> Vec<(PersonId, Vec<&'r Finding>)> {
    let mut out = Vec::new();
    for p in &fam.persons {
        let v: Vec<&Finding> = report.findings.iter().filter(|f| f.children.contains(&p.id)).collect();
        if !v.is_empty() {
            out.push((p.id.clone(), v));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTML

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Plain words for a record type or subtype code.
fn type_words(code: &str) -> String {
    match code {
        "cin_visit" => "child in need visit".into(),
        "s47_visit" => "section 47 visit".into(),
        "cp_statutory_visit" => "child protection visit".into(),
        "cla_statutory_visit" => "statutory visit to a child looked after".into(),
        "no_access" => "no-access visit".into(),
        "cin_plan" => "child in need plan".into(),
        "cp_plan" => "child protection plan".into(),
        "cla_care_plan" => "care plan".into(),
        "s47_enquiry" => "section 47 enquiry".into(),
        "icpc" => "initial child protection conference".into(),
        "rcpc" => "review child protection conference".into(),
        "cin_review" => "child in need review".into(),
        "cla_review" => "looked-after review".into(),
        other => other.replace('_', " "),
    }
}

fn flag_words(flag: &str) -> &str {
    match flag {
        "special_category_health" => "health",
        "criminal_offence" => "criminal",
        "child_confidence" => "given in confidence",
        "serious_harm" => "serious harm",
        "immigration" => "immigration",
        other => other,
    }
}

struct Names<'f> {
    fam: &'f Family,
}

impl Names<'_> {
    fn full(&self, p: &PersonId) -> String {
        self.fam.person(p).map(|x| x.display_name()).filter(|n| !n.is_empty()).unwrap_or_else(|| p.to_string())
    }
    fn given(&self, p: &PersonId) -> String {
        self.fam.person(p).map(|x| x.given_name()).filter(|n| !n.is_empty()).unwrap_or_else(|| p.to_string())
    }
    fn list(&self, v: &[PersonId]) -> String {
        let g: Vec<String> = v.iter().map(|p| self.given(p)).collect();
        match g.len() {
            0 => String::new(),
            1 => g[0].clone(),
            n => format!("{} and {}", g[..n - 1].join(", "), g[n - 1]),
        }
    }
    /// (subject, object, possessive) pronouns for one person.
    fn pron(&self, p: &PersonId) -> (&'static str, &'static str, &'static str) {
        match self.fam.person(p).and_then(|x| x.sex.as_deref()) {
            Some("F") => ("she", "her", "her"),
            Some("M") => ("he", "him", "his"),
            _ => ("they", "them", "their"),
        }
    }
}

/// The sentence saying what was found, and the suggestion, in plain words (names included).
fn explain(f: &Finding, fam: &Family, pr: &Practice) -> (String, String) {
    let n = Names { fam };
    let r = fam.record(&f.record);
    let rtype = r
        .map(|r| type_words(r.subtype.as_deref().filter(|_| r.kind == "visit").unwrap_or(&r.kind)))
        .unwrap_or_default();
    let first = f.children.first().cloned().unwrap_or_else(|| PersonId(String::new()));
    let g = n.given(&first);
    let (he, him, his) = n.pron(&first);
    let on_file: Vec<PersonId> = r
        .map(|r| r.membership.iter().filter(|m| m.on_file && m.removed.is_none()).map(|m| m.person.clone()).collect())
        .unwrap_or_default();
    match &f.evidence {
        Evidence::Absence { absent, .. } => {
            let what = if *absent {
                format!("{g} is recorded as absent from this {rtype} but is still on it: the visit sits on {his} file as if {he} had been there.")
            } else {
                format!("{g} is recorded as not seen on this {rtype}, a visit that must see the child, but is still on it.")
            };
            (what, format!("Ungroup {g} from this visit (remove {him} with reason \u{201c}ungrouped\u{201d}) and record on {his} own file why {he} was not seen."))
        }
        Evidence::Detail { sentences, markers, flags } => {
            let others: Vec<PersonId> = on_file.iter().filter(|p| **p != first).cloned().collect();
            let mut what = format!(
                "This shared section is on the file of {} too, but {} {} only {g}",
                n.list(&others),
                sentences.len(),
                if sentences.len() == 1 { "sentence names" } else { "sentences name" }
            );
            if !markers.is_empty() {
                let _ = write!(what, ", with sensitive detail ({} {})", markers.len(), if markers.len() == 1 { "marker" } else { "markers" });
            }
            if !flags.is_empty() {
                let fl: Vec<&str> = flags.iter().map(|x| flag_words(x)).collect();
                let _ = write!(
                    what,
                    ", and the section carries {} about {him} ({})",
                    if flags.len() == 1 { "a sensitivity flag" } else { "sensitivity flags" },
                    fl.join(", ")
                );
            }
            what.push('.');
            (what, format!("Move {g}\u{2019}s detail to a section scoped to {him}, or to a case note on {his} file referenced from here; keep in the shared section only what concerns every child."))
        }
        Evidence::Plan { earlier, similarity, copied_from } => {
            let late_kids: Vec<PersonId> = r.map(|r| r.membership.iter().filter(|m| m.on_file && m.removed.is_none()).map(|m| m.person.clone()).collect()).unwrap_or_default();
            let early = fam.record(earlier);
            let early_kids: Vec<PersonId> = f.children.iter().filter(|c| !late_kids.contains(c)).cloned().collect();
            let etype = early.map(|e| type_words(&e.kind)).unwrap_or_default();
            let edate = early.and_then(|e| e.occurred.start.date()).map(|d| d.uk()).unwrap_or_default();
            let mut what = format!("{}\u{2019}s {rtype}", n.list(&late_kids));
            match similarity.filter(|s| *s >= pr.policy.plan_copied_across_children.threshold) {
                Some(s) => {
                    let _ = write!(what, " shares {:.0}% of its word runs with {}\u{2019}s {etype} of {edate} ({earlier})", s * 100.0, n.list(&early_kids));
                    if *copied_from {
                        what.push_str(" and is linked to it as copied");
                    }
                }
                None => {
                    let _ = write!(what, " is linked as copied from {}\u{2019}s {etype} of {edate} ({earlier})", n.list(&early_kids));
                    if let Some(s) = similarity {
                        let _ = write!(what, "; {:.0}% of the word runs are shared", s * 100.0);
                    }
                }
            }
            what.push('.');
            let lg = n.list(&late_kids);
            let (_, lhim, lhis) = if late_kids.len() == 1 { n.pron(&late_kids[0]) } else { ("they", "them", "their") };
            (what, format!("Write {lg}\u{2019}s plan for {lhim}: {lhis} own needs, wishes and actions; check that nothing about {} is left in it.", n.list(&early_kids)))
        }
        Evidence::NotConsidered { sections } => (
            format!("{g} is on this {rtype} but is named in none of its {sections} sections and has no section of {his} own."),
            format!("Add a section for {g}, or say in the analysis what the assessment found for {him} and what {he} needs."),
        ),
        Evidence::NoContact { window_days } => {
            let d = r.and_then(|r| r.occurred.start.date()).map(|d| d.uk()).unwrap_or_default();
            (
                format!("{g} was a child of the family when its first {rtype} came in ({}, {d}), but no contact or referral is on {his} file within {window_days} days of it.", f.record),
                format!("Check whether {g} was considered when the family first came in; add {him} to the contact, or record on {his} file why not."),
            )
        }
        Evidence::Event { events, .. } => {
            let text = match &f.place {
                Place::Section(s) => fam.body(&f.record, s),
                _ => "",
            };
            let mut ev: Vec<String> = events.iter().map(|s| text[s.start()..s.end()].to_lowercase()).collect();
            ev.dedup();
            let holders: Vec<PersonId> = on_file.clone();
            (
                format!("This text on {}\u{2019}s file describes {g}\u{2019}s {}, but {g} is not on this record and nothing points to where it is recorded.", n.list(&holders), ev.join(", ")),
                format!("Record the detail on {g}\u{2019}s own file and reference it here (a text reference to that record), or leave it out of this record."),
            )
        }
        Evidence::Term { span, term } => {
            let text = place_text(fam, f);
            let t = pr.policy.language.terms.get(*term);
            (
                format!("\u{201c}{}\u{201d} judges rather than describes.", &text[span.start()..span.end()]),
                format!("Try: {}.", t.map(|t| t.plainer.as_str()).unwrap_or("")),
            )
        }
        Evidence::Acronym { acronym, .. } => {
            let a = pr.policy.language.acronyms.get(*acronym);
            let (ac, ex) = a.map(|a| (a.acronym.as_str(), a.expansion.as_str())).unwrap_or(("", ""));
            (
                format!("\u{201c}{ac}\u{201d} is used with no explanation earlier in this record."),
                format!("Write \u{201c}{ex} ({ac})\u{201d} the first time."),
            )
        }
    }
}

fn place_text<'f>(fam: &'f Family, f: &Finding) -> &'f str {
    match &f.place {
        Place::Section(s) => fam.body(&f.record, s),
        Place::Appendment(a) => fam
            .record(&f.record)
            .and_then(|r| r.appendments.iter().find(|x| &x.id == a))
            .map(|x| x.body.as_str())
            .unwrap_or(""),
        Place::Record => "",
    }
}

/// The sentences to quote and the spans to highlight in them.
fn excerpt(f: &Finding, fam: &Family) -> Option<String> {
    let text = place_text(fam, f);
    if text.is_empty() {
        return None;
    }
    let (show, marks): (Vec<Span>, Vec<Span>) = match &f.evidence {
        Evidence::Detail { sentences, markers, .. } => (sentences.clone(), markers.clone()),
        Evidence::Event { sentences, events } => (sentences.clone(), events.clone()),
        Evidence::Term { span, .. } | Evidence::Acronym { span, .. } => {
            let s = sentence::sentences(text).into_iter().find(|s| s.contains(span)).unwrap_or(*span);
            (vec![s], vec![*span])
        }
        _ => return None,
    };
    let mut out = String::new();
    for s in show.iter().take(4) {
        out.push_str("<p>");
        let mut at = s.start();
        // Long sentences are cut around their first mark.
        let mut start = s.start();
        let mut end = s.end();
        if s.len() > 360 {
            let m = marks.iter().find(|m| s.contains(m)).map(|m| m.start()).unwrap_or(s.start());
            start = floor(text, m.saturating_sub(160).max(s.start()));
            end = floor(text, (start + 360).min(s.end()));
            at = start;
            if start > s.start() {
                out.push('\u{2026}');
            }
        }
        for m in marks.iter().filter(|m| m.start() >= start && m.end() <= end) {
            if m.start() < at {
                continue;
            }
            out.push_str(&esc(&text[at..m.start()]));
            let _ = write!(out, "<mark>{}</mark>", esc(&text[m.start()..m.end()]));
            at = m.end();
        }
        out.push_str(&esc(&text[at..end]));
        if end < s.end() {
            out.push('\u{2026}');
        }
        out.push_str("</p>");
    }
    if show.len() > 4 {
        let _ = write!(out, "<p class=\"more\">and {} more</p>", show.len() - 4);
    }
    Some(out)
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#d9dee8;--bg:#f5f7fa;--card:#fff;--accent:#2456a6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1f3a60;color:#fff;padding:22px 40px 18px}
header h1{margin:0 0 4px;font-size:24px;font-weight:600}
header p{margin:0;color:#c9d6ea;font-size:13px}
main{max-width:1080px;margin:0 auto;padding:24px 40px 60px}
h2{font-size:20px;margin:36px 0 6px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h2 .id,h3 .n{color:var(--muted);font-weight:400;font-size:14px}
h3{font-size:16px;margin:22px 0 10px}
.lede{color:var(--muted);margin:4px 0 18px}
.cards{display:flex;gap:14px;margin:6px 0 20px}
.card{flex:1;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px}
.card b{display:block;font-size:26px;line-height:1.2}
.card span{color:var(--muted);font-size:13px}
.grid{display:grid;grid-template-columns:2fr 1fr;gap:18px;align-items:start}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--line);vertical-align:top;font-size:14px}
th{background:#eef1f6;font-weight:600;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums;font-weight:600;width:56px}
td small{display:block;color:var(--muted);font-size:12.5px}
tr.zero td{color:#9aa3b2}
tr.zero td.n{font-weight:400}
tr:last-child td{border-bottom:0}
nav{margin:18px 0 0;font-size:14px}
nav a{display:inline-block;margin:0 8px 6px 0;padding:3px 10px;border:1px solid var(--line);border-radius:14px;background:var(--card);color:var(--accent);text-decoration:none}
.finding{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--k);border-radius:6px;padding:10px 16px 10px;margin:0 0 10px}
.where{font-size:12.5px;color:var(--muted);margin-bottom:3px}
.where code{font-size:12px;background:#eef1f6;padding:1px 5px;border-radius:3px;color:var(--ink)}
.what{margin:2px 0 4px;font-weight:500}
.todo{margin:0 0 2px;color:#21452a}
.todo b{color:#2e6b3c}
blockquote{margin:8px 0 2px;padding:6px 12px;background:#f8f9fb;border-left:3px solid var(--line);color:#39414f;font-size:14px}
blockquote p{margin:3px 0;white-space:pre-line}
mark{background:#ffe58f;padding:0 1px;border-radius:2px}
.k1{--k:#c0392b}.k2{--k:#d35400}.k3{--k:#8e44ad}.k4{--k:#2471a3}.k5{--k:#16a085}.k6{--k:#b7950b}.k7{--k:#7f8c8d}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;background:var(--k);margin-right:7px}
.none{color:var(--muted);font-style:italic}
.also{margin:0 0 8px;padding:5px 14px;border-left:5px solid var(--k);background:#fbfcfd;border-radius:4px;font-size:13.5px;color:var(--muted)}
.also code{font-size:12px;background:#eef1f6;padding:1px 5px;border-radius:3px;color:var(--ink)}
.also a{color:var(--accent)}
footer{color:var(--muted);font-size:12.5px;margin-top:40px;border-top:1px solid var(--line);padding-top:10px}
@media print{header{background:#fff;color:#000}header p{color:#333}.finding{break-inside:avoid}}
"#;

fn kclass(k: Kind) -> &'static str {
    match k {
        Kind::AbsentNotUngrouped => "k1",
        Kind::SiblingDetailInSharedSection => "k2",
        Kind::PlanCopiedAcrossChildren => "k3",
        Kind::AssessmentNotIndividual => "k4",
        Kind::KnownChildWithoutContact => "k5",
        Kind::UnreferencedSiblingDetail => "k6",
        Kind::Language => "k7",
    }
}

/// `practice.html`: self-contained (inline style, no scripts, no external assets).
pub fn html(report: &Report, fam: &Family, pr: &Practice) -> String {
    let names = Names { fam };
    let mut o = String::new();
    let la = &fam.header.local_authority.name;
    let exported = fam.header.exported_at.date().map(|d| d.uk()).unwrap_or_default();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(o, "<title>Recording practice check \u{2013} {}</title>", esc(report.export.as_str()));
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<header><h1>Recording practice check</h1>");
    let scope = match &report.child {
        Some(c) => format!(" \u{b7} narrowed to {} ({c})", esc(&names.full(c))),
        None => String::new(),
    };
    let _ = writeln!(
        o,
        "<p>{} \u{b7} export {} of {} \u{b7} {} records{}</p></header>\n<main>",
        esc(la),
        esc(report.export.as_str()),
        esc(&exported),
        report.records,
        scope
    );
    o.push_str("<p class=\"lede\">Where this family\u{2019}s records carry one child\u{2019}s story on another child\u{2019}s file, or word it in a way a child or parent may not understand. Each finding says what was found and what to do. This report quotes the records and is for use inside the council only.</p>\n");
    let kids = by_child(report, fam);
    let recs: std::collections::BTreeSet<&RecordId> = report.findings.iter().map(|f| &f.record).collect();
    let _ = writeln!(
        o,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b><span>findings</span></div><div class=\"card\"><b>{}</b><span>records with a finding</span></div><div class=\"card\"><b>{}</b><span>children concerned</span></div><div class=\"card\"><b>{}</b><span>kinds checked, of 7</span></div></div>",
        report.findings.len(),
        recs.len(),
        kids.len(),
        report.kinds.len()
    );
    o.push_str("<div class=\"grid\"><table><tr><th>Kind</th><th>Findings</th></tr>\n");
    for k in Kind::ALL {
        let on = report.kinds.contains(&k);
        let n = report.count(k);
        let _ = writeln!(
            o,
            "<tr class=\"{}{}\"><td><span class=\"dot\"></span>{}<small>{}</small></td><td class=\"n\">{}</td></tr>",
            kclass(k),
            if n == 0 { " zero" } else { "" },
            esc(k.title()),
            esc(k.meaning()),
            if on { n.to_string() } else { "off".into() }
        );
    }
    o.push_str("</table>\n<table><tr><th>Record type</th><th>Findings</th></tr>\n");
    let types = by_record_type(report, fam);
    if types.is_empty() {
        o.push_str("<tr><td class=\"none\">none</td><td></td></tr>\n");
    }
    for (t, n) in &types {
        let _ = writeln!(o, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(&type_words(t)));
    }
    o.push_str("</table></div>\n");
    if kids.is_empty() {
        o.push_str("<h2>Findings</h2><p class=\"none\">No findings: every check that ran found the records as the practice rules ask.</p>\n");
    } else {
        o.push_str("<nav>");
        for (c, fs) in &kids {
            let _ = write!(o, "<a href=\"#{}\">{} ({})</a>", esc(c.as_str()), esc(&names.full(c)), fs.len());
        }
        o.push_str("</nav>\n");
    }
    // A finding is shown in full under its first child (the one it is mainly about) and as a
    // line pointing there under the others.
    let index: std::collections::HashMap<*const Finding, usize> =
        report.findings.iter().enumerate().map(|(i, f)| (f as *const Finding, i + 1)).collect();
    let anchor = |f: &Finding| format!("f{}", index.get(&(f as *const Finding)).copied().unwrap_or(0));
    for (c, fs) in &kids {
        let _ = writeln!(
            o,
            "<h2 id=\"{}\">{} <span class=\"id\">{} \u{b7} {} {}</span></h2>",
            esc(c.as_str()),
            esc(&names.full(c)),
            esc(c.as_str()),
            fs.len(),
            if fs.len() == 1 { "finding" } else { "findings" }
        );
        for k in Kind::ALL {
            let of: Vec<&&Finding> = fs.iter().filter(|f| f.kind == k).collect();
            if of.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                "<h3 class=\"{}\"><span class=\"dot\"></span>{} <span class=\"n\">{}</span></h3>",
                kclass(k),
                esc(k.title()),
                of.len()
            );
            for f in of {
                if f.children.first() == Some(c) {
                    finding_html(&mut o, f, fam, pr, &anchor(f));
                } else {
                    let main = f.children.first().map(|m| names.given(m)).unwrap_or_default();
                    let _ = writeln!(
                        o,
                        "<p class=\"also {}\"><code>{}</code> {}: {} <a href=\"#{}\">Shown under {}.</a></p>",
                        kclass(f.kind),
                        esc(f.record.as_str()),
                        esc(&short(f, fam)),
                        esc(&explain(f, fam, pr).0),
                        anchor(f),
                        esc(&main)
                    );
                }
            }
        }
    }
    let _ = writeln!(
        o,
        "<footer>Practice policy {} (SHA-256 {}). The CSV beside this page lists the same findings by id and offset, without the words.</footer>\n</main>\n</body>\n</html>",
        esc(&report.policy_source),
        esc(&report.policy_sha256[..16.min(report.policy_sha256.len())])
    );
    o
}

/// A few words for a cross-reference line: the record's type and date, and the place.
fn short(f: &Finding, fam: &Family) -> String {
    let mut s = match fam.record(&f.record) {
        Some(r) => {
            let t = match &r.subtype {
                Some(st) if r.kind == "visit" => type_words(st),
                _ => type_words(&r.kind),
            };
            format!("{t} of {}", r.occurred.start.date().map(|d| d.uk()).unwrap_or_default())
        }
        None => String::new(),
    };
    match &f.place {
        Place::Section(x) => {
            let _ = write!(s, ", section {x}");
        }
        Place::Appendment(a) => {
            let _ = write!(s, ", appendment {a}");
        }
        Place::Record => {}
    }
    s
}

fn finding_html(o: &mut String, f: &Finding, fam: &Family, pr: &Practice, id: &str) {
    let r = fam.record(&f.record);
    let (what, todo) = explain(f, fam, pr);
    let _ = write!(
        o,
        "<article class=\"finding {}\" id=\"{id}\"><div class=\"where\"><code>{}</code>",
        kclass(f.kind),
        esc(f.record.as_str())
    );
    if let Some(r) = r {
        let t = match &r.subtype {
            Some(s) if r.kind == "visit" => type_words(s),
            _ => type_words(&r.kind),
        };
        let d = r.occurred.start.date().map(|d| d.uk()).unwrap_or_default();
        let _ = write!(o, " {} \u{b7} {} \u{b7} {}", esc(&t), esc(&d), esc(&r.title));
    }
    match &f.place {
        Place::Section(s) => {
            let heading = r.and_then(|r| r.sections.iter().find(|x| &x.id == s)).and_then(|x| x.heading.as_deref());
            let _ = write!(o, " \u{b7} section <code>{}</code>", esc(s.as_str()));
            if let Some(h) = heading {
                let _ = write!(o, " {}", esc(h));
            }
        }
        Place::Appendment(a) => {
            let _ = write!(o, " \u{b7} appendment <code>{}</code>", esc(a));
        }
        Place::Record => {}
    }
    let _ =
        write!(o, "</div><p class=\"what\">{}</p><p class=\"todo\"><b>Suggested:</b> {}</p>", esc(&what), esc(&todo));
    if let Some(x) = excerpt(f, fam) {
        let _ = write!(o, "<blockquote>{x}</blockquote>");
    }
    o.push_str("</article>\n");
}
