//! PDF: reading attachments (text as a reader sees it), true redaction inside them, and the
//! bundle. lopdf is the object layer only.

pub mod bundle;
pub mod render;

use crate::policy::AttachmentInput;

/// What the reader makes of an attachment's bytes, for detection.
pub fn attachment_input(_bytes: &[u8]) -> AttachmentInput {
    AttachmentInput::Unreadable("the PDF reader is not built yet".into())
}
