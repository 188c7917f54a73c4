//! Output files staged in their folder under temporary names while a request is built, hashed as
//! they are written, and renamed into place together by [`Staged::commit`]. A run that fails, or a
//! staging dropped without a commit, leaves no file behind; no output is ever held whole in memory
//! longer than it takes to write it.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary names are unique within the process, so parallel runs into one folder never meet.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The files of one run, written under temporary names.
pub struct Staged {
    dir: PathBuf,
    /// (final name, temporary path, SHA-256 of the bytes written).
    files: Vec<(&'static str, PathBuf, String)>,
    committed: bool,
    /// The folder did not exist before: it is removed again if nothing is committed.
    created_dir: bool,
}

impl Staged {
    /// Stage files in `dir` (created with the first file if missing).
    pub fn new(dir: &Path) -> Staged {
        Staged { dir: dir.to_path_buf(), files: Vec::new(), committed: false, created_dir: false }
    }

    fn temp_path(&self, name: &str) -> PathBuf {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!(".{name}.{}-{n}.partial", std::process::id()))
    }

    /// Write a whole file; returns its SHA-256.
    pub fn write(&mut self, name: &'static str, bytes: &[u8]) -> Result<String> {
        let mut w = self.writer(name)?;
        w.write_all(bytes).with_context(|| format!("writing {name}"))?;
        w.finish()
    }

    /// A file written piece by piece; [`StagedWriter::finish`] gives its SHA-256.
    pub fn writer(&mut self, name: &'static str) -> Result<StagedWriter<'_>> {
        if !self.dir.is_dir() {
            std::fs::create_dir_all(&self.dir)
                .with_context(|| format!("creating output folder {}", self.dir.display()))?;
            self.created_dir = true;
        }
        let tmp = self.temp_path(name);
        let f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        // Registered at once, so a failure half-way still removes it.
        self.files.push((name, tmp, String::new()));
        Ok(StagedWriter { staged: self, out: BufWriter::with_capacity(1 << 16, f), hash: Sha256::new() })
    }

    /// The SHA-256 of a staged file, by name.
    pub fn sha256(&self, name: &str) -> Option<&str> {
        self.files.iter().find(|f| f.0 == name).map(|f| f.2.as_str())
    }

    /// Rename every file into place, in the order they were staged.
    pub fn commit(&mut self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (name, tmp, _) in &self.files {
            let f = self.dir.join(name);
            std::fs::rename(tmp, &f).with_context(|| format!("renaming into {}", f.display()))?;
            done.push(f);
        }
        self.committed = true;
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for (_, tmp, _) in &self.files {
                let _ = std::fs::remove_file(tmp);
            }
            if self.created_dir {
                let _ = std::fs::remove_dir(&self.dir); // only if empty
            }
        }
    }
}

/// One staged file being written; hashes what passes through.
pub struct StagedWriter<'a> {
    staged: &'a mut Staged,
    out: BufWriter<std::fs::File>,
    hash: Sha256,
}

impl StagedWriter<'_> {
    /// Flush to disk and give the file's SHA-256.
    pub fn finish(mut self) -> Result<String> {
        self.out.flush().context("writing an output file")?;
        self.out.get_ref().sync_all().context("writing an output file")?;
        let hex = crate::import::hex(&self.hash.clone().finalize());
        if let Some(last) = self.staged.files.last_mut() {
            last.2 = hex.clone();
        }
        Ok(hex)
    }
}

impl Write for StagedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("disclose-staged-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn nothing_is_in_place_before_commit_and_hashes_match_the_bytes() {
        let dir = scratch("commit");
        let mut s = Staged::new(&dir);
        let h1 = s.write("a.txt", b"hello").unwrap();
        let mut w = s.writer("b.txt").unwrap();
        w.write_all(b"hel").unwrap();
        w.write_all(b"lo").unwrap();
        let h2 = w.finish().unwrap();
        assert_eq!(h1, crate::seal::manifest::sha256_hex(b"hello"));
        assert_eq!(h1, h2, "streamed and whole writes hash alike");
        assert_eq!(s.sha256("b.txt"), Some(h2.as_str()));
        // only temporary names so far
        assert!(listing(&dir).iter().all(|n| n.starts_with('.') && n.ends_with(".partial")), "{:?}", listing(&dir));
        let done = s.commit().unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(listing(&dir), vec!["a.txt".to_string(), "b.txt".to_string()]);
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"hello");
        drop(s);
        assert_eq!(listing(&dir).len(), 2, "a committed staging keeps its files when dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_staging_dropped_without_commit_leaves_nothing() {
        // A folder the run created is removed again; a folder that was there stays, untouched.
        let dir = scratch("drop-new");
        {
            let mut s = Staged::new(&dir);
            s.write("plan.json", b"{}").unwrap();
            let mut w = s.writer("bundle.pdf").unwrap();
            w.write_all(b"%PDF-").unwrap();
            // dropped half-way, as when a later stage fails
        }
        assert!(!dir.exists(), "the folder made for the run is gone");
        let dir = scratch("drop-existing");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("older.txt"), b"x").unwrap();
        {
            let mut s = Staged::new(&dir);
            s.write("plan.json", b"{}").unwrap();
        }
        assert_eq!(listing(&dir), vec!["older.txt".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
