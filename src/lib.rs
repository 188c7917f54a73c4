//! disclose: a child's social-care case file in, a redacted disclosure bundle out.
//!
//! Data flows one way, one module per stage:
//! `import` -> `store` -> `file` -> `detect` -> `policy` -> `redact` -> `pdf` -> `seal` / `audit`.

pub mod cli;
pub mod file;
pub mod import;
pub mod model;
pub mod store;
pub mod detect;
pub mod policy;
pub mod redact;
pub mod export;
pub mod pdf;
