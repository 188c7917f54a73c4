//! disclose: a child's social-care case file in, a redacted disclosure bundle out.
//!
//! Data flows one way; each stage takes the previous stage's output and returns the next:
//!
//! ```text
//! import  export.json + attachments        -> store (one transaction, validated)
//! store   Store::load_family               -> Family
//! file    CaseFile::build(&Family, subject) -> CaseFile   (membership, sections, references,
//!                                                          who each person is to the child)
//! pdf     read_attachment                  -> page texts   (what a reader sees of each page)
//! detect  detect::find(&CaseFile, ..)      -> Findings     (every mention, no policy)
//! policy  policy::propose(&CaseFile, &Findings, &Policy, ..)
//!                                          -> Proposal     (marks with stable ids; immutable)
//! review  Decisions from the store (people)
//!         review::apply(&Proposal, &Decisions)
//!                                          -> Disclosure   (what the bundle shows; read-only)
//! redact  redact::redact(&CaseFile, &Disclosure, ..)   -> RedactedFile
//! ocr     ocr::pages::read_scans / redact_pages     -> scan words with boxes; painted pixels
//! pdf     pdf::redact_attachments(&Disclosure, ..)     -> RedactedAttachments
//!         pdf::bundle                                  -> Bundle
//! seal    sign the bundle, write the manifest          -> signed outputs
//! audit   every release, decision and view, hash-chained; verify checks it all again
//! ```
//!
//! `export` runs the pipeline for one request (`export::resolve` checks the request against its
//! policy before any work starts); `batch` runs many. Pieces of text are addressed by
//! `file::Location` (one constructor per kind); a mark's id (`policy::MarkId`) comes from what it
//! marks, so decisions survive re-running and re-importing.
//!
//! `serve` is the review page in the browser (`disclose review serve`): a thin room over
//! `review::workflow` and `review::session`, the functions the command line calls.
//!
//! Beside the pipeline, `practice` reads the same family to report how its records were written
//! (what is recorded on the wrong child's file) before anything is disclosed.

pub mod audit;
pub mod batch;
pub mod cli;
pub mod detect;
pub mod export;
pub mod file;
pub mod import;
pub mod model;
pub mod ocr;
pub mod pdf;
pub mod policy;
pub mod practice;
pub mod redact;
pub mod review;
pub mod seal;
pub mod serve;
pub mod store;
pub mod synth;
