//! The bundle: the redacted file turned into the render model (cover letter or court front sheet,
//! index, records in order with their documents in place, schedule of redactions, glossary), then
//! rendered twice so that the schedule can name the page of every item. Every title, heading,
//! bookmark and index line is built from redacted text only.

use super::render::{self, Block, Doc, LabelStyle, Part as RPart, PartContent, Run};
use crate::file::{Location, Part};
use crate::model::*;
use crate::policy::{Action, Audience, Council, Party, Policy, Reason};
use crate::redact::HeldPage;
use crate::redact::{RAttachment, REntry, RRecord, RText, RedactedFile, Seg};
use crate::review::Disclosure as Plan;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Redacted pages of an attachment, ready to place in the bundle.
pub struct AttachmentPages {
    pub doc: Arc<lopdf::Document>,
    /// The pages to show, with their index in the original document.
    pub pages: Vec<(usize, lopdf::ObjectId)>,
    /// Mark boxes painted in the pages, with the code or label to write over them.
    pub boxes: Vec<super::core::MarkBox>,
    /// What each page (by its index in the original document) still draws: a tag or note written
    /// over the page goes where it hides none of it.
    pub ink: Vec<super::core::PageInk>,
}

/// A built bundle.
pub struct Bundle {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Page label of each record and attachment anchor.
    pub anchors: HashMap<String, String>,
    /// Page labels where the mark of each plan decision (by index) is drawn.
    pub marks: BTreeMap<u32, Vec<String>>,
    pub warnings: Vec<String>,
}

impl Bundle {
    /// The pages of the bundle where decision `i` (at `loc`) shows: "7", or "7-8" when its marks
    /// run over a page break or it marks text that appears on several pages.
    pub fn pages_of(&self, i: u32, loc: &Location) -> String {
        pages_of(&self.marks, &self.anchors, i, loc)
    }
}

fn pages_of(marks: &BTreeMap<u32, Vec<String>>, anchors: &HashMap<String, String>, i: u32, loc: &Location) -> String {
    match marks.get(&i).map(|v| v.as_slice()) {
        Some([one]) => one.clone(),
        Some([first, .., last]) => format!("{first}-{last}"),
        _ => page_of(anchors, loc),
    }
}

/// Everything the bundle needs besides the redacted file.
pub struct BundleInput<'a> {
    pub file: Arc<RedactedFile>,
    pub plan: &'a Plan,
    /// Attachment pages held back after redaction (placeholders and schedule rows).
    pub held_pages: &'a [HeldPage],
    pub policy: &'a Policy,
    pub family: &'a Family,
    /// Redacted attachment pages (attachments missing here are shown by their placeholder).
    pub attachments: &'a HashMap<AttachmentId, AttachmentPages>,
    /// Who sealed the bundle (signed bundles): the cover explains the seal and how to check it.
    pub seal: Option<SealInfo>,
    /// Who answers the request: the council's information governance team and the complaints route.
    pub council: &'a Council,
    /// The request's reference and dates, for the letter.
    pub letter: &'a Letter,
}

/// Who sealed a bundle.
#[derive(Clone, Debug)]
pub struct SealInfo {
    /// The signing certificate's common name.
    pub signer: String,
    /// The start of the certificate's SHA-256, for a reader who wants to compare it.
    pub fingerprint: String,
}

/// The request as the letter gives it.
#[derive(Clone, Debug, Default)]
pub struct Letter {
    /// The council's reference for the request.
    pub reference: Option<String>,
    /// When the request was received (YYYY-MM-DD).
    pub received: String,
    /// The date of the response (YYYY-MM-DD); none while the bundle is a draft.
    pub response: Option<String>,
}

/// Court bundle sections (FPR PD27A).
const COURT_SECTIONS: &[(char, &str)] = &[
    ('A', "Preliminary documents"),
    ('B', "Applications and orders"),
    ('C', "Statements"),
    ('D', "Care plans"),
    ('E', "Experts' reports"),
    ('F', "Other documents"),
];

fn court_section(record_type: &str) -> char {
    match record_type {
        "chronology_entry" => 'A',
        "legal_planning_meeting" | "referral" => 'B',
        "letter" | "contact" => 'C',
        "cin_plan" | "cp_plan" | "cla_care_plan" | "pathway_plan" | "icpc" | "rcpc" | "core_group" | "cin_review"
        | "cla_review" => 'D',
        "single_assessment" | "health_assessment" | "s47_enquiry" | "early_help_assessment" => 'E',
        _ => 'F',
    }
}

fn runs(t: &RText) -> Vec<Run> {
    t.0.iter()
        .map(|s| match s {
            Seg::Text(x) => Run::Text(x.clone()),
            // The renderer only measures `width_of`; we give it a stand-in of the same length.
            // Every mark carries its code; a label that keeps the story follows it.
            Seg::Mark { code, label, chars, decision } => Run::Mark {
                code: code.as_str().to_string(),
                label: label.as_ref().map(|l| format!("{code}: {l}")),
                // A long span (a sentence) keeps a box of at most a line's width.
                width_of: "n".repeat((*chars).min(48)),
                id: *decision,
            },
        })
        .collect()
}

/// Plain text of redacted text for bookmarks and index lines: marks become their label or code.
pub fn outline_text(t: &RText) -> String {
    let mut o = String::new();
    for s in &t.0 {
        match s {
            Seg::Text(x) => o.push_str(x),
            Seg::Mark { label: Some(l), .. } => o.push_str(&format!("[{l}]")),
            Seg::Mark { code, .. } => o.push_str(&format!("[{code}]")),
        }
    }
    o.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn rec_anchor(r: &RecordId) -> String {
    format!("rec:{r}")
}
fn att_anchor(a: &AttachmentId) -> String {
    format!("att:{a}")
}

/// The bundle's render model, made while the family is at hand (names for the letter or the
/// front sheet); [`finish`] numbers and renders it, and needs no more than the plan and policy.
pub struct Prepared {
    doc: Doc,
    file: Arc<RedactedFile>,
    /// The index of the schedule's part, filled in by `finish` once the pages are known.
    schedule_at: usize,
}

/// Make the render model of the bundle; the schedule is left empty until the pages are known.
pub fn prepare(inp: &BundleInput<'_>) -> Prepared {
    let (doc, schedule_at) = doc(inp);
    Prepared { doc, file: inp.file.clone(), schedule_at }
}

/// Number the pages (one layout pass), fill the schedule's page column and render. Only the
/// schedule changes with the page numbers, and it comes after every record and document, so
/// their pages do not move.
pub fn finish(mut p: Prepared, plan: &Plan, held: &[HeldPage], policy: &Policy) -> Result<Bundle, render::RenderError> {
    let placed = render::placements(&p.doc)?;
    let anchors: HashMap<String, String> = placed.anchors.into_iter().collect();
    p.doc.parts[p.schedule_at].content =
        PartContent::Flow(schedule(plan, held, policy, &p.file, &anchors, &placed.marks));
    let out = render::render(&p.doc)?;
    Ok(Bundle {
        bytes: out.bytes,
        pages: out.pages,
        anchors: out.anchors.into_iter().collect(),
        marks: out.marks,
        warnings: out.warnings,
    })
}

/// Build and render the bundle in one go.
pub fn build(inp: &BundleInput<'_>) -> Result<Bundle, render::RenderError> {
    finish(prepare(inp), inp.plan, inp.held_pages, inp.policy)
}

/// Whether an attachment's redacted pages can be placed in a bundle: render them alone first, so
/// that one odd file is withheld (and reported) instead of failing the whole export.
pub fn check_foreign(ap: &AttachmentPages) -> Result<(), String> {
    let pages: Vec<render::ForeignPage> = ap
        .pages
        .iter()
        .map(|(_, p)| render::ForeignPage {
            doc: ap.doc.clone(),
            page: *p,
            anchor: None,
            outline: None,
            overlays: Vec::new(),
            ink: Default::default(),
        })
        .collect();
    if pages.is_empty() {
        return Ok(());
    }
    let doc = Doc {
        title: String::new(),
        author: String::new(),
        subject: String::new(),
        date: render::Date { y: 2000, m: 1, d: 1, h: 0, mi: 0, s: 0 },
        id_seed: [0; 32],
        lang: "en-GB".into(),
        parts: vec![RPart { label: LabelStyle::Arabic, outline: None, content: PartContent::Foreign(pages) }],
        draft: false,
        code_words: Vec::new(),
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render::render(&doc))) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the page could not be copied into the bundle".into()),
    }
}

/// The page label where a plan location appears, from the anchors of a rendered bundle.
pub fn page_of(anchors: &HashMap<String, String>, loc: &Location) -> String {
    if let (Some(a), Part::AttachmentPage { page }) = (loc.attachment_id(), loc.part()) {
        if let Some(p) = anchors.get(&format!("{}:p{}", att_anchor(a), page)) {
            return p.clone();
        }
    }
    if let Some(a) = loc.attachment_id() {
        if let Some(p) = anchors.get(&att_anchor(a)) {
            return p.clone();
        }
    }
    loc.record_id().and_then(|r| anchors.get(&rec_anchor(r))).cloned().unwrap_or_default()
}

fn doc(inp: &BundleInput<'_>) -> (Doc, usize) {
    let court = inp.policy.audience == Audience::Court;
    let req = &inp.plan.request;
    let date = Date::parse(&req.date).unwrap_or(Date { year: 1970, month: 1, day: 1 });
    let words = Words::of(inp);
    let title = match inp.policy.audience {
        Audience::SelfSubject => format!("Your records: subject access request of {}", date.uk()),
        Audience::ParentWithPr => format!("Records of {}: request of {}", inp.file.subject_name, date.uk()),
        Audience::Court => format!("Court bundle: records of {}, {}", inp.file.subject_name, date.uk()),
    };
    let mut parts = Vec::new();
    let label_for = |letter: char| if court { LabelStyle::Court { letter } } else { LabelStyle::Arabic };
    // 1. Cover letter or front sheet, and the index.
    let mut front = if court { front_sheet(inp) } else { cover_letter(inp) };
    front.push(Block::PageBreak);
    front.extend(index(inp, court));
    parts.push(RPart {
        label: label_for('A'),
        outline: Some(if court { "Front sheet and index".into() } else { "Letter and index".into() }),
        content: PartContent::Flow(front),
    });
    // 2. Records (and their documents in place). Their blocks are made on demand, piece by
    // piece, each time the bundle is laid out: the file's text is held once, in the redacted file.
    let indices: Vec<usize> = (0..inp.file.entries.len()).collect();
    let groups: Vec<(char, Vec<usize>)> = if court {
        COURT_SECTIONS
            .iter()
            .map(|(l, _)| {
                (*l, indices.iter().copied().filter(|&i| entry_section(&inp.file.entries[i]) == *l).collect::<Vec<_>>())
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    } else {
        vec![('A', indices)]
    };
    for (letter, group) in groups {
        let section_title = if court {
            COURT_SECTIONS.iter().find(|(l, _)| *l == letter).map(|(l, t)| format!("{l}. {t}")).unwrap_or_default()
        } else {
            words.records.clone()
        };
        let mut pieces: Vec<Piece> = Vec::new();
        let mut first_part = true;
        let flush = |pieces: &mut Vec<Piece>, parts: &mut Vec<RPart>, first: &mut bool| {
            if !pieces.is_empty() {
                let outline = if *first { Some(section_title.clone()) } else { None };
                let (file, pieces) = (inp.file.clone(), Arc::new(std::mem::take(pieces)));
                parts.push(RPart {
                    label: label_for(letter),
                    outline,
                    content: PartContent::Chunks(render::Chunks {
                        count: pieces.len(),
                        make: Arc::new(move |i| piece_blocks(&file, &pieces[i])),
                    }),
                });
                *first = false;
            }
        };
        if court {
            pieces.push(Piece::Heading(section_title.clone()));
        }
        for entry in group {
            // A record with its documents beside it, or a document on its own.
            let (docs, level): (Vec<Option<usize>>, u8) = match &inp.file.entries[entry] {
                REntry::Record(r) => {
                    pieces.push(Piece::Record(entry));
                    ((0..r.attachments.len()).map(Some).collect(), 2)
                }
                REntry::Attachment(_) => (vec![None], 1),
            };
            for att in docs {
                pieces.push(Piece::Document { entry, att, level });
                let a = match (&inp.file.entries[entry], att) {
                    (REntry::Record(r), Some(k)) => &r.attachments[k],
                    (REntry::Attachment(a), _) => a,
                    (REntry::Record(_), None) => continue,
                };
                if let Some(pages) = foreign(inp, a) {
                    flush(&mut pieces, &mut parts, &mut first_part);
                    parts.push(RPart { label: label_for(letter), outline: None, content: PartContent::Foreign(pages) });
                }
            }
        }
        flush(&mut pieces, &mut parts, &mut first_part);
    }
    // 3. Schedule of redactions and glossary.
    let last = if court { 'F' } else { 'A' };
    let schedule_at = parts.len();
    parts.push(RPart {
        label: label_for(last),
        outline: Some("Schedule of redactions".into()),
        content: PartContent::Flow(Vec::new()),
    });
    parts.push(RPart {
        label: label_for(last),
        outline: Some("Glossary".into()),
        content: PartContent::Flow(glossary(inp)),
    });
    // A deterministic id from the content that matters: request, policy and plan.
    let mut h = Sha256::new();
    // Streamed into the hash: the plan of a large file is never held as one JSON string.
    let _ = serde_json::to_writer(HashWriter(&mut h), inp.plan);
    h.update(inp.policy.sha256.as_bytes());
    let id_seed: [u8; 32] = h.finalize().into();
    let doc = Doc {
        title,
        author: inp.file.council.clone(),
        subject: format!("Disclosure under policy {}", inp.policy.name),
        date: render::Date { y: date.year as u16, m: date.month, d: date.day, h: 12, mi: 0, s: 0 },
        id_seed,
        lang: "en-GB".into(),
        parts,
        draft: !inp.plan.status.is_final(),
        code_words: Reason::ALL.iter().map(|c| (c.to_string(), inp.policy.words(*c).to_string())).collect(),
    };
    (doc, schedule_at)
}

/// How the bundle speaks, by audience: to the subject about their own records, to a parent about
/// a named child, or to a party in proceedings.
struct Words {
    /// The records' part: heading and bookmark.
    records: String,
}

impl Words {
    fn of(inp: &BundleInput<'_>) -> Words {
        let records = match inp.policy.audience {
            Audience::SelfSubject => "Your records".to_string(),
            Audience::ParentWithPr | Audience::Court => format!("Records of {}", inp.file.subject_name),
        };
        Words { records }
    }
}

/// Bytes written into a hash.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A piece of the records' part of the bundle, made into blocks on demand.
enum Piece {
    /// A court section's heading.
    Heading(String),
    /// A record (by index in the redacted file's entries).
    Record(usize),
    /// A document's heading and notes: one of a record's documents, or a document on its own.
    Document { entry: usize, att: Option<usize>, level: u8 },
}

fn piece_blocks(file: &RedactedFile, piece: &Piece) -> Vec<Block> {
    let mut b = Vec::new();
    match piece {
        Piece::Heading(title) => {
            b.push(Block::Heading { level: 1, text: vec![Run::Text(title.clone())], anchor: None, outline: None })
        }
        Piece::Record(i) => {
            if let Some(REntry::Record(r)) = file.entries.get(*i) {
                record_blocks(r, &mut b);
            }
        }
        Piece::Document { entry, att, level } => match (file.entries.get(*entry), att) {
            (Some(REntry::Record(r)), Some(k)) => {
                if let Some(a) = r.attachments.get(*k) {
                    attachment_blocks(a, &mut b, *level);
                }
            }
            (Some(REntry::Attachment(a)), _) => attachment_blocks(a, &mut b, *level),
            _ => {}
        },
    }
    b
}

fn entry_section(e: &REntry) -> char {
    match e {
        REntry::Record(r) => court_section(&r.record_type),
        REntry::Attachment(_) => 'F',
    }
}

fn foreign(inp: &BundleInput<'_>, a: &RAttachment) -> Option<Vec<render::ForeignPage>> {
    if a.withheld.is_some() {
        return None;
    }
    let ap = inp.attachments.get(&a.id)?;
    let title = outline_text(&a.title);
    if ap.pages.is_empty() {
        return None;
    }
    Some(
        ap.pages
            .iter()
            .enumerate()
            .map(|(k, (i, p))| render::ForeignPage {
                doc: ap.doc.clone(),
                page: *p,
                // The first page shown carries the document's anchor (the index points at it).
                anchor: Some(if k == 0 { att_anchor(&a.id) } else { format!("{}:p{}", att_anchor(&a.id), i) }),
                outline: Some(format!("{title}, page {}", i + 1)),
                overlays: ap.boxes.iter().filter(|b| b.page == *i).map(|b| (b.rect, b.label.clone(), b.line)).collect(),
                ink: ap.ink.get(*i).cloned().unwrap_or_default(),
            })
            .collect(),
    )
}

fn t(s: &str) -> Run {
    Run::Text(s.to_string())
}

fn para(s: &str) -> Block {
    Block::Para { runs: vec![t(s)] }
}

fn cover_letter(inp: &BundleInput<'_>) -> Vec<Block> {
    let plan = inp.plan;
    let pol = inp.policy;
    let fam = inp.family;
    let ig = &inp.council.information_governance;
    let requester = plan.request.requester.person().and_then(|p| fam.person(p));
    let subject = fam.person(&plan.request.subject);
    let child_given = subject.map(|p| p.given_name()).unwrap_or_else(|| inp.file.subject_name.clone());
    let dear = match pol.audience {
        Audience::SelfSubject => requester.map(|p| p.given_name()).unwrap_or_default(),
        _ => requester.map(|p| p.display_name()).unwrap_or_default(),
    };
    let n_rec = inp.file.entries.iter().filter(|e| matches!(e, REntry::Record(_))).count();
    let n_doc: usize = inp
        .file
        .entries
        .iter()
        .map(|e| match e {
            REntry::Record(r) => r.attachments.len(),
            REntry::Attachment(_) => 1,
        })
        .sum();
    let council = &inp.file.council;
    let self_ = pol.audience == Audience::SelfSubject;
    let mut b = draft_note(plan);
    b.push(Block::Heading {
        level: 1,
        text: vec![t(&if self_ {
            "Your records".to_string()
        } else {
            format!("Records of {}", inp.file.subject_name)
        })],
        anchor: None,
        outline: None,
    });
    b.push(Block::Meta { pairs: letter_head(inp) });
    b.push(para(&format!("Dear {dear},")));
    if self_ {
        b.push(para(&format!(
            "You asked to see the records {council} holds about you. This bundle is our answer. It holds {} and {} from your file, in the order things happened, with an index after this letter.",
            plural(n_rec, "record"),
            plural(n_doc, "document")
        )));
        b.push(para("Reading these records may bring back difficult memories. Take your time, and ask someone you trust to be with you if that helps; we are happy to go through them with you."));
    } else {
        b.push(para(&format!(
            "You asked, as a parent with parental responsibility for {child}, to see the records {council} holds about {child}. This bundle is our answer. It is {child_given}'s file, not yours: it holds {} and {} about {child_given}, in the order things happened, with an index after this letter.",
            plural(n_rec, "record"),
            plural(n_doc, "document"),
            child = inp.file.subject_name,
        )));
        b.push(para(&format!(
            "These records are about {child_given}'s life and some of what they say may be upsetting to read. They belong to {child_given}: please think about whether, when and how to share them with {child_given}, and ask us if you would like help with that."
        )));
    }
    let owner = if self_ { "your" } else { "the child's" };
    b.push(para(&format!("Some words have been taken out, and a few parts held back, only where the law says we must: mostly because the words are about other people, who have a right to privacy too, or because sharing them could put someone at risk. Where words were taken out you will see a dark box with a short code, and sometimes who the words were about, such as [{owner} brother]. Where a part was held back a grey box says what kind of thing it was and why.")));
    let used: BTreeSet<Reason> = plan.counts().keys().copied().collect();
    if !used.is_empty() {
        b.push(Block::Heading { level: 2, text: vec![t("What the codes mean")], anchor: None, outline: None });
        let pairs = used.iter().map(|c| (c.to_string(), vec![t(pol.words(*c))])).collect();
        b.push(Block::Meta { pairs });
        b.push(para("The schedule at the end lists, record by record, what was taken out or held back and why, never the words themselves."));
    }
    if !plan.review.is_empty() {
        let n = plan.review.len();
        let one = n == 1;
        b.push(para(&format!(
            "{} still need{} a worker to check {} before {} can be shared. {} marked REV. We will write to you again about {}.",
            plural(n, "item"),
            if one { "s" } else { "" },
            if one { "it" } else { "them" },
            if one { "it" } else { "they" },
            if one { "It is" } else { "They are" },
            if one { "it" } else { "them" },
        )));
    }
    if let Some(seal) = &inp.seal {
        b.push(Block::Heading {
            level: 2,
            text: vec![t("How to tell this bundle is genuine")],
            anchor: None,
            outline: None,
        });
        b.push(para(&format!(
            "This bundle carries a digital seal: a signature that {council} added when it released the bundle. The seal shows that the bundle comes from us and that nothing in it has been changed since."
        )));
        b.push(para(&format!(
            "To check it, open the bundle in a PDF reader that shows signatures, such as Adobe Acrobat Reader, and open its signature panel (in Acrobat, the pen icon on the left, or the blue bar at the top). It should say the signature is valid and was made by {}. If it says the document was changed after it was signed, or that the signature is not valid, please tell us. If it says only that the signer's identity is unknown, your reader does not know our certificate yet: you can ask us to confirm that its fingerprint begins {}.",
            seal.signer, seal.fingerprint
        )));
    }
    b.push(Block::Heading { level: 2, text: vec![t("How to contact us")], anchor: None, outline: None });
    b.push(para(&format!(
        "If you think we have taken out something we should not have, or you want to know more about why, contact the {} and tell us which page{}. We will look again and reply within {} days.",
        ig.team,
        inp.letter.reference.as_ref().map(|r| format!(" and our reference, {r}")).unwrap_or_default(),
        ig.review_days
    )));
    b.push(Block::Meta {
        pairs: vec![
            ("Write to".into(), vec![t(&ig.address.join("\n"))]),
            ("Email".into(), vec![t(&ig.email)]),
            ("Phone".into(), vec![t(&ig.phone)]),
        ],
    });
    let c = &inp.council.complaints;
    b.push(para(&format!(
        "If you are still unhappy, you can complain to {}, the independent body that upholds information rights: {} or {}.",
        c.body, c.website, c.phone
    )));
    b.push(para(&format!("Yours sincerely,\n{}, {council}", ig.team)));
    b
}

/// "1 record", "3 records".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The letter's head: reference, dates and sender.
fn letter_head(inp: &BundleInput<'_>) -> Vec<(String, Vec<Run>)> {
    let uk = |d: &str| Date::parse(d).map(|d| d.uk()).unwrap_or_else(|| d.to_string());
    let mut pairs = Vec::new();
    if let Some(r) = &inp.letter.reference {
        pairs.push(("Our reference".to_string(), vec![t(r)]));
    }
    pairs.push(("Request received".into(), vec![t(&uk(&inp.letter.received))]));
    pairs.push((
        "Date of this response".into(),
        vec![t(&inp.letter.response.as_deref().map(uk).unwrap_or_else(|| "not yet sent (draft)".into()))],
    ));
    pairs.push(("From".into(), vec![t(&format!("{}, {}", inp.council.information_governance.team, inp.file.council))]));
    pairs
}

/// On a draft, the first thing the cover says: it is not for release.
fn draft_note(plan: &Plan) -> Vec<Block> {
    if plan.status.is_final() {
        return Vec::new();
    }
    vec![Block::Placeholder {
        code: "DRAFT".into(),
        text: "This bundle is a draft for the council's reviewers to check. It is not for release: it has not been approved, and it must not be sent.".into(),
        mark: None,
    }]
}

fn front_sheet(inp: &BundleInput<'_>) -> Vec<Block> {
    let fam = inp.family;
    let plan = inp.plan;
    let mut parties = Vec::new();
    parties.push(("Child".to_string(), vec![t(&inp.file.subject_name)]));
    for r in
        fam.relationships.iter().filter(|r| r.person == plan.request.subject && r.parental_responsibility == Some(true))
    {
        if let Some(p) = fam.person(&r.related) {
            parties.push(("Parent with PR".into(), vec![t(&p.display_name())]));
        }
    }
    // Served on the party who asked: never on the child (the request check refuses that too).
    let served = match &plan.request.requester {
        Party::Person(p) if p == &plan.request.subject => None,
        Party::Person(p) => fam.person(p).map(|p| p.display_name()),
        Party::Organisation(o) => fam.organisation(o).map(|o| o.name.clone()),
    };
    if let Some(name) = served {
        parties.push(("Served on".into(), vec![t(&name)]));
    }
    let mut head = letter_head(inp);
    head.insert(0, ("Local authority".into(), vec![t(&inp.file.council)]));
    head.push(("Export".into(), vec![t(plan.request.export.as_str())]));
    let ig = &inp.council.information_governance;
    let mut b = draft_note(plan);
    b.extend([
        Block::Heading { level: 1, text: vec![t("Court bundle")], anchor: None, outline: None },
        Block::Meta { pairs: head },
        Block::Heading { level: 2, text: vec![t("Parties")], anchor: None, outline: None },
        Block::Meta { pairs: parties },
        para("Sections follow FPR PD27A: A preliminary documents, B applications and orders, C statements, D care plans, E experts' reports, F other documents. Pages are numbered by section (A1, B1, ...). Confidential addresses and contact details are withheld under FPR 29.1; legal advice under legal professional privilege; the identity of people who gave information is withheld. The schedule at the end lists every redaction, record by record."),
        Block::Heading { level: 2, text: vec![t("Contact")], anchor: None, outline: None },
        Block::Meta {
            pairs: vec![
                ("Prepared by".into(), vec![t(&format!("{}, {}", ig.team, inp.file.council))]),
                ("Address".into(), vec![t(&ig.address.join("\n"))]),
                ("Email".into(), vec![t(&ig.email)]),
                ("Phone".into(), vec![t(&ig.phone)]),
            ],
        },
    ]);
    if let Some(seal) = &inp.seal {
        b.push(Block::Heading { level: 2, text: vec![t("Seal")], anchor: None, outline: None });
        b.push(para(&format!(
            "The bundle carries a digital signature by {} ({}), added when it was released: it shows the bundle comes from the local authority and has not been changed since. A PDF reader that shows signatures (such as Adobe Acrobat Reader, in its signature panel) reports whether it is valid; the certificate's SHA-256 fingerprint begins {}.",
            seal.signer, inp.file.council, seal.fingerprint
        )));
    }
    b
}

fn index(inp: &BundleInput<'_>, court: bool) -> Vec<Block> {
    let mut b = vec![Block::Heading { level: 1, text: vec![t("Index")], anchor: None, outline: None }];
    let mut entries: Vec<(char, Block)> = Vec::new();
    for e in &inp.file.entries {
        match e {
            REntry::Record(r) => {
                let sec = court_section(&r.record_type);
                let mut runs = runs(&r.title);
                runs.insert(0, t(&format!("{} · ", r.kind)));
                entries.push((
                    sec,
                    Block::IndexEntry {
                        runs,
                        date: r.date.get(0..10).unwrap_or("").to_string(),
                        target: rec_anchor(&r.id),
                    },
                ));
                for a in &r.attachments {
                    let mut runs = super::bundle::runs(&a.title);
                    runs.insert(0, t("    Document · "));
                    entries.push((
                        sec,
                        Block::IndexEntry { runs, date: uk(a.date.as_deref()), target: att_anchor(&a.id) },
                    ));
                }
            }
            REntry::Attachment(a) => {
                let mut runs = super::bundle::runs(&a.title);
                runs.insert(0, t("Document · "));
                entries.push(('F', Block::IndexEntry { runs, date: uk(a.date.as_deref()), target: att_anchor(&a.id) }));
            }
        }
    }
    if court {
        for (l, name) in COURT_SECTIONS {
            let these: Vec<Block> = entries.iter().filter(|(s, _)| s == l).map(|(_, b)| b.clone()).collect();
            if these.is_empty() {
                continue;
            }
            b.push(Block::Heading { level: 2, text: vec![t(&format!("{l}. {name}"))], anchor: None, outline: None });
            b.extend(these);
        }
    } else {
        b.extend(entries.into_iter().map(|e| e.1));
    }
    b
}

fn uk(d: Option<&str>) -> String {
    d.and_then(Date::parse).map(|d| d.uk()).unwrap_or_else(|| "undated".into())
}

fn record_blocks(r: &RRecord, b: &mut Vec<Block>) {
    let mut head = vec![t(&format!("{} · ", r.date.get(0..10).unwrap_or("")))];
    head.extend(runs(&r.title));
    let outline = format!("{} {}", r.date.get(0..10).unwrap_or(""), outline_text(&r.title));
    b.push(Block::Heading { level: 1, text: head, anchor: Some(rec_anchor(&r.id)), outline: Some(outline) });
    if let Some(p) = &r.withheld {
        b.push(Block::Placeholder { text: p.text.clone(), code: p.code.to_string(), mark: p.decision });
        return;
    }
    let mut pairs = vec![
        ("Date".to_string(), vec![t(&r.date)]),
        ("Type".to_string(), vec![t(&r.kind)]),
        ("Written by".to_string(), runs(&r.author)),
        ("About".to_string(), runs(&r.concerns)),
    ];
    if let Some(p) = &r.presence {
        pairs.push(("Seen".into(), vec![t(p)]));
    }
    b.push(Block::Meta { pairs });
    if !r.participants.is_empty() {
        let mut rs = vec![Run::Bold("Who took part: ".into())];
        for (i, p) in r.participants.iter().enumerate() {
            if i > 0 {
                rs.push(t("; "));
            }
            rs.extend(runs(p));
        }
        b.push(Block::Para { runs: rs });
    }
    for s in &r.sections {
        if let Some(p) = &s.withheld {
            b.push(Block::Placeholder { text: p.text.clone(), code: p.code.to_string(), mark: p.decision });
            continue;
        }
        if let Some(h) = &s.heading {
            b.push(Block::Heading { level: 3, text: runs(h), anchor: None, outline: None });
        }
        if !s.fields.is_empty() {
            b.push(Block::Meta { pairs: s.fields.iter().map(|(k, v)| (capitalise(k), runs(v))).collect() });
        }
        if !s.body.is_empty() {
            b.push(Block::Para { runs: runs(&s.body) });
        }
    }
    for (at, by, text) in &r.appendments {
        let mut rs = vec![Run::Bold(format!("Added {at} by {by}: "))];
        rs.extend(runs(text));
        b.push(Block::Para { runs: rs });
    }
    if !r.links.is_empty() {
        b.push(Block::Heading { level: 3, text: vec![t("Related records")], anchor: None, outline: None });
        for l in &r.links {
            let mut rs = vec![t("• ")];
            rs.extend(runs(l));
            b.push(Block::Para { runs: rs });
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn attachment_blocks(a: &RAttachment, b: &mut Vec<Block>, level: u8) {
    let mut head = vec![t("Document: ")];
    head.extend(runs(&a.title));
    // The document's anchor sits on its first shown page; when no page is shown, on this heading.
    let shown = a.withheld.is_none() && a.pages.iter().any(|p| p.withheld.is_none());
    b.push(Block::Heading {
        level,
        text: head,
        anchor: if shown { None } else { Some(att_anchor(&a.id)) },
        outline: Some(format!("Document: {}", outline_text(&a.title))),
    });
    b.push(Block::Meta {
        pairs: vec![("Dated".into(), vec![t(&uk(a.date.as_deref()))]), ("From".into(), runs(&a.author))],
    });
    if let Some(p) = &a.withheld {
        b.push(Block::Placeholder { text: p.text.clone(), code: p.code.to_string(), mark: p.decision });
        return;
    }
    if shown {
        b.push(para("The pages of this document follow, with anything taken out marked in the same way."));
    }
    for p in &a.pages {
        if let Some(w) = &p.withheld {
            b.push(Block::Placeholder { text: w.text.clone(), code: w.code.to_string(), mark: w.decision });
        }
    }
}

/// A page label's sort key: its letter (court bundles) and its number.
fn label_key(l: &str) -> (String, u64) {
    let split = l.find(|c: char| c.is_ascii_digit()).unwrap_or(l.len());
    (l[..split].to_string(), l[split..].parse().unwrap_or(0))
}

/// Page labels as short ranges: "3", "3-4", "3-5, 9", "C2-C3".
fn page_ranges(labels: &BTreeSet<(String, u64)>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(&str, u64, u64)> = None;
    let show = |(p, a, b): (&str, u64, u64)| if a == b { format!("{p}{a}") } else { format!("{p}{a}-{p}{b}") };
    for (p, n) in labels {
        run = match run {
            Some((rp, a, b)) if rp == p && b + 1 == *n => Some((rp, a, *n)),
            Some(r) => {
                out.push(show(r));
                Some((p.as_str(), *n, *n))
            }
            None => Some((p.as_str(), *n, *n)),
        };
    }
    if let Some(r) = run {
        out.push(show(r));
    }
    out.join(", ")
}

/// The printed schedule, grouped: one row per record or document, with the pages where its marks
/// are, and how many of each code were taken out or held back. schedule.csv keeps every mark.
fn schedule(
    plan: &Plan,
    held: &[HeldPage],
    pol: &Policy,
    file: &RedactedFile,
    anchors: &HashMap<String, String>,
    marks: &BTreeMap<u32, Vec<String>>,
) -> Vec<Block> {
    // Who decided each item: the reviewer who did, else the policy (and who signed it off).
    let decided = |by: Option<&str>| -> String {
        match (by, &plan.status) {
            (Some(b), _) => b.to_string(),
            (None, crate::review::Status::Approved { by, .. }) => format!("policy; approved by {by}"),
            (None, crate::review::Status::Unreviewed { by, .. }) => format!("policy; released unreviewed by {by}"),
            (None, crate::review::Status::Draft) => "policy (not yet reviewed)".into(),
        }
    };
    // What a group is: the record or the document a mark belongs to.
    #[derive(Default)]
    struct Group {
        pages: BTreeSet<(String, u64)>,
        /// (held back?, code) -> count
        codes: BTreeMap<(bool, Reason), usize>,
        deciders: BTreeSet<String>,
    }
    let key = |loc: &Location| -> String {
        match (loc.attachment_id(), loc.record_id()) {
            (Some(a), _) => att_anchor(a),
            (None, Some(r)) => rec_anchor(r),
            _ => String::new(),
        }
    };
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut all_deciders: BTreeSet<String> = BTreeSet::new();
    let mut add = |loc: &Location, id: u32, code: Reason, held_back: bool, by: String| {
        let g = groups.entry(key(loc)).or_default();
        let page = pages_of(marks, anchors, id, loc);
        if let Some(ls) = marks.get(&id) {
            g.pages.extend(ls.iter().map(|l| label_key(l)));
        } else if !page.is_empty() {
            g.pages.insert(label_key(&page));
        }
        *g.codes.entry((held_back, code)).or_insert(0) += 1;
        all_deciders.insert(by.clone());
        g.deciders.insert(by);
    };
    for (i, d) in plan.scheduled() {
        let code = d.reason.unwrap_or(Reason::REV);
        add(&d.location, i, code, d.action != Action::Redact, decided(d.decided_by.as_deref()));
    }
    for h in held {
        add(&h.location, h.id, Reason::REV, true, "check after redaction".into());
    }
    let share: HashMap<&RecordId, f64> =
        plan.narrative.iter().filter(|n| n.removed > 0).map(|n| (&n.record, n.percent)).collect();
    // Groups in the order of the file: each record, then its documents; documents on their own.
    let mut order: Vec<(String, String, Option<&RecordId>)> = Vec::new();
    let doc_title = |a: &RAttachment| format!("Document: {}", outline_text(&a.title));
    for e in &file.entries {
        match e {
            REntry::Record(r) => {
                order.push((
                    rec_anchor(&r.id),
                    format!("{}, {}", outline_text(&r.title), r.date.get(0..10).unwrap_or("")),
                    Some(&r.id),
                ));
                for a in &r.attachments {
                    order.push((att_anchor(&a.id), doc_title(a), None));
                }
            }
            REntry::Attachment(a) => order.push((att_anchor(&a.id), doc_title(a), None)),
        }
    }
    let one_decider = all_deciders.len() <= 1;
    let mut rows = Vec::new();
    for (k, title, rec) in &order {
        let pct = rec.and_then(|r| share.get(r)).copied();
        let Some(g) = groups.remove(k) else {
            continue;
        };
        let what: Vec<String> = g
            .codes
            .iter()
            .map(|((held_back, code), n)| format!("{n} \u{d7} {code}{}", if *held_back { " held back" } else { "" }))
            .collect();
        let mut row = vec![
            title.clone(),
            if g.pages.is_empty() { "\u{2014}".into() } else { page_ranges(&g.pages) },
            what.join(", "),
            pct.map(|p| format!("{p:.0}%")).unwrap_or_default(),
        ];
        if !one_decider {
            row.push(g.deciders.into_iter().collect::<Vec<_>>().join("; "));
        }
        rows.push(row);
    }
    // Marks whose record or document is not in the file's order (none are expected) still count.
    let mut rest: Vec<(String, Group)> = groups.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, g) in rest {
        let what: Vec<String> = g.codes.iter().map(|((_, code), n)| format!("{n} \u{d7} {code}")).collect();
        let mut row = vec!["Other".to_string(), page_ranges(&g.pages), what.join(", "), String::new()];
        if !one_decider {
            row.push(g.deciders.into_iter().collect::<Vec<_>>().join("; "));
        }
        rows.push(row);
    }
    let mut b = vec![
        Block::Heading { level: 1, text: vec![t("Schedule of redactions")], anchor: None, outline: None },
        para("Record by record, where words were taken out or a part was held back, how many times, and why. The removed words are never shown. The last column is the share of the child's own account taken out of that record."),
    ];
    // The codes once, with their plain words and the law behind them; the rows give codes only.
    let mut used: BTreeSet<Reason> = plan.counts().keys().copied().collect();
    if !held.is_empty() {
        used.insert(Reason::REV);
    }
    if !used.is_empty() {
        b.push(Block::Meta {
            pairs: used
                .iter()
                .map(|c| (c.to_string(), vec![t(&format!("{} (the law: {})", pol.words(*c), pol.basis(*c)))]))
                .collect(),
        });
    }
    if let (true, Some(by)) = (one_decider, all_deciders.iter().next()) {
        b.push(Block::Meta { pairs: vec![("Decided by".into(), vec![t(by)])] });
    }
    if rows.is_empty() {
        b.push(para("Nothing was taken out."));
    } else {
        let mut header: Vec<String> =
            vec!["Record or document".into(), "Pages".into(), "Taken out (codes above)".into(), "Share".into()];
        let mut widths = vec![0.5, 0.14, 0.28, 0.08];
        if !one_decider {
            header.push("Decided by".into());
            widths = vec![0.38, 0.12, 0.25, 0.07, 0.18];
        }
        b.push(Block::Table { header, rows, widths });
    }
    b.push(para(&format!(
        "Share of the child's own account taken out across the file: {:.1}%. The council keeps a list of every single mark with the rule applied (schedule.csv), and will share it on request.",
        plan.narrative_removed_percent
    )));
    b
}

/// Social-care terms and abbreviations, in plain words.
const GLOSSARY: &[(&str, &str)] = &[
    ("CIN", "Child in need: a child who needs extra help from services to be safe and well."),
    ("Child in need", "A child who needs extra help from services to be safe and well."),
    ("CP", "Child protection: work to keep a child safe from significant harm."),
    ("CLA", "Child looked after: a child in the care of the council."),
    ("LAC", "Looked-after child: a child in the care of the council."),
    ("ICPC", "Initial child protection conference: the first meeting where professionals and the family decide whether a child protection plan is needed."),
    ("RCPC", "Review child protection conference: a meeting to check how a child protection plan is going."),
    ("S47", "Section 47 enquiry: the council's check, under the Children Act 1989, when it thinks a child may be at risk of significant harm."),
    ("Section 47", "The council's check, under the Children Act 1989, when it thinks a child may be at risk of significant harm."),
    ("Strategy discussion", "A meeting of social care, police and other professionals to decide what to do when a child may be at risk."),
    ("IRO", "Independent reviewing officer: checks the care plan of a child looked after."),
    ("Looked-after", "In the care of the council."),
    ("PLO", "Public Law Outline: the steps a council takes before and during care proceedings."),
    ("MARAC", "Multi-agency risk assessment conference: a meeting about people at high risk of domestic abuse."),
    ("DSL", "Designated safeguarding lead: the member of school staff responsible for keeping children safe."),
    ("DASH", "A checklist used by police and others to judge the risk of domestic abuse."),
    ("Core group", "The group of professionals and family members who carry out a child protection plan."),
    ("Early Help", "Support offered early, before problems get worse."),
    ("TAF", "Team around the family: professionals working together with a family."),
    ("PEP", "Personal education plan: a plan for the education of a child looked after."),
    ("SGO", "Special guardianship order: a court order that makes someone a child's special guardian."),
    ("MASH", "Multi-agency safeguarding hub: where agencies share information about concerns for a child."),
    ("NFA", "No further action."),
    ("EMO", "Emotional abuse (a category of child protection plan)."),
    ("Legal gateway", "A meeting with the council's lawyers to decide whether legal steps are needed."),
    ("Pathway plan", "The plan for a young person leaving care."),
    ("Personal advisor", "The worker who supports a young person leaving care."),
    ("Care leaver", "A young person who has been in the care of the council."),
    ("GP", "General practitioner: a family doctor."),
    ("Health visitor", "A nurse who supports families with young children."),
    ("NHS number", "A number that identifies a person in the health service."),
    ("UPN", "Unique pupil number: a number that identifies a child at school."),
    ("Refuge", "A safe place to stay for people escaping domestic abuse."),
    ("Supervision", "A meeting where a social worker talks through their work with their manager."),
    ("Chronology", "A list of important events in date order."),
];

fn glossary(inp: &BundleInput<'_>) -> Vec<Block> {
    // Which terms appear, record by record (a whole file's text is never gathered in one string).
    let mut found = vec![false; GLOSSARY.len()];
    let mut text = String::new();
    for e in &inp.file.entries {
        text.clear();
        match e {
            REntry::Record(r) => {
                text.push_str(&format!("{} {} {} ", r.kind, outline_text(&r.title), outline_text(&r.author)));
                for s in &r.sections {
                    if let Some(h) = &s.heading {
                        text.push_str(&outline_text(h));
                    }
                    text.push(' ');
                    text.push_str(&outline_text(&s.body));
                    text.push(' ');
                    for (k, v) in &s.fields {
                        text.push_str(&format!("{k} {} ", outline_text(v)));
                    }
                }
                for a in &r.attachments {
                    text.push_str(&outline_text(&a.title));
                    for p in a.pages.iter().filter_map(|p| p.text.as_ref()) {
                        text.push(' ');
                        text.push_str(&outline_text(p));
                    }
                }
            }
            REntry::Attachment(a) => text.push_str(&outline_text(&a.title)),
        }
        let lower = text.to_lowercase();
        for (i, (term, _)) in GLOSSARY.iter().enumerate() {
            if found[i] {
                continue;
            }
            found[i] = if term.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                // Abbreviations: whole word, in capitals.
                text.split(|c: char| !c.is_alphanumeric()).any(|w| w == *term)
            } else {
                lower.contains(&term.to_lowercase())
            };
        }
    }
    let mut pairs: Vec<(String, String)> = GLOSSARY
        .iter()
        .zip(&found)
        .filter(|(_, f)| **f)
        .map(|((term, words), _)| (term.to_string(), words.to_string()))
        .collect();
    for c in inp.plan.counts().keys() {
        pairs.push((c.to_string(), format!("A code on a mark: {}.", inp.policy.words(*c))));
    }
    let mut b = vec![
        Block::Heading { level: 1, text: vec![t("Glossary")], anchor: None, outline: None },
        para("Words and short forms used in these records, in plain words."),
    ];
    if pairs.is_empty() {
        b.push(para("No special terms appear in this bundle."));
    }
    for (term, words) in pairs {
        b.push(Block::Para { runs: vec![Run::Bold(format!("{term}: ")), t(&words)] });
    }
    b
}
