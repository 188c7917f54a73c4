//! Output files staged in their folder under temporary names while a request is built, hashed as
//! they are written, and put in place by [`Staged::commit`]: all of them or, if any step fails,
//! none (files they replace are moved aside first and moved back). A run that fails, or a staging
//! dropped without a commit, leaves no file and no folder of its own behind; temporary files left
//! by a run that was killed are removed by the next run into the same folder. No output is held
//! whole in memory longer than it takes to write it.

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
    /// Folders this run created (deepest first): removed again if nothing is committed.
    created_dirs: Vec<PathBuf>,
    /// The folder has been made ready (created, and cleared of stale temporary files).
    ready: bool,
}

impl Staged {
    /// Stage files in `dir` (created with the first file if missing).
    pub fn new(dir: &Path) -> Staged {
        Staged { dir: dir.to_path_buf(), files: Vec::new(), committed: false, created_dirs: Vec::new(), ready: false }
    }

    fn temp_path(&self, name: &str, kind: &str) -> PathBuf {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!(".{name}.{}-{n}.{kind}", std::process::id()))
    }

    /// Create the folder (remembering which folders were made) and remove temporary files that
    /// runs no longer alive left in it.
    fn prepare_dir(&mut self) -> Result<()> {
        if self.ready {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut d = self.dir.as_path();
        while !d.as_os_str().is_empty() && !d.exists() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating output folder {}", self.dir.display()))?;
        self.created_dirs = missing;
        remove_stale(&self.dir);
        self.ready = true;
        Ok(())
    }

    /// Write a whole file; returns its SHA-256.
    pub fn write(&mut self, name: &'static str, bytes: &[u8]) -> Result<String> {
        let mut w = self.writer(name)?;
        w.write_all(bytes).with_context(|| format!("writing {name}"))?;
        w.finish()
    }

    /// Write a whole file that only its owner may read (a private key); returns its SHA-256.
    pub fn write_private(&mut self, name: &'static str, bytes: &[u8]) -> Result<String> {
        let mut w = self.open(name, true)?;
        w.write_all(bytes).with_context(|| format!("writing {name}"))?;
        w.finish()
    }

    /// A file written piece by piece; [`StagedWriter::finish`] gives its SHA-256.
    pub fn writer(&mut self, name: &'static str) -> Result<StagedWriter<'_>> {
        self.open(name, false)
    }

    fn open(&mut self, name: &'static str, private: bool) -> Result<StagedWriter<'_>> {
        self.prepare_dir()?;
        let tmp = self.temp_path(name, "partial");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let f = opts.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        // Registered at once, so a failure half-way still removes it.
        self.files.push((name, tmp, String::new()));
        Ok(StagedWriter { staged: self, name, out: BufWriter::with_capacity(1 << 16, f), hash: Sha256::new() })
    }

    /// Put every file in place: files of the same names are first moved aside, then the new ones
    /// renamed in; if any step fails, what was done is undone and the error returned.
    pub fn commit(&mut self) -> Result<Vec<PathBuf>> {
        // 1. Move aside what would be replaced.
        let mut aside: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut failed = None;
        for (name, _, _) in &self.files {
            let f = self.dir.join(name);
            if f.exists() {
                let keep = self.temp_path(name, "previous");
                if let Err(e) = std::fs::rename(&f, &keep) {
                    failed = Some(anyhow::Error::new(e).context(format!("moving aside {}", f.display())));
                    break;
                }
                aside.push((keep, f));
            }
        }
        // 2. Rename the new files in.
        let mut placed: Vec<(PathBuf, PathBuf)> = Vec::new();
        if failed.is_none() {
            for (name, tmp, _) in &self.files {
                let f = self.dir.join(name);
                if let Err(e) = std::fs::rename(tmp, &f) {
                    failed = Some(anyhow::Error::new(e).context(format!("renaming into {}", f.display())));
                    break;
                }
                placed.push((f, tmp.clone()));
            }
        }
        // 3. Undo on failure (new files back to their temporary names, old ones back in place);
        //    on success drop the old ones.
        if let Some(e) = failed {
            for (f, tmp) in placed.iter().rev() {
                let _ = std::fs::rename(f, tmp);
            }
            for (keep, f) in aside.iter().rev() {
                let _ = std::fs::rename(keep, f);
            }
            return Err(e);
        }
        for (keep, _) in &aside {
            let _ = std::fs::remove_file(keep);
        }
        self.committed = true;
        Ok(placed.into_iter().map(|(f, _)| f).collect())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for (_, tmp, _) in &self.files {
                let _ = std::fs::remove_file(tmp);
            }
            for d in &self.created_dirs {
                let _ = std::fs::remove_dir(d); // only if empty
            }
        }
    }
}

/// Remove `.NAME.PID-N.partial` files whose process is gone (Linux: no /proc/PID); elsewhere
/// nothing is removed. (Files moved aside by a commit that was killed half-way are kept: they are
/// the folder's earlier outputs.)
fn remove_stale(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with('.') {
            continue;
        }
        let Some(rest) = name.strip_suffix(".partial") else { continue };
        let Some(tag) = rest.rsplit('.').next() else { continue };
        let Some((pid, n)) = tag.split_once('-') else { continue };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), n.parse::<u64>()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// One staged file being written; hashes what passes through.
pub struct StagedWriter<'a> {
    staged: &'a mut Staged,
    name: &'static str,
    out: BufWriter<std::fs::File>,
    hash: Sha256,
}

impl StagedWriter<'_> {
    /// Flush to disk and give the file's SHA-256.
    pub fn finish(mut self) -> Result<String> {
        let name = self.name;
        self.out.flush().with_context(|| format!("writing {name}"))?;
        self.out.get_ref().sync_all().with_context(|| format!("writing {name}"))?;
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
    fn a_failed_commit_puts_back_the_files_it_replaced() {
        let dir = scratch("rollback");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), b"old a").unwrap();
        std::fs::write(dir.join("b.txt"), b"old b").unwrap();
        let mut s = Staged::new(&dir);
        s.write("a.txt", b"new a").unwrap();
        s.write("b.txt", b"new b").unwrap();
        s.write("c.txt", b"new c").unwrap();
        // b's staged file vanishes: its rename fails after a's has been done
        std::fs::remove_file(&s.files[1].1).unwrap();
        let e = s.commit().unwrap_err();
        assert!(format!("{e:#}").contains("b.txt"), "{e:#}");
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"old a");
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"old b");
        assert!(!dir.join("c.txt").exists());
        drop(s);
        assert_eq!(listing(&dir), vec!["a.txt".to_string(), "b.txt".to_string()], "nothing else is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_files_of_runs_that_are_gone_are_removed() {
        let dir = scratch("stale");
        std::fs::create_dir_all(&dir).unwrap();
        // pid_max is at most 2^22: this process cannot exist. Process 1 always does.
        std::fs::write(dir.join(".preview.txt.4294967-0.partial"), b"x").unwrap();
        std::fs::write(dir.join(".preview.txt.1-0.partial"), b"x").unwrap();
        std::fs::write(dir.join(".notes.partial"), b"x").unwrap();
        let mut s = Staged::new(&dir);
        s.write("a.txt", b"a").unwrap();
        s.commit().unwrap();
        assert_eq!(
            listing(&dir),
            vec![".notes.partial".to_string(), ".preview.txt.1-0.partial".to_string(), "a.txt".to_string()]
        );
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
        // Every folder the run made, not only the last.
        let top = scratch("drop-nested");
        let deep = top.join("a").join("b");
        {
            let mut s = Staged::new(&deep);
            s.write("plan.json", b"{}").unwrap();
        }
        assert!(!top.exists(), "no folder of the run is left");
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
