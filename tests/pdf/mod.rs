//! True redaction inside existing PDFs: the tricky fixture, the Northbrook attachments from five
//! producers, and the py-pdf sample corpus, each checked with pdftotext, mutool, qpdf and leakscan.

mod common;
mod corpus;
mod hostile;
mod northbrook;
mod tricky;
