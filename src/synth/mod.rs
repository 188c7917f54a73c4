//! Synthetic families for benches and load tests: many records, group records with per-child
//! sections, references across files, third parties in the text, and multi-page attachment PDFs.
//! Values follow the fixture conventions (NHS numbers that pass modulus 11 in the 999 range,
//! 07700 900xxx phones, fictitious places); the output is deterministic for the same size.
//!
//! Two styles: [`Style::Own`] (attachments drawn by our own renderer) and [`Style::Peer`], the
//! bench family of issue 15 (`disclose synth --like-peer`): record text dense with third parties
//! (about 25 marks a record) and attachments as another producer writes them (see [`peer`]),
//! with one large attachment among the small ones.

pub mod peer;

use crate::model::ident;
use crate::pdf::render::{self, Block, Doc, LabelStyle, Part, PartContent, Run};
use serde_json::{json, Value};
use std::path::Path;

/// The size of a synthetic family.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub records: usize,
    pub attachments: usize,
    pub pages_per_attachment: usize,
    /// People in the family graph (at least 12).
    pub people: usize,
    /// Pages of one more, large attachment (0: none).
    pub big_attachment_pages: usize,
    /// How the records and attachments are written.
    pub style: Style,
}

/// How a synthetic family is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// Attachments drawn by our own renderer (an embedded CID font), a few third parties a record.
    #[default]
    Own,
    /// The bench family of issue 15: records dense with third parties, attachments in the
    /// standard 14 fonts without embedding (WinAnsi, MacRoman) and an Identity-H CID font.
    Peer,
}

impl Size {
    /// A family of our own style without a large attachment.
    pub fn own(records: usize, attachments: usize, pages_per_attachment: usize, people: usize) -> Size {
        Size { records, attachments, pages_per_attachment, people, big_attachment_pages: 0, style: Style::Own }
    }

    /// The bench family of issue 15: 2,000 records, 40 five-page attachments and one of 300 pages,
    /// written as another producer writes them.
    pub fn like_peer() -> Size {
        Size {
            records: 2000,
            attachments: 40,
            pages_per_attachment: 5,
            people: 50,
            big_attachment_pages: 300,
            style: Style::Peer,
        }
    }

    /// How many attachments, the large one included.
    fn all_attachments(&self) -> usize {
        self.attachments + usize::from(self.big_attachment_pages > 0)
    }

    /// The pages of attachment `a`: the large one comes after the others.
    pub fn pages_of(&self, a: usize) -> usize {
        if a >= self.attachments {
            self.big_attachment_pages
        } else {
            self.pages_per_attachment
        }
    }
}

/// A small deterministic generator (xorshift), so the same size gives the same family.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

const GIVEN: &[&str] = &[
    "Amara",
    "Bethany",
    "Callum",
    "Darius",
    "Eliza",
    "Faisal",
    "Gemma",
    "Harvey",
    "Imogen",
    "Jasper",
    "Keira",
    "Logan",
    "Mila",
    "Nathaniel",
    "Orla",
    "Preston",
    "Quinn",
    "Rhiannon",
    "Soren",
    "Tamsin",
    "Ulric",
    "Verity",
    "Wyatt",
    "Xanthe",
    "Yusuf",
    "Zara",
];
const FAMILY: &[&str] = &[
    "Ashdown",
    "Brierley",
    "Carrow",
    "Dunmore",
    "Elstead",
    "Farleigh",
    "Garside",
    "Hollowell",
    "Ingleby",
    "Jarrow",
    "Kenwick",
    "Lindale",
    "Morwen",
    "Netherby",
    "Ottley",
    "Pendle",
    "Quarrie",
    "Redmire",
    "Stainby",
    "Thursby",
];
const STREETS: &[&str] = &["Heron Walk", "Tanner Street", "Mill Lane", "Orchard Rise", "Copse Road", "Beacon View"];
const SENTENCES: &[&str] = &[
    "The worker visited the home and spoke with the family about the plan.",
    "School reported that attendance had improved over the last month.",
    "The child said they enjoyed football and wanted more time with friends.",
    "Concerns were discussed about routines at bedtime and meals.",
    "The core group agreed actions and a date for the next meeting.",
    "Health visitor confirmed that immunisations are up to date.",
    "The house was warm and tidy; there was food in the fridge.",
    "The family were reminded how to contact the out of hours team.",
];

fn nhs(i: usize) -> String {
    // Smallest 999-range number with a valid check digit after a seed.
    let mut n = 999_100_000u64 + (i as u64 * 37) % 800_000;
    loop {
        for c in 0..10 {
            let s = format!("{n:09}{c}");
            if ident::nhs_valid(&s) {
                return s;
            }
        }
        n += 1;
    }
}

/// A mobile number in the range kept for drama (07700 900000 to 900999) for the first 900
/// people; larger families have people without a phone, so every number stays fictitious.
fn phone(i: usize) -> Option<String> {
    (i < 900).then(|| format!("07700 900{:03}", 100 + i))
}

/// Write `export.json` and its attachments into `dir`.
pub fn write_family(dir: &Path, size: Size) -> std::io::Result<()> {
    let v = family(size);
    std::fs::create_dir_all(dir.join("attachments"))?;
    let people = peer::people(&v);
    for (i, a) in v["attachments"].as_array().unwrap().iter().enumerate() {
        let pdf = match size.style {
            Style::Own => attachment_pdf(i, size.pages_of(i)),
            Style::Peer => peer::attachment_pdf(i, size.pages_of(i), &people),
        };
        std::fs::write(dir.join(a["file"].as_str().unwrap()), &pdf)?;
    }
    let mut v = v;
    for a in v["attachments"].as_array_mut().unwrap() {
        let bytes = std::fs::read(dir.join(a["file"].as_str().unwrap()))?;
        use sha2::Digest;
        a["sha256"] = json!(crate::import::hex(&sha2::Sha256::digest(&bytes)));
    }
    std::fs::write(dir.join("export.json"), serde_json::to_vec_pretty(&v)?)
}

/// A family of the given size as a `csc-case-export` 0.1 document (attachments not yet hashed).
pub fn family(size: Size) -> Value {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let people = size.people.max(12);
    let kids = 4;
    let mut persons = Vec::new();
    let mut relationships = Vec::new();
    let fam_name = FAMILY[0];
    let addr_home = "addr-home";
    for i in 0..people {
        let id = format!("p-{i}");
        let child = i < kids;
        let family_name = if i < kids + 2 { fam_name } else { FAMILY[1 + i % (FAMILY.len() - 1)] };
        let given = GIVEN[i % GIVEN.len()];
        let sex = if i % 2 == 0 { "F" } else { "M" };
        let mut p = json!({
            "id": id, "kind": if child { "child" } else { "adult" },
            "names": [{"use": "official", "given": [given], "family": family_name}],
            "sex": sex,
            "date_of_birth": {"date": format!("{}-0{}-1{}", if child { 2010 + i } else { 1980 + i % 20 }, 1 + i % 9, i % 10)},
            "identifiers": [{"system": "nhs_number", "value": nhs(i)}],
            "contact_points": phone(i).map(|v| vec![json!({"type": "mobile", "value": v})]).unwrap_or_default(),
            "residences": [{"address": if i < kids + 2 { addr_home.to_string() } else { format!("addr-{i}") }, "use": "home"}],
            "roles": [if child { "subject_child" } else if i < kids + 2 { "parent" } else { "other_third_party" }]
        });
        if i == kids + 3 {
            p["sensitivity"] = json!([{"flag": "referrer_identity"}]);
            p["roles"] = json!(["referrer"]);
        }
        persons.push(p);
    }
    // Parents and siblings.
    let mut rel = 0;
    for c in 0..kids {
        for (pi, code) in [(kids, "NMTH"), (kids + 1, "NFTH")] {
            rel += 1;
            relationships.push(json!({"id": format!("rel-{rel}"), "person": format!("p-{c}"), "related": format!("p-{pi}"), "type": code, "parental_responsibility": true}));
        }
        for s in (c + 1)..kids {
            rel += 1;
            relationships.push(json!({"id": format!("rel-{rel}"), "person": format!("p-{c}"), "related": format!("p-{s}"), "type": if s % 2 == 0 { "NSIS" } else { "NBRO" }}));
        }
    }
    let mut addresses =
        vec![json!({"id": addr_home, "lines": ["4 Heron Walk"], "town": "Synthton", "postcode": "SY1 4HW"})];
    for i in kids + 2..people {
        addresses.push(json!({"id": format!("addr-{i}"), "lines": [format!("{} {}", 10 + i, *r.pick(STREETS))], "town": "Synthton", "postcode": format!("SY{} {}QT", 2 + i % 7, 1 + i % 9)}));
    }
    addresses.push(json!({"id": "addr-la", "lines": ["Town Hall"], "town": "Synthton", "postcode": "SY1 1AA"}));
    let organisations = json!([
        {"id": "org-la", "name": "Synthton Borough Council", "type": "local_authority", "address": "addr-la"},
        {"id": "org-school", "name": "Westmere Primary School", "type": "primary_school"}
    ]);
    let professionals = json!([
        {"id": "pro-sw", "name": {"given": ["Noor"], "family": "Castellan"}, "job_title": "Social Worker", "organisation": "org-la",
         "contact_points": [{"type": "work_phone", "value": "01632 960100"}]},
        {"id": "pro-tm", "name": {"given": ["Iain"], "family": "Roscoe"}, "job_title": "Team Manager", "organisation": "org-la"}
    ]);
    let types = ["visit", "case_note", "strategy_discussion", "core_group", "letter", "cp_plan"];
    let mut records = Vec::new();
    for n in 0..size.records {
        let id = format!("rec-{n:05}");
        let group = n % 3 != 0;
        let members: Vec<usize> = if group { (0..kids).collect() } else { vec![n % kids] };
        let day = 1 + n % 28;
        let month = 1 + (n / 28) % 12;
        let year = 2015 + n / 336;
        let mut sections = vec![];
        let mut body = String::new();
        for _ in 0..4 {
            body.push_str(r.pick::<&str>(SENTENCES));
            body.push(' ');
        }
        let third = kids + 2 + (n % (people - kids - 2));
        body.push_str(&format!(
            "{} {} was present; Mum said {} {} rang from {}. ",
            GIVEN[0],
            fam_name,
            GIVEN[third % GIVEN.len()],
            FAMILY[1 + third % (FAMILY.len() - 1)],
            phone(third).unwrap_or_else(|| "the office".into())
        ));
        if size.style == Style::Peer {
            body.push_str(&dense(n, people, kids));
        }
        sections.push(json!({"id": "s1", "scope": "shared", "heading": "Summary", "body": body}));
        if group {
            for (k, c) in members.iter().enumerate() {
                let mut b = format!("{} talked about school. ", GIVEN[*c % GIVEN.len()]);
                b.push_str(r.pick::<&str>(SENTENCES));
                let mut s = json!({"id": format!("s{}", k + 2), "scope": {"children": [format!("p-{c}")]}, "heading": GIVEN[*c % GIVEN.len()], "body": b});
                if n % 7 == 0 && k == 0 {
                    s["sensitivity"] = json!([{"flag": "special_category_health", "subject": format!("p-{c}")}]);
                }
                sections.push(s);
            }
        }
        if n % 11 == 0 {
            sections.push(json!({"id": "s9", "scope": "shared", "audience": "professionals_only", "heading": "Closed", "body": "Professionals discussed risk."}));
        }
        let mut rec = json!({
            "id": id, "type": types[n % types.len()], "title": format!("Record {n}"),
            "occurred": {"start": format!("{year}-{month:02}-{day:02}T10:00:00Z")},
            "recorded": {"at": format!("{year}-{month:02}-{day:02}T12:00:00Z"), "by": "pro-sw"},
            "status": "complete",
            "membership": members.iter().map(|c| json!({"person": format!("p-{c}"), "on_file": true, "role": "subject"})).collect::<Vec<_>>(),
            "sections": sections,
        });
        if n > 0 {
            rec["links"] = json!([{"type": "follows", "target": format!("rec-{:05}", n - 1)}]);
        }
        records.push(rec);
    }
    let mut attachments = Vec::new();
    for a in 0..size.all_attachments() {
        // the large attachment sits on the record half way along
        let rec = if a < size.attachments {
            (a * size.records.max(1)) / size.attachments.max(1)
        } else {
            size.records / 2 + 1
        }
        .min(size.records.saturating_sub(1));
        let members =
            records[rec]["membership"].as_array().unwrap().iter().map(|m| m["person"].clone()).collect::<Vec<_>>();
        attachments.push(json!({
            "id": format!("att-{a:03}"), "file": format!("attachments/att-{a:03}.pdf"), "media_type": "application/pdf",
            "text_layer": true, "title": format!("Report {a}"), "record": format!("rec-{rec:05}"), "on_files": members
        }));
        match records[rec]["attachments"].as_array_mut() {
            Some(list) => list.push(json!(format!("att-{a:03}"))),
            None => records[rec]["attachments"] = json!([format!("att-{a:03}")]),
        }
    }
    json!({
        "format": "csc-case-export", "format_version": "0.1.0",
        "export": {"id": format!("exp-synth-{}", size.records), "exported_at": "2026-01-15T09:00:00Z", "synthetic": true,
                   "local_authority": {"name": "Synthton Borough Council", "la_code": "990"}},
        "organisations": organisations, "professionals": professionals, "addresses": addresses,
        "persons": persons, "relationships": relationships, "records": records, "attachments": attachments
    })
}

/// Sentences of a peer-style record naming third parties: their names, numbers and homes.
fn dense(n: usize, people: usize, kids: usize) -> String {
    let others = people - kids - 2;
    let who = |k: usize| kids + 2 + (n * 5 + k * 3) % others;
    let mut s = String::new();
    for k in 0..4 {
        let (a, b) = (who(2 * k), who(2 * k + 1));
        let name = |i: usize| format!("{} {}", GIVEN[i % GIVEN.len()], FAMILY[1 + i % (FAMILY.len() - 1)]);
        s.push_str(&format!(
            "{} said that {} had called on {} about {}. ",
            name(a),
            name(b),
            phone(b).unwrap_or_else(|| "the office".into()),
            GIVEN[(n + k) % kids],
        ));
        if k % 2 == 0 {
            s.push_str(&format!(
                "{} lives with {} and {}. ",
                name(a),
                GIVEN[b % GIVEN.len()],
                GIVEN[(a + 1) % GIVEN.len()]
            ));
        }
    }
    s
}

/// A multi-page attachment written by our own renderer (a report naming family members).
pub fn attachment_pdf(i: usize, pages: usize) -> Vec<u8> {
    let mut blocks =
        vec![Block::Heading { level: 1, text: vec![Run::Text(format!("Report {i}"))], anchor: None, outline: None }];
    for p in 0..pages {
        for k in 0..12 {
            blocks.push(Block::Para {
                runs: vec![Run::Text(format!(
                    "{} {} attended with her mother. {} {} (tel 07700 900{:03}) was also present. {}",
                    GIVEN[0],
                    FAMILY[0],
                    GIVEN[(6 + k) % GIVEN.len()],
                    FAMILY[1 + (6 + k) % (FAMILY.len() - 1)],
                    106 + k % 6,
                    SENTENCES[(p + k) % SENTENCES.len()]
                ))],
            });
        }
        if p + 1 < pages {
            blocks.push(Block::PageBreak);
        }
    }
    let doc = Doc {
        title: format!("Report {i}"),
        author: "Synthton Borough Council".into(),
        subject: String::new(),
        date: render::Date { y: 2026, m: 1, d: 15, h: 9, mi: 0, s: 0 },
        id_seed: [i as u8; 32],
        lang: "en-GB".into(),
        parts: vec![Part { label: LabelStyle::Arabic, outline: None, content: PartContent::Flow(blocks) }],
        draft: false,
        code_words: Vec::new(),
    };
    render::render(&doc).map(|r| r.bytes).unwrap_or_default()
}
