//! Content-stream tokenizer that keeps the byte span of every token and operation, so that
//! untouched operators (numbers, comments, inline images) can be copied byte for byte.

use std::ops::Range;

/// One operand, with nested arrays/dictionaries.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Num(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Bool(bool),
    Null,
    Array(Vec<(Operand, Range<usize>)>),
    Dict(Vec<(Vec<u8>, Operand)>),
}

impl Operand {
    pub fn num(&self) -> Option<f64> {
        match self {
            Operand::Num(n) => Some(*n),
            _ => None,
        }
    }
}

/// One content-stream operation: operands followed by an operator.
#[derive(Debug, Clone)]
pub struct Op {
    pub name: Vec<u8>,
    pub operands: Vec<(Operand, Range<usize>)>,
    /// From the first operand (or the operator) to the end of the operator; for inline images
    /// from `BI` to the end of `EI`.
    pub span: Range<usize>,
}

impl Op {
    pub fn is(&self, n: &str) -> bool {
        self.name == n.as_bytes()
    }
    pub fn nums(&self) -> Vec<f64> {
        self.operands.iter().filter_map(|(o, _)| o.num()).collect()
    }
    pub fn num(&self, i: usize) -> f64 {
        self.operands.get(i).and_then(|(o, _)| o.num()).unwrap_or(0.0)
    }
    pub fn name_operand(&self) -> Option<&[u8]> {
        self.operands.iter().rev().find_map(|(o, _)| match o {
            Operand::Name(n) => Some(n.as_slice()),
            _ => None,
        })
    }
}

pub fn is_ws(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}
pub fn is_delim(c: u8) -> bool {
    matches!(c, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

/// A raw token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Keyword(Vec<u8>),
    ArrOpen,
    ArrClose,
    DictOpen,
    DictClose,
    Comment,
    /// unbalanced or unexpected byte (skipped leniently)
    Junk,
}

pub struct Lexer<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Lexer { data, pos: 0 }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.data.len() && is_ws(self.data[self.pos]) {
            self.pos += 1;
        }
    }

    /// Next token with its span, or None at the end.
    pub fn next_tok(&mut self) -> Option<(Tok, Range<usize>)> {
        self.skip_ws();
        let d = self.data;
        if self.pos >= d.len() {
            return None;
        }
        let start = self.pos;
        let c = d[self.pos];
        let tok = match c {
            b'%' => {
                while self.pos < d.len() && d[self.pos] != b'\n' && d[self.pos] != b'\r' {
                    self.pos += 1;
                }
                Tok::Comment
            }
            b'(' => Tok::Str(self.literal_string()),
            b'<' => {
                if d.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Tok::DictOpen
                } else {
                    Tok::Str(self.hex_string())
                }
            }
            b'>' => {
                if d.get(self.pos + 1) == Some(&b'>') {
                    self.pos += 2;
                    Tok::DictClose
                } else {
                    self.pos += 1;
                    Tok::Junk
                }
            }
            b'[' => {
                self.pos += 1;
                Tok::ArrOpen
            }
            b']' => {
                self.pos += 1;
                Tok::ArrClose
            }
            b'{' | b'}' | b')' => {
                self.pos += 1;
                Tok::Junk
            }
            b'/' => {
                self.pos += 1;
                let mut name = Vec::new();
                while self.pos < d.len() && !is_ws(d[self.pos]) && !is_delim(d[self.pos]) {
                    let b = d[self.pos];
                    if b == b'#' && self.pos + 2 < d.len() {
                        if let (Some(h), Some(l)) = (hexval(d[self.pos + 1]), hexval(d[self.pos + 2])) {
                            name.push(h * 16 + l);
                            self.pos += 3;
                            continue;
                        }
                    }
                    name.push(b);
                    self.pos += 1;
                }
                Tok::Name(name)
            }
            _ => {
                while self.pos < d.len() && !is_ws(d[self.pos]) && !is_delim(d[self.pos]) {
                    self.pos += 1;
                }
                if self.pos == start {
                    self.pos += 1;
                    Tok::Junk
                } else {
                    let w = &d[start..self.pos];
                    match parse_number(w) {
                        Some(n) => Tok::Num(n),
                        None => Tok::Keyword(w.to_vec()),
                    }
                }
            }
        };
        Some((tok, start..self.pos))
    }

    fn literal_string(&mut self) -> Vec<u8> {
        let d = self.data;
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1;
        while self.pos < d.len() {
            let c = d[self.pos];
            self.pos += 1;
            match c {
                b'\\' => {
                    if self.pos >= d.len() {
                        break;
                    }
                    let e = d[self.pos];
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if d.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v: u32 = (e - b'0') as u32;
                            for _ in 0..2 {
                                match d.get(self.pos) {
                                    Some(&x @ b'0'..=b'7') => {
                                        v = v * 8 + (x - b'0') as u32;
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn hex_string(&mut self) -> Vec<u8> {
        let d = self.data;
        self.pos += 1;
        let mut nibbles = Vec::new();
        while self.pos < d.len() {
            let c = d[self.pos];
            self.pos += 1;
            if c == b'>' {
                break;
            }
            if let Some(v) = hexval(c) {
                nibbles.push(v);
            }
        }
        if nibbles.len() % 2 == 1 {
            nibbles.push(0);
        }
        nibbles.chunks(2).map(|p| p[0] * 16 + p[1]).collect()
    }
}

pub fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub fn parse_number(w: &[u8]) -> Option<f64> {
    if w.is_empty() || !w.iter().all(|c| matches!(c, b'0'..=b'9' | b'+' | b'-' | b'.')) {
        return None;
    }
    if !w.iter().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // lenient: "--5", "5-", "1.2.3" -> take what parses
    let s = std::str::from_utf8(w).ok()?;
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let t = s.trim_start_matches(['+', '-']);
    let neg = s.starts_with('-');
    let mut end = 0;
    let mut dot = false;
    for (i, ch) in t.char_indices() {
        if ch.is_ascii_digit() || (ch == '.' && !dot) {
            dot |= ch == '.';
            end = i + 1;
        } else {
            break;
        }
    }
    let v: f64 = t[..end].parse().unwrap_or(0.0);
    Some(if neg { -v } else { v })
}

/// How deep arrays and dictionaries may nest in a content stream. Real content nests one or two
/// levels (a `TJ` array, a property list); a parser that follows a hostile stream 10,000 levels
/// down overflows its stack, so deeper nesting fails the stream instead.
pub const MAX_NESTING: usize = 32;

/// A content stream nests arrays or dictionaries deeper than [`MAX_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TooDeep {
    /// Byte offset where the nesting passed the limit.
    pub offset: usize,
}

/// Parse a whole content stream into operations. Junk is skipped, dangling operands at the end
/// are dropped; only nesting deeper than [`MAX_NESTING`] fails.
pub fn parse_content(data: &[u8]) -> Result<Vec<Op>, TooDeep> {
    let mut lx = Lexer::new(data);
    let mut ops = Vec::new();
    let mut operands: Vec<(Operand, Range<usize>)> = Vec::new();
    let mut first: Option<usize> = None;
    while let Some((tok, span)) = lx.next_tok() {
        match tok {
            Tok::Comment | Tok::Junk => continue,
            Tok::Keyword(k) => {
                let start = first.take().unwrap_or(span.start);
                match k.as_slice() {
                    b"true" | b"false" => {
                        first = Some(start);
                        operands.push((Operand::Bool(k == b"true"), span));
                        continue;
                    }
                    b"null" => {
                        first = Some(start);
                        operands.push((Operand::Null, span));
                        continue;
                    }
                    b"BI" => {
                        let (dict, end) = inline_image(&mut lx)?;
                        operands.clear();
                        ops.push(Op {
                            name: k,
                            operands: vec![(Operand::Dict(dict), span.start..end)],
                            span: span.start..end,
                        });
                        continue;
                    }
                    _ => {}
                }
                ops.push(Op { name: k, operands: std::mem::take(&mut operands), span: start..span.end });
            }
            other => {
                if first.is_none() {
                    first = Some(span.start);
                }
                let v = compound(&mut lx, other, span.clone(), 0)?;
                operands.push(v);
            }
        }
    }
    Ok(ops)
}

/// The bytes of a content stream a viewer does not show but an object reader finds: comments,
/// and the strings of every operator that does not show text (property lists, inline image
/// dictionaries). Token by token, without nesting, so it never fails.
pub fn unshown_strings(data: &[u8]) -> Vec<Vec<u8>> {
    let mut lx = Lexer::new(data);
    let mut out = Vec::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    while let Some((tok, span)) = lx.next_tok() {
        match tok {
            Tok::Comment => out.push(data[span].to_vec()),
            Tok::Str(s) => pending.push(s),
            Tok::Keyword(k) => {
                match k.as_slice() {
                    b"Tj" | b"TJ" | b"'" | b"\"" => pending.clear(), // shown text, read by the reader
                    b"true" | b"false" | b"null" => continue,
                    b"BI" => {
                        out.append(&mut pending);
                        if let Ok((dict, _)) = inline_image(&mut lx) {
                            out.extend(dict.into_iter().filter_map(|(_, v)| match v {
                                Operand::Str(s) => Some(s),
                                _ => None,
                            }));
                        }
                    }
                    _ => out.append(&mut pending),
                }
            }
            _ => {}
        }
    }
    out.append(&mut pending);
    out
}

/// Build an operand (recursing into arrays/dicts) from its first token; `depth` is how many
/// arrays and dictionaries enclose it.
fn compound(lx: &mut Lexer, tok: Tok, span: Range<usize>, depth: usize) -> Result<(Operand, Range<usize>), TooDeep> {
    if matches!(tok, Tok::ArrOpen | Tok::DictOpen) && depth >= MAX_NESTING {
        return Err(TooDeep { offset: span.start });
    }
    Ok(match tok {
        Tok::Num(n) => (Operand::Num(n), span),
        Tok::Str(s) => (Operand::Str(s), span),
        Tok::Name(n) => (Operand::Name(n), span),
        Tok::ArrOpen => {
            let mut items = Vec::new();
            let mut end = span.end;
            while let Some((t, sp)) = lx.next_tok() {
                end = sp.end;
                match t {
                    Tok::ArrClose => break,
                    Tok::Comment | Tok::Junk | Tok::DictClose => continue,
                    Tok::Keyword(k) => {
                        // operator inside an array: malformed; keep lenient by ending the array
                        match k.as_slice() {
                            b"true" => items.push((Operand::Bool(true), sp)),
                            b"false" => items.push((Operand::Bool(false), sp)),
                            b"null" => items.push((Operand::Null, sp)),
                            _ => {
                                lx.pos = sp.start;
                                end = sp.start;
                                break;
                            }
                        }
                    }
                    t => {
                        let v = compound(lx, t, sp, depth + 1)?;
                        end = v.1.end;
                        items.push(v);
                    }
                }
            }
            (Operand::Array(items), span.start..end)
        }
        Tok::DictOpen => {
            let mut entries = Vec::new();
            let mut key: Option<Vec<u8>> = None;
            let mut end = span.end;
            while let Some((t, sp)) = lx.next_tok() {
                end = sp.end;
                match t {
                    Tok::DictClose => break,
                    Tok::Comment | Tok::Junk => continue,
                    Tok::Name(n) if key.is_none() => key = Some(n),
                    Tok::Keyword(k) => {
                        let v = match k.as_slice() {
                            b"true" => Operand::Bool(true),
                            b"false" => Operand::Bool(false),
                            _ => Operand::Null,
                        };
                        if let Some(kk) = key.take() {
                            entries.push((kk, v));
                        }
                    }
                    t => {
                        let v = compound(lx, t, sp, depth + 1)?;
                        end = v.1.end;
                        if let Some(kk) = key.take() {
                            entries.push((kk, v.0));
                        }
                    }
                }
            }
            (Operand::Dict(entries), span.start..end)
        }
        _ => (Operand::Null, span),
    })
}

/// An inline image's dictionary: its keys and values in order.
type InlineDict = Vec<(Vec<u8>, Operand)>;

/// After `BI`: read the dictionary up to `ID`, then skip the image data up to `EI`.
/// Returns the dictionary and the end offset (after `EI`).
fn inline_image(lx: &mut Lexer) -> Result<(InlineDict, usize), TooDeep> {
    let mut dict = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let d = lx.data;
    loop {
        let Some((t, sp)) = lx.next_tok() else { return Ok((dict, d.len())) };
        match t {
            Tok::Keyword(k) if k == b"ID" => break,
            Tok::Keyword(k) if k == b"EI" => return Ok((dict, sp.end)),
            Tok::Name(n) if key.is_none() => key = Some(n),
            Tok::Comment | Tok::Junk => {}
            Tok::Keyword(k) => {
                if let Some(kk) = key.take() {
                    let v = match k.as_slice() {
                        b"true" => Operand::Bool(true),
                        b"false" => Operand::Bool(false),
                        _ => Operand::Name(k),
                    };
                    dict.push((kk, v));
                }
            }
            t => {
                let v = compound(lx, t, sp, 1)?;
                if let Some(kk) = key.take() {
                    dict.push((kk, v.0));
                }
            }
        }
    }
    // one whitespace byte after ID
    let mut p = lx.pos;
    if p < d.len() && is_ws(d[p]) {
        p += 1;
    }
    let data_start = p;
    // unfiltered image of known size: jump over the data exactly
    let get = |names: &[&[u8]]| dict.iter().find(|(k, _)| names.contains(&k.as_slice())).map(|(_, v)| v.clone());
    let has_filter =
        get(&[b"F", b"Filter"]).map(|v| !matches!(v, Operand::Array(ref a) if a.is_empty())).unwrap_or(false);
    let mut candidate = None;
    if !has_filter {
        let w = get(&[b"W", b"Width"]).and_then(|v| v.num()).unwrap_or(0.0);
        let h = get(&[b"H", b"Height"]).and_then(|v| v.num()).unwrap_or(0.0);
        let im = matches!(get(&[b"IM", b"ImageMask"]), Some(Operand::Bool(true)));
        let bpc = if im { 1.0 } else { get(&[b"BPC", b"BitsPerComponent"]).and_then(|v| v.num()).unwrap_or(8.0) };
        let comps = if im {
            1.0
        } else {
            match get(&[b"CS", b"ColorSpace"]) {
                Some(Operand::Name(n)) => match n.as_slice() {
                    b"RGB" | b"DeviceRGB" | b"CalRGB" => 3.0,
                    b"CMYK" | b"DeviceCMYK" => 4.0,
                    b"G" | b"DeviceGray" | b"CalGray" | b"I" | b"Indexed" => 1.0,
                    _ => 0.0,
                },
                Some(Operand::Array(_)) => 1.0, // Indexed
                _ => 0.0,
            }
        };
        if w > 0.0 && h > 0.0 && comps > 0.0 && w * h < 1e9 {
            let len = (((w * comps * bpc) / 8.0).ceil() * h) as usize;
            let e = data_start + len;
            // EI must follow after optional whitespace
            let mut q = e;
            while q < d.len() && is_ws(d[q]) {
                q += 1;
            }
            if d.get(q..q + 2) == Some(b"EI") && (q + 2 == d.len() || is_ws(d[q + 2]) || is_delim(d[q + 2])) {
                candidate = Some(q + 2);
            }
        }
    }
    let end = candidate.unwrap_or_else(|| {
        let mut i = data_start;
        loop {
            if i + 2 > d.len() {
                break d.len();
            }
            if &d[i..i + 2] == b"EI"
                && (i == data_start || is_ws(d[i - 1]))
                && (i + 2 == d.len() || is_ws(d[i + 2]) || is_delim(d[i + 2]))
            {
                break i + 2;
            }
            i += 1;
        }
    });
    lx.pos = end;
    Ok((dict, end))
}

/// Serialize a byte string as a hex string token.
pub fn hex_token(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2 + 2);
    out.push(b'<');
    for b in bytes {
        out.extend_from_slice(format!("{:02x}", b).as_bytes());
    }
    out.push(b'>');
    out
}

/// Format a number compactly (at most 4 decimals, no exponent).
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_cover(data: &[u8]) {
        // every op span lies within data, spans are ordered and disjoint; rebuilding the stream from
        // the spans plus the gaps between them gives the original bytes.
        let ops = parse_content(data).unwrap();
        let mut out = Vec::new();
        let mut pos = 0;
        for op in &ops {
            assert!(op.span.start >= pos, "overlap");
            out.extend_from_slice(&data[pos..op.span.start]);
            out.extend_from_slice(&data[op.span.clone()]);
            pos = op.span.end;
        }
        out.extend_from_slice(&data[pos..]);
        assert_eq!(out, data);
    }

    #[test]
    fn spans_round_trip() {
        let data = b"q 1 0 0 1 12345.6789 595.27566 cm % comment (x)\nBT /F1 12 Tf [(Gw) -20 (en) -250 (Al) 10 (dous)] TJ (J\\157hn \\(x\\)) Tj <4a6f> Tj ET\nBI /W 2 /H 1 /BPC 8 /CS /G /F /AHx ID 00ff> EI Q\nBI /W 4 /H 1 /BPC 8 /CS /G ID \x00EI\x01 EI /P <</MCID 3>> BDC EMC";
        spans_cover(data);
        let ops = parse_content(data).unwrap();
        let names: Vec<String> = ops.iter().map(|o| String::from_utf8_lossy(&o.name).into_owned()).collect();
        assert_eq!(names, ["q", "cm", "BT", "Tf", "TJ", "Tj", "Tj", "ET", "BI", "Q", "BI", "BDC", "EMC"]);
        assert_eq!(&data[ops[1].span.clone()], b"1 0 0 1 12345.6789 595.27566 cm");
        assert_eq!(ops[5].operands[0].0, Operand::Str(b"John (x)".to_vec()));
        assert_eq!(ops[6].operands[0].0, Operand::Str(b"Jo".to_vec()));
        assert_eq!(&data[ops[8].span.clone()], b"BI /W 2 /H 1 /BPC 8 /CS /G /F /AHx ID 00ff> EI");
        // binary data containing "EI" inside an unfiltered image of known length
        assert_eq!(&data[ops[10].span.clone()], b"BI /W 4 /H 1 /BPC 8 /CS /G ID \x00EI\x01 EI");
        if let Operand::Array(items) = &ops[4].operands[0].0 {
            assert_eq!(items.len(), 7);
            assert_eq!(&data[items[1].1.clone()], b"-20");
        } else {
            panic!("TJ operand")
        }
    }

    #[test]
    fn junk_does_not_panic() {
        for data in [&b"(unterminated"[..], b"<<", b"[ 1 2", b"BI /W", b"BI ID xx", b")>}{ 1 Tj", b"/#4", b"-- 5.5. Td"]
        {
            spans_cover(data);
        }
    }

    #[test]
    fn deep_nesting_fails_the_stream_not_the_stack() {
        // On a small stack (rayon's workers have 2 MiB): 10,000 nested arrays or dictionaries.
        let t = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut arr = b"BT ".to_vec();
                arr.extend(std::iter::repeat_n(b'[', 10_000));
                arr.extend(std::iter::repeat_n(b']', 10_000));
                arr.extend_from_slice(b" TJ ET");
                let dict: Vec<u8> = b"/P "
                    .iter()
                    .copied()
                    .chain(b"<< /A ".repeat(10_000))
                    .chain(b">>".repeat(10_000))
                    .chain(*b" BDC")
                    .collect();
                let image: Vec<u8> = b"BI /D ".iter().copied().chain(b"[".repeat(10_000)).chain(*b" ID x EI").collect();
                [arr, dict, image].map(|d| parse_content(&d).map(|ops| ops.len()))
            })
            .unwrap();
        for r in t.join().expect("no stack overflow") {
            assert!(matches!(r, Err(TooDeep { .. })), "{r:?}");
        }
        // the limit itself is fine
        let ok: Vec<u8> = [&b"["[..]]
            .repeat(MAX_NESTING)
            .concat()
            .into_iter()
            .chain(b"]".repeat(MAX_NESTING))
            .chain(*b" TJ")
            .collect();
        assert_eq!(parse_content(&ok).unwrap().len(), 1);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"-.5"), Some(-0.5));
        assert_eq!(parse_number(b"--5"), Some(-5.0));
        assert_eq!(fmt_num(-250.0), "-250");
        assert_eq!(fmt_num(1.23456), "1.2346");
    }
}
