//! What makes the bundle archival (PDF/A-2b): XMP metadata that repeats the document
//! information and names the conformance (`pdfaid:part` 2, `pdfaid:conformance` B), and an output
//! intent with the sRGB profile (vendored in `src/pdf/color/` with its zlib licence). Every font
//! is embedded (ours as a subset; attachments' standard 14 fonts are replaced in `fonts_embed`)
//! and nothing is encrypted. The PAdES signature is added afterwards, in an incremental update,
//! which PDF/A-2 allows. Nothing here reads the clock: the dates are the document's.

use pdf_writer::types::OutputIntentSubtype;
use pdf_writer::writers::Catalog;
use pdf_writer::{Filter, Finish, Pdf, Ref, TextStr};

use super::font::deflate;
use super::Doc;

/// The sRGB IEC 61966-2.1 profile (icc-profiles-free, zlib licence).
const SRGB: &[u8] = include_bytes!("../color/sRGB.icc");

/// The objects written for PDF/A, for the catalog.
pub(crate) struct Archival {
    pub metadata: Ref,
    profile: Ref,
}

impl Archival {
    /// The catalog's `/OutputIntents`: sRGB.
    pub fn output_intent(&self, cat: &mut Catalog<'_>) {
        let mut intents = cat.output_intents();
        let mut oi = intents.push();
        oi.subtype(OutputIntentSubtype::PDFA);
        oi.output_condition_identifier(TextStr("sRGB IEC61966-2.1"));
        oi.registry_name(TextStr("http://www.color.org"));
        oi.info(TextStr("sRGB IEC61966-2.1"));
        oi.dest_output_profile(self.profile);
        oi.finish();
        intents.finish();
    }
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 has no place for other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// The XMP packet: the same title, author, subject, dates and producer as the document
/// information dictionary, and the PDF/A identification.
pub(crate) fn xmp(doc: &Doc) -> String {
    let d = doc.date;
    let date = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.y,
        d.m.clamp(1, 12),
        d.d.clamp(1, 31),
        d.h.min(23),
        d.mi.min(59),
        d.s.min(59)
    );
    let producer = format!("disclose {}", env!("CARGO_PKG_VERSION"));
    let lang = if doc.lang.is_empty() { "x-default".to_string() } else { xml_escape(&doc.lang) };
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
   <dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <xmp:CreatorTool>disclose</xmp:CreatorTool>
   <pdf:Producer>{producer}</pdf:Producer>
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}',
        title = xml_escape(&doc.title),
        author = xml_escape(&doc.author),
        subject = xml_escape(&doc.subject),
    )
}

/// Write the metadata stream (uncompressed, as PDF/A wants it readable) and the ICC profile.
pub(crate) fn write(pdf: &mut Pdf, doc: &Doc, next: &mut Ref) -> Archival {
    let metadata = next.bump();
    let profile = next.bump();
    let xmp = xmp(doc);
    pdf.metadata(metadata, xmp.as_bytes());
    let packed = deflate(SRGB);
    pdf.icc_profile(profile, &packed).n(3).filter(Filter::FlateDecode);
    Archival { metadata, profile }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xmp_escapes_and_identifies_pdfa() {
        let mut doc = super::super::tests::sample_doc();
        doc.title = "Records of <A & B>".into();
        let x = super::xmp(&doc);
        assert!(x.contains("Records of &lt;A &amp; B&gt;"), "{x}");
        assert!(x.contains("<pdfaid:part>2</pdfaid:part>") && x.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
    }
}
