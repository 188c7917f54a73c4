//! Integration tests as one binary (as ripgrep does): `util` builds temporary environments and
//! runs the real `disclose` binary; the other modules test one capability each.

mod util;

mod batch;

mod browser;
mod bundle;
mod derived;
mod detect;
mod faults;
mod import;
mod ocr;
mod pdf;
mod practice;
mod reader;
mod requests;
mod resolve;
mod review;
mod rules;
mod scans;
mod seal;
mod sealed;
mod serve;
mod workflow;
