//! disclose: a child's social-care case file in, a redacted disclosure bundle out.
//!
//! Data flows one way, one module per stage:
//! `import` -> `store` -> `file` -> `detect` -> `policy` -> `redact` -> `pdf` -> `seal` / `audit`.

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
pub mod redact;
pub mod seal;
pub mod store;
pub mod synth;
