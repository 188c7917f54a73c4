//! Command-line flags as clap sees them (raw). `main` turns them into calls on the stages; the
//! resolved settings (defaults applied, paths checked) live with each command.

use clap::{Parser, Subcommand};

pub mod review;

/// Exit codes: each has one meaning (listed in the README).
pub mod exit {
    /// Done.
    pub const SUCCESS: u8 = 0;
    /// A check found a problem (`verify`, `audit --verify`).
    pub const CHECK_FAILED: u8 = 1;
    /// Refused or failed: bad input, a request that does not fit its policy, a missing tool, an
    /// approval refused. Nothing was written. (clap's usage errors are 2 as well.)
    pub const REFUSED: u8 = 2;
    /// Done, but some attachment pages failed verification after redaction and were withheld.
    pub const HELD: u8 = 3;
    /// `batch`: some requests failed; the others were written.
    pub const SOME_FAILED: u8 = 4;
}

fn disclose_default_max_mb() -> u64 {
    crate::import::DEFAULT_MAX_ATTACHMENT_MB
}
use std::path::PathBuf;

/// disclose: turn a child's social-care case file into a redacted, indexed, signed disclosure bundle.
#[derive(Parser, Debug)]
#[command(name = "disclose", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The Tesseract program that reads scans (export, batch, review and request commands);
    /// default `tesseract` on PATH. Without one, scans stay held for review.
    #[arg(long, global = true, value_name = "PATH")]
    pub tesseract: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a family's case export (csc-case-export 0.1 JSON) into the case store.
    Import {
        /// The export JSON; attachments are read relative to it.
        export: PathBuf,
        /// The case store (SQLite).
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        /// Replace an export with the same id that is already in the store.
        #[arg(long)]
        replace: bool,
        /// The largest attachment file accepted, in MiB.
        #[arg(long, default_value_t = disclose_default_max_mb())]
        max_attachment_mb: u64,
    },
    /// List the children in the case store with record and attachment counts.
    Files {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
    },
    /// Print one child's file as the engine sees it: records, sections, references, people.
    Show {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        /// The child (person id).
        #[arg(long)]
        subject: String,
        /// The export to use when the person is in several.
        #[arg(long)]
        export: Option<String>,
    },
    /// Disclose one child's file: write plan.json, preview.txt, schedule.csv and bundle.pdf to --out.
    Export(Box<ExportArgs>),
    /// Write a trial signing key and self-signed certificate (signing-key.pem, signing-cert.pem);
    /// never replaces a key already there.
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// The certificate's common name.
        #[arg(long, default_value = "disclose trial signing key")]
        name: String,
        /// The certificate's organisation.
        #[arg(long, default_value = "Information Governance (trial)")]
        org: String,
        /// First valid day (YYYY-MM-DD); defaults to 2020-01-01 so trial bundles of past requests verify.
        #[arg(long, default_value = "2020-01-01")]
        from: String,
        /// Last valid day (YYYY-MM-DD).
        #[arg(long, default_value = "2035-12-31")]
        to: String,
    },
    /// Check an output folder: the signature, that it covers the whole file and is the only one,
    /// its signer against the trusted certificates, and the manifest hashes; with --db, also the
    /// store's record of the release, the audit trail, and look for removed text in the bundle.
    Verify {
        dir: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
        /// The certificates to trust (a PEM file of one or more, or a folder of them); defaults
        /// to $DISCLOSE_TRUST. Without either, a signed bundle's signer is unknown and verify fails.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The store's audit key (defaults to $DISCLOSE_AUDIT_KEY, else DB.audit-key beside the store).
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
    /// List the audit trail of exports; with --verify, check its keyed hash chain, the checkpoint
    /// beside the audit key, and the audit heads in the manifests of releases.
    Audit {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        verify: bool,
        /// The store's audit key (defaults to $DISCLOSE_AUDIT_KEY, else DB.audit-key beside the store).
        #[arg(long)]
        audit_key: Option<PathBuf>,
        /// With --verify: output folders (or manifest.json files) of releases to check against the
        /// trail, besides those still at the folders the trail records. May be repeated.
        #[arg(long = "manifest")]
        manifests: Vec<PathBuf>,
    },
    /// Run many requests from a CSV (subject,policy,requester[,officer,output]) in parallel.
    Batch {
        requests: PathBuf,
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// As for export: PEM key with --sign-cert, or a PKCS#12 file alone.
        #[arg(long)]
        sign_key: Option<PathBuf>,
        #[arg(long, requires = "sign_key")]
        sign_cert: Option<PathBuf>,
        /// Replace other requests' outputs, or write into folders holding other files (kept).
        #[arg(long)]
        force: bool,
        /// The store's audit key (defaults to $DISCLOSE_AUDIT_KEY, else DB.audit-key beside the store).
        #[arg(long)]
        audit_key: Option<PathBuf>,
        #[command(flatten)]
        unreviewed: UnreviewedArgs,
        /// The council file: who answers requests (default $DISCLOSE_COUNCIL, else the shipped
        /// policies/council.toml).
        #[arg(long)]
        council: Option<PathBuf>,
    },
    /// Write a synthetic family (export.json and attachment PDFs) for load tests and benches.
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2000)]
        records: usize,
        #[arg(long, default_value_t = 40)]
        attachments: usize,
        #[arg(long, default_value_t = 5)]
        pages: usize,
        #[arg(long, default_value_t = 50)]
        people: usize,
        /// Pages of one more, large attachment among the others (0: none; 300 with --like-peer).
        #[arg(long)]
        big_attachment_pages: Option<usize>,
        /// The bench family of issue 15: records dense with third parties, attachments written as
        /// another producer writes them (standard 14 fonts unembedded in WinAnsi and MacRoman, an
        /// Identity-H CID font), one of them of 300 pages.
        #[arg(long)]
        like_peer: bool,
    },
    /// Check how a family's records were written (each child's file tells that child's story):
    /// write practice.csv (ids and offsets) and practice.html (for the officer) to --out.
    Practice(PracticeArgs),
    /// Register and list requests, with their due dates (UK GDPR Art. 12(3)).
    #[command(subcommand)]
    Request(RequestCmd),
    /// Review a request's proposed marks: list, decide, add, approve, a spreadsheet round trip,
    /// and the review page in the browser.
    #[command(subcommand)]
    Review(ReviewCmd),
    /// Reviewers: the officers who decide and sign off.
    #[command(subcommand)]
    Reviewer(ReviewerCmd),
    /// Import the bundled Northbrook example into a temporary store and disclose it.
    Demo {
        /// Where to write the demo bundles.
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
    },
}

/// Flags of `disclose export`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    #[arg(long, default_value = "disclose.db")]
    pub db: PathBuf,
    /// A registered request (`disclose request new`): its reviewers' decisions apply, and the
    /// bundle is final (and may be signed) once it is approved. Replaces --subject and --policy.
    #[arg(long, conflicts_with_all = ["subject", "policy", "requester", "date", "override_reason", "export"])]
    pub request: Option<String>,
    /// The child whose file is disclosed (person id), for a one-shot export (a draft).
    #[arg(long, required_unless_present = "request")]
    pub subject: Option<String>,
    /// A shipped policy name (sar-self, sar-parent, court) or a path to a policy TOML file.
    #[arg(long, required_unless_present = "request")]
    pub policy: Option<String>,
    /// Who asked: a person id (for a court bundle, the party served: a person or organisation
    /// id). Defaults to the subject only under a policy whose requester is the subject (sar-self).
    #[arg(long)]
    pub requester: Option<String>,
    /// Go on despite a marker of the requester that the policy refuses (for example an alleged
    /// perpetrator asking as a parent), for this reason; recorded in the plan and the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub override_reason: Option<String>,
    /// Output folder (created; the outputs are staged beside it and swapped in whole).
    #[arg(long)]
    pub out: PathBuf,
    /// The export to use when the person is in several.
    #[arg(long)]
    pub export: Option<String>,
    /// The date of the request (YYYY-MM-DD); written in the bundle instead of the clock.
    /// Defaults to the export's date.
    #[arg(long)]
    pub date: Option<String>,
    /// The officer releasing the disclosure (defaults to the OS user).
    #[arg(long)]
    pub officer: Option<String>,
    /// Sign bundle.pdf with this private key: PEM (PKCS#8, SEC1 or PKCS#1, with --sign-cert) or a
    /// PKCS#12 file (.p12/.pfx, holding its certificate; password from --sign-password-env).
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    /// The certificate of a PEM signing key (PEM).
    #[arg(long, requires = "sign_key")]
    pub sign_cert: Option<PathBuf>,
    /// The environment variable that holds the PKCS#12 password (never given on the command line).
    #[arg(long, default_value = "DISCLOSE_SIGN_PASSWORD")]
    pub sign_password_env: String,
    /// Replace another request's outputs in --out, or write into a folder holding other files
    /// (they are kept).
    #[arg(long)]
    pub force: bool,
    /// The store's audit key, made (mode 0600) on first use; keep it away from the store, next
    /// to the signing key. Defaults to $DISCLOSE_AUDIT_KEY, else DB.audit-key beside the store.
    #[arg(long)]
    pub audit_key: Option<PathBuf>,
    /// The council file: who answers requests (default $DISCLOSE_COUNCIL, else the shipped
    /// policies/council.toml).
    #[arg(long)]
    pub council: Option<PathBuf>,
    /// The council's reference for the request, printed on the letter (a registered request
    /// carries its own).
    #[arg(long, conflicts_with = "request")]
    pub reference: Option<String>,
    /// The date of the response on the letter (YYYY-MM-DD; default: the request's date, or the
    /// approval's for a registered request).
    #[arg(long)]
    pub response_date: Option<String>,
    #[command(flatten)]
    pub unreviewed: UnreviewedArgs,
}

/// Release a one-shot export without review (as one officer's recorded decision).
#[derive(clap::Args, Debug, Clone)]
pub struct UnreviewedArgs {
    /// Release (and allow signing) without review, as one officer's decision: recorded as such in
    /// the audit trail and on the schedule. Refused where the policy says review.required.
    #[arg(long, requires_all = ["reviewer", "why"])]
    pub release_unreviewed: bool,
    /// The registered reviewer who releases it (`disclose reviewer add`).
    #[arg(long, requires = "release_unreviewed")]
    pub reviewer: Option<String>,
    /// Why it is released without review.
    #[arg(long, requires = "release_unreviewed")]
    pub why: Option<String>,
}

/// `disclose request ...`
#[derive(Subcommand, Debug, Clone)]
pub enum RequestCmd {
    /// Register a request (it must fit its policy); prints its id alone on standard output.
    New {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        requester: String,
        #[arg(long)]
        policy: String,
        /// The day the request was received (YYYY-MM-DD); it is due one calendar month later.
        #[arg(long)]
        received: String,
        /// The council's reference for the request.
        #[arg(long)]
        reference: Option<String>,
        /// The export to use when the person is in several.
        #[arg(long)]
        export: Option<String>,
        /// As for export: go on despite a marker the policy refuses, for this reason.
        #[arg(long, value_name = "TEXT")]
        override_reason: Option<String>,
        /// The officer registering it (defaults to the OS user).
        #[arg(long)]
        officer: Option<String>,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
    /// List the requests with their status and days left.
    List {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        /// Count days left from this date instead of today (YYYY-MM-DD).
        #[arg(long)]
        today: Option<String>,
    },
    /// Extend a request's due date by two months (UK GDPR Art. 12(3)), with the reason.
    Extend {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        officer: Option<String>,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
}

/// `disclose review ...`
#[derive(Subcommand, Debug, Clone)]
pub enum ReviewCmd {
    /// List the proposed marks (kind `mark`) and items held for review (kind `held`).
    List {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        /// Only marks with this reason code.
        #[arg(long)]
        code: Option<String>,
        /// Only marks of this person.
        #[arg(long)]
        person: Option<String>,
        /// As CSV (mark,kind,code,rule,person,record,location,context,decision,reviewer,why).
        #[arg(long)]
        csv: bool,
    },
    /// Record one decision on a mark (or on every mark of a person).
    Decide {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        /// The mark (or held item) decided.
        #[arg(long, required_unless_present = "person", conflicts_with = "person")]
        mark: Option<String>,
        /// Decide every mark of this person at once.
        #[arg(long)]
        person: Option<String>,
        #[arg(long)]
        reviewer: String,
        /// As proposed.
        #[arg(long, group = "verdict")]
        accept: bool,
        /// The words stay in.
        #[arg(long, group = "verdict")]
        reject: bool,
        /// A held item goes into the bundle, with the ordinary marks inside it.
        #[arg(long, group = "verdict")]
        release: bool,
        /// Withheld (or redacted) with the code given by --code.
        #[arg(long, group = "verdict", requires = "code")]
        withhold: bool,
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        why: Option<String>,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
    /// Add a mark the engine missed: words on every occurrence in a record, or a region of an
    /// attachment page.
    Add {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        #[arg(long, required_unless_present = "attachment")]
        record: Option<String>,
        /// The exact words.
        #[arg(long, requires = "record")]
        text: Option<String>,
        #[arg(long, conflicts_with = "record", requires_all = ["page", "rect"])]
        attachment: Option<String>,
        /// The page (from 1).
        #[arg(long)]
        page: Option<usize>,
        /// x1,y1,x2,y2 in the page's points (origin bottom left).
        #[arg(long)]
        rect: Option<String>,
        #[arg(long)]
        code: String,
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        why: String,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
    /// Sign off: the final bundle can then be exported and signed.
    Approve {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
    /// Write the review list as CSV for a spreadsheet (fill in decision and why, then import).
    Export {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the review page in the browser (loopback only unless --allow-non-loopback); Ctrl-C
    /// stops it.
    Serve {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        /// Where to listen (a loopback address by default).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Allow an address off loopback. The page is plain HTTP: put a TLS proxy in front.
        #[arg(long)]
        allow_non_loopback: bool,
        #[arg(long)]
        audit_key: Option<PathBuf>,
        /// A practice policy TOML file for the findings shown beside the marks (default: the
        /// shipped policies/practice.toml).
        #[arg(long)]
        practice_policy: Option<PathBuf>,
    },
    /// Read a review CSV back: each filled-in decision is recorded for --reviewer.
    Import {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        request: String,
        #[arg(long)]
        reviewer: String,
        file: PathBuf,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
}

/// `disclose reviewer ...`
#[derive(Subcommand, Debug, Clone)]
pub enum ReviewerCmd {
    /// Register a reviewer; the password is read from the terminal, or from --password-env.
    Add {
        #[arg(long, default_value = "disclose.db")]
        db: PathBuf,
        #[arg(long)]
        name: String,
        /// The environment variable holding the password (never on the command line).
        #[arg(long)]
        password_env: Option<String>,
        #[arg(long)]
        audit_key: Option<PathBuf>,
    },
}

/// Flags of `disclose practice`.
#[derive(clap::Args, Debug, Clone)]
pub struct PracticeArgs {
    #[arg(long, default_value = "disclose.db")]
    pub db: PathBuf,
    /// The export (family) to check; needed when the store holds several and no --child is given.
    #[arg(long)]
    pub family: Option<String>,
    /// Keep only the findings about this child and those on records on their file (person id).
    #[arg(long)]
    pub child: Option<String>,
    /// Output folder for practice.csv and practice.html.
    #[arg(long)]
    pub out: PathBuf,
    /// A practice policy TOML file instead of the shipped policies/practice.toml.
    #[arg(long)]
    pub practice_policy: Option<PathBuf>,
}
