//! The `tesseract` command: found once, then fed one grey image at a time on stdin (a PGM, so
//! no pixel ever touches the disk) and read back as TSV on stdout.

use super::OcrError;
use crate::pdf::image::GrayImage;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to enable reading scans, said by every error that means Tesseract is not usable.
pub const HOW_TO_ENABLE: &str =
    "install it (`apt-get install tesseract-ocr tesseract-ocr-eng`) or give its path with `--tesseract PATH`";

/// A checked Tesseract: the program runs and has the language.
#[derive(Debug, Clone)]
pub struct Tesseract {
    program: PathBuf,
    lang: String,
    version: String,
}

/// One word as Tesseract reports it, in the pixels of the image it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct RawWord {
    pub text: String,
    /// 0..=100 (Tesseract's own scale)
    pub conf: f32,
    /// left, top, width, height in pixels (top-left origin)
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    pub block: u32,
    pub par: u32,
    pub line: u32,
    pub word: u32,
}

impl Tesseract {
    /// Find Tesseract: the path given, else `tesseract` on PATH; check that it runs and has
    /// `lang` (e.g. "eng"). The error says how to enable it.
    pub fn find(program: Option<&Path>, lang: &str) -> Result<Tesseract, OcrError> {
        let program = match program {
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("tesseract"),
        };
        let shown = program.display().to_string();
        let out = Command::new(&program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|_| OcrError::NotFound { program: shown.clone() })?;
        if !out.status.success() {
            return Err(OcrError::NotFound { program: shown });
        }
        // Tesseract 4 printed its version on stderr, 5 on stdout.
        let text = [out.stdout, out.stderr].concat();
        let version = String::from_utf8_lossy(&text)
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("tesseract "))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| OcrError::NotFound { program: shown.clone() })?;
        let langs = Command::new(&program)
            .arg("--list-langs")
            .stdin(Stdio::null())
            .output()
            .map_err(|_| OcrError::NotFound { program: shown.clone() })?;
        let listed = String::from_utf8_lossy(&[langs.stdout, langs.stderr].concat()).into_owned();
        if !listed.lines().skip(1).any(|l| l.trim() == lang) {
            return Err(OcrError::LanguageMissing { lang: lang.to_string() });
        }
        Ok(Tesseract { program, lang: lang.to_string(), version })
    }

    /// The version line Tesseract reports (e.g. "5.3.0"), for the plan and the audit trail.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Read one grey image at `dpi` (its resolution on the page). One Tesseract thread per call
    /// (`OMP_THREAD_LIMIT=1`): pages are read in parallel by the caller instead, which is faster
    /// than Tesseract's own threads on whole pages.
    pub fn read(&self, image: &GrayImage, dpi: u32) -> Result<Vec<RawWord>, OcrError> {
        let dpi = dpi.clamp(70, 2400).to_string();
        let mut child = Command::new(&self.program)
            .args(["-", "-", "--dpi", &dpi, "-l", &self.lang, "--psm", "3", "tsv"])
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|_| OcrError::NotFound { program: self.program.display().to_string() })?;
        let pgm = image.to_pgm();
        let mut stdin = child.stdin.take().ok_or(OcrError::Failed { status: None })?;
        // Write on a thread while stdout is drained here, so that neither pipe can fill and block.
        let writer = std::thread::spawn(move || stdin.write_all(&pgm));
        let mut stdout = Vec::new();
        child.stdout.take().ok_or(OcrError::Failed { status: None })?.read_to_end(&mut stdout).ok();
        let mut stderr = Vec::new();
        if let Some(mut e) = child.stderr.take() {
            e.read_to_end(&mut stderr).ok();
        }
        let status = child.wait().map_err(|_| OcrError::Failed { status: None })?;
        let wrote = writer.join().map_err(|_| OcrError::Failed { status: None })?;
        if !status.success() || wrote.is_err() {
            // Tesseract's messages are not passed on: they may quote what it read.
            return Err(OcrError::Failed { status: status.code() });
        }
        parse_tsv(&String::from_utf8_lossy(&stdout))
    }
}

/// Parse Tesseract's TSV (level 5 rows are words; other levels are skipped).
pub fn parse_tsv(tsv: &str) -> Result<Vec<RawWord>, OcrError> {
    let mut words = Vec::new();
    for (i, line) in tsv.lines().enumerate() {
        if i == 0 {
            if !line.starts_with("level\tpage_num\tblock_num") {
                return Err(OcrError::BadOutput { line: 1 });
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.splitn(12, '\t').collect();
        if f.len() < 11 {
            return Err(OcrError::BadOutput { line: i + 1 });
        }
        if f[0] != "5" {
            continue;
        }
        let n = |k: usize| f[k].trim().parse::<u32>().map_err(|_| OcrError::BadOutput { line: i + 1 });
        let conf: f32 = f[10].trim().parse().map_err(|_| OcrError::BadOutput { line: i + 1 })?;
        let text = f.get(11).map(|t| t.trim()).unwrap_or("");
        if text.is_empty() {
            continue;
        }
        words.push(RawWord {
            text: text.to_string(),
            conf: conf.clamp(0.0, 100.0),
            block: n(2)?,
            par: n(3)?,
            line: n(4)?,
            word: n(5)?,
            left: n(6)?,
            top: n(7)?,
            width: n(8)?,
            height: n(9)?,
        });
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_are_parsed_and_other_levels_skipped() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t2480\t800\t-1\t\n\
                   4\t1\t1\t1\t1\t0\t201\t150\t826\t35\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t201\t151\t81\t29\t96.771027\tDear\n\
                   5\t1\t1\t1\t1\t2\t293\t151\t51\t29\t95.5\t \n\
                   5\t1\t2\t1\t3\t1\t10\t20\t30\t40\t-1\tx\n";
        let w = parse_tsv(tsv).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].text, "Dear");
        assert_eq!((w[0].left, w[0].top, w[0].width, w[0].height), (201, 151, 81, 29));
        assert!((w[0].conf - 96.771).abs() < 0.01);
        assert_eq!((w[1].block, w[1].par, w[1].line, w[1].word), (2, 1, 3, 1));
        assert_eq!(w[1].conf, 0.0);
    }

    #[test]
    fn tsv_without_header_or_with_short_rows_is_refused() {
        assert_eq!(parse_tsv("hello\n"), Err(OcrError::BadOutput { line: 1 }));
        let tsv =
            "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n5\t1\t1\n";
        assert_eq!(parse_tsv(tsv), Err(OcrError::BadOutput { line: 2 }));
    }

    #[test]
    fn a_missing_program_says_how_to_enable_it() {
        let e = Tesseract::find(Some(Path::new("/nonexistent/tesseract")), "eng").unwrap_err();
        assert_eq!(e, OcrError::NotFound { program: "/nonexistent/tesseract".into() });
        let msg = e.to_string();
        assert!(msg.contains("apt-get install tesseract-ocr tesseract-ocr-eng"), "{msg}");
        assert!(msg.contains("--tesseract PATH"), "{msg}");
    }
}
