//! Integration tests as one binary (as ripgrep does): `util` builds temporary environments and
//! runs the real `disclose` binary; the other modules test one capability each.

mod util;

mod batch;

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
mod seal;
mod sealed;
mod workflow;
