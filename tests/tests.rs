//! Integration tests as one binary (as ripgrep does): `util` builds temporary environments and
//! runs the real `disclose` binary; the other modules test one capability each.

mod util;

mod batch;

mod bundle;
mod detect;
mod import;
mod pdf;
mod resolve;
mod rules;
mod seal;
mod sealed;
