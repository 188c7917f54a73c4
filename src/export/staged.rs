//! Output files of one run, written into a hidden staging folder beside the output folder while
//! the request is built (hashed as they are written), and put in place by [`Staged::commit`] in
//! one atomic step: the staging folder is swapped with the output folder (`renameat2` with
//! `RENAME_EXCHANGE` on Linux), so a reader, or a run killed at any moment, sees either the old
//! outputs whole or the new outputs whole. Where the exchange is not available the swap is two
//! renames, and the next run puts back an output folder left moved aside. Staging folders of
//! runs that are gone are removed by the next run beside them. A run that fails, or a staging
//! dropped without a commit, leaves no file and no folder of its own behind.
//!
//! It also decides whether an output folder may be replaced at all ([`check_target`]): a folder
//! holding another request's outputs, or files this tool did not write, is refused unless
//! `--force` is given (and then the other files are kept).

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Staging names are unique within the process, so parallel runs beside one folder never meet.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The files an export writes; anything else in an output folder is not this tool's.
pub const OUTPUT_NAMES: &[&str] = &["bundle.pdf", "plan.json", "preview.txt", "schedule.csv", "manifest.json"];

/// The fields of a manifest's request that make two runs the same request (a re-run may change
/// the date, or follow a re-import).
const SAME_REQUEST: &[&str] = &["subject", "requester", "policy"];

/// The files of one run, written in a staging folder.
pub struct Staged {
    /// The output folder as given (for messages).
    shown: PathBuf,
    /// The output folder's parent and name (resolved on first use).
    place: Option<(PathBuf, String)>,
    /// The staging folder, once made.
    dir: Option<PathBuf>,
    /// (final name, SHA-256 of the bytes written).
    files: Vec<(&'static str, String)>,
    committed: bool,
    /// Folders this run created above the output folder (deepest first): removed again if
    /// nothing is committed.
    created_dirs: Vec<PathBuf>,
}

impl Staged {
    /// Stage files for the output folder `dir` (made, with its parents, only at commit).
    pub fn new(dir: &Path) -> Staged {
        Staged {
            shown: dir.to_path_buf(),
            place: None,
            dir: None,
            files: Vec::new(),
            committed: false,
            created_dirs: Vec::new(),
        }
    }

    /// The output folder as given.
    pub fn out(&self) -> &Path {
        &self.shown
    }

    /// Make the staging folder beside the output folder (and the parent folders it needs),
    /// after removing what runs that are gone left there.
    fn prepare_dir(&mut self) -> Result<PathBuf> {
        if let Some(d) = &self.dir {
            return Ok(d.clone());
        }
        let (parent, name) = place_of(&self.shown)?;
        let mut missing = Vec::new();
        let mut d = parent.as_path();
        while !d.as_os_str().is_empty() && !d.exists() {
            missing.push(d.to_path_buf());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        std::fs::create_dir_all(&parent).with_context(|| format!("creating the folder of {}", self.shown.display()))?;
        self.created_dirs = missing;
        recover(&parent, &name);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".{name}.disclose-{}-{n}.new", std::process::id()));
        std::fs::create_dir(&dir)
            .with_context(|| format!("creating a staging folder beside {}", self.shown.display()))?;
        self.place = Some((parent, name));
        self.dir = Some(dir.clone());
        Ok(dir)
    }

    /// Write a whole file; returns its SHA-256.
    pub fn write(&mut self, name: &'static str, bytes: &[u8]) -> Result<String> {
        let mut w = self.writer(name)?;
        w.write_all(bytes).with_context(|| format!("writing {name}"))?;
        w.finish()
    }

    /// A file written piece by piece; [`StagedWriter::finish`] gives its SHA-256.
    pub fn writer(&mut self, name: &'static str) -> Result<StagedWriter<'_>> {
        let dir = self.prepare_dir()?;
        let path = dir.join(name);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("writing {name} in a staging folder beside {}", self.shown.display()))?;
        self.files.push((name, String::new()));
        Ok(StagedWriter { staged: self, name, out: BufWriter::with_capacity(1 << 16, f), hash: Sha256::new() })
    }

    /// Put every staged file in place in one step. The output folder is swapped with the
    /// staging folder, so nothing is ever half in place; with `keep_others` the other files of
    /// the output folder (allowed by `--force`) are linked into the new one first and stay.
    /// On failure the output folder is as it was and the error is returned.
    pub fn commit(&mut self, keep_others: bool) -> Result<Vec<PathBuf>> {
        let dir = self.prepare_dir()?;
        let (parent, name) = self.place.clone().expect("prepared");
        let out = parent.join(&name);
        let placed: Vec<PathBuf> = self.files.iter().map(|(n, _)| self.shown.join(n)).collect();
        recover(&parent, &name);
        let exists = std::fs::symlink_metadata(&out).is_ok();
        if exists && keep_others {
            link_others(&out, &dir).with_context(|| format!("keeping the other files of {}", self.shown.display()))?;
        }
        sync_dir(&dir);
        fault_point();
        if !exists {
            std::fs::rename(&dir, &out)
                .with_context(|| format!("putting the outputs in place in {}", self.shown.display()))?;
        } else {
            match exchange(&dir, &out) {
                Ok(()) => {}
                Err(e) if exchange_unsupported(&e) => {
                    // Two renames; a run killed between them is put right by `recover`.
                    let n = NEXT.fetch_add(1, Ordering::Relaxed);
                    let aside = parent.join(format!(".{name}.disclose-{}-{n}.old", std::process::id()));
                    std::fs::rename(&out, &aside)
                        .with_context(|| format!("moving aside the earlier outputs of {}", self.shown.display()))?;
                    fault_point();
                    if let Err(e) = std::fs::rename(&dir, &out) {
                        let _ = std::fs::rename(&aside, &out);
                        return Err(anyhow::Error::new(e)
                            .context(format!("putting the outputs in place in {}", self.shown.display())));
                    }
                    self.dir = Some(aside);
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("putting the outputs in place in {}", self.shown.display())))
                }
            }
        }
        sync_dir(&parent);
        self.committed = true;
        fault_point();
        // What the staging name now holds is the earlier outputs (or nothing): gone.
        if let Some(old) = self.dir.take() {
            if old.exists() {
                let _ = std::fs::remove_dir_all(&old);
            }
        }
        fault_point();
        Ok(placed)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            if let Some(d) = &self.dir {
                let _ = std::fs::remove_dir_all(d);
            }
            for d in &self.created_dirs {
                let _ = std::fs::remove_dir(d); // only if empty
            }
        }
    }
}

/// The parent folder and name of an output folder (the real one, if it is a link).
fn place_of(out: &Path) -> Result<(PathBuf, String)> {
    let real = if out.exists() { out.canonicalize().unwrap_or_else(|_| out.to_path_buf()) } else { out.to_path_buf() };
    let Some(name) = real.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
        bail!("--out {} must name a folder (not `.`, `..` or a root)", out.display());
    };
    let parent = match real.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Whether the output folder `out` may receive the outputs of `request` (a manifest's request:
/// subject, requester, policy...). Refused, unless `force`, when it holds files this tool did
/// not write or the outputs of another request; always refused when it is not a folder.
pub fn check_target(out: &Path, request: &BTreeMap<String, String>, force: bool) -> Result<()> {
    let Ok(meta) = std::fs::metadata(out) else { return Ok(()) };
    if !meta.is_dir() {
        bail!(
            "--out {} is a file, not a folder; give the path of a folder (new or holding this request's outputs)",
            out.display()
        );
    }
    if force {
        return Ok(());
    }
    let mut others = 0usize;
    let mut ours = 0usize;
    for e in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if OUTPUT_NAMES.contains(&name.as_ref()) {
            ours += 1;
        } else if !is_legacy_temporary(&name) {
            others += 1;
        }
    }
    if others > 0 {
        bail!(
            "--out {} holds {others} file(s) or folder(s) that disclose did not write; nothing was written. Choose a new or empty folder, or pass --force to replace the outputs there (the other files are kept)",
            out.display()
        );
    }
    if ours == 0 {
        return Ok(());
    }
    let theirs: Option<serde_json::Value> =
        std::fs::read(out.join("manifest.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let Some(theirs) = theirs else {
        bail!(
            "--out {} holds outputs without a readable manifest.json, so whose they are cannot be told; nothing was written. Choose a new folder, or pass --force to replace them",
            out.display()
        );
    };
    let field = |k: &str| theirs["core"]["request"][k].as_str().map(str::to_string);
    let differ: Vec<&str> =
        SAME_REQUEST.iter().copied().filter(|k| field(k).as_deref() != request.get(*k).map(String::as_str)).collect();
    if !differ.is_empty() {
        bail!(
            "--out {} holds the outputs of another request (its {} differ{}); nothing was written. Choose another folder, or pass --force to replace them",
            out.display(),
            differ.join(", "),
            if differ.len() == 1 { "s" } else { "" }
        );
    }
    Ok(())
}

/// Hidden temporary files that earlier versions of this tool left inside output folders.
fn is_legacy_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else { return false };
    let Some(rest) = rest.strip_suffix(".partial").or_else(|| rest.strip_suffix(".previous")) else { return false };
    rest.rsplit('.')
        .next()
        .and_then(|t| t.split_once('-'))
        .is_some_and(|(p, n)| p.bytes().all(|b| b.is_ascii_digit()) && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Link (hard links; folders recreated, symbolic links copied) every entry of `from` that is
/// not an output of this tool into `to`, so that the swap keeps them.
fn link_others(from: &Path, to: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let name = e.file_name();
        let s = name.to_string_lossy();
        if OUTPUT_NAMES.contains(&s.as_ref()) || is_legacy_temporary(&s) {
            continue;
        }
        link_tree(&e.path(), &to.join(&name))?;
    }
    Ok(())
}

fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        #[cfg(unix)]
        return std::os::unix::fs::symlink(std::fs::read_link(from)?, to);
        #[cfg(not(unix))]
        return std::fs::copy(from, to).map(|_| ());
    }
    if meta.is_dir() {
        std::fs::create_dir(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            link_tree(&e.path(), &to.join(e.file_name()))?;
        }
        return Ok(());
    }
    std::fs::hard_link(from, to)
}

/// Swap two paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; the call reads them and nothing else.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The file system or kernel cannot exchange: fall back to two renames.
fn exchange_unsupported(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::Unsupported || std::env::var_os("DISCLOSE_NO_EXCHANGE").is_some() {
        return true;
    }
    #[cfg(target_os = "linux")]
    if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)) {
        return true;
    }
    false
}

fn sync_dir(d: &Path) {
    if let Ok(f) = std::fs::File::open(d) {
        let _ = f.sync_all();
    }
}

/// Put right what runs that are gone left beside the output folder `parent/name`: a folder moved
/// aside by a swap that was cut between its two renames goes back in place; staging folders
/// (unfinished outputs, or earlier outputs swapped out) are removed. Folders of live processes
/// are left alone. (Linux: a process is alive while /proc/PID exists; elsewhere only this
/// process's own are known, and nothing else is touched.)
pub fn recover(parent: &Path, name: &str) {
    let prefix = format!(".{name}.disclose-");
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let mut stale: Vec<(PathBuf, bool)> = Vec::new();
    for e in entries.flatten() {
        let f = e.file_name();
        let Some(f) = f.to_str() else { continue };
        let Some(rest) = f.strip_prefix(&prefix) else { continue };
        let (tag, old) = match (rest.strip_suffix(".new"), rest.strip_suffix(".old")) {
            (Some(t), _) => (t, false),
            (_, Some(t)) => (t, true),
            _ => continue,
        };
        let Some((pid, n)) = tag.split_once('-') else { continue };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), n.parse::<u64>()) else { continue };
        if pid == std::process::id() || !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
        {
            continue;
        }
        stale.push((e.path(), old));
    }
    let out = parent.join(name);
    for (p, old) in &stale {
        if *old && std::fs::symlink_metadata(&out).is_err() && std::fs::rename(p, &out).is_ok() {
            continue;
        }
        let _ = std::fs::remove_dir_all(p);
    }
}

/// A test hook: with `DISCLOSE_FAULT_AT=N`, the process aborts at the N-th fault point it
/// passes (the steps of putting outputs in place and recording them), as if it were killed there.
pub fn fault_point() {
    static PASSED: AtomicU64 = AtomicU64::new(0);
    let Some(at) = std::env::var("DISCLOSE_FAULT_AT").ok().and_then(|v| v.parse::<u64>().ok()) else { return };
    if PASSED.fetch_add(1, Ordering::SeqCst) + 1 == at {
        std::process::abort();
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
            last.1 = hex.clone();
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

/// Write new files into `dir` (created if missing), never replacing one: each is written under
/// a temporary name and linked to its name only if nothing is there. If any name is taken,
/// nothing is written. `private` files are readable by their owner only.
pub fn write_new_files(dir: &Path, files: &[(&str, &[u8], bool)]) -> Result<Vec<PathBuf>> {
    for (name, _, _) in files {
        if std::fs::symlink_metadata(dir.join(name)).is_ok() {
            bail!(
                "{} already exists; nothing was written. Move it away first, or choose another --out",
                dir.join(name).display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut done: Vec<PathBuf> = Vec::new();
    let undo = |done: &[PathBuf]| {
        for p in done {
            let _ = std::fs::remove_file(p);
        }
    };
    for (name, bytes, private) in files {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.partial", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if *private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let written = opts.open(&tmp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        let target = dir.join(name);
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, &target));
        let _ = std::fs::remove_file(&tmp);
        if let Err(e) = linked {
            undo(&done);
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                bail!(
                    "{} already exists; nothing was written. Move it away first, or choose another --out",
                    target.display()
                );
            }
            return Err(anyhow::Error::new(e).context(format!("writing {}", target.display())));
        }
        done.push(target);
    }
    sync_dir(dir);
    Ok(done)
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
        let top = scratch("commit");
        let dir = top.join("out");
        let mut s = Staged::new(&dir);
        let h1 = s.write("a.txt", b"hello").unwrap();
        let mut w = s.writer("b.txt").unwrap();
        w.write_all(b"hel").unwrap();
        w.write_all(b"lo").unwrap();
        let h2 = w.finish().unwrap();
        assert_eq!(h1, crate::seal::manifest::sha256_hex(b"hello"));
        assert_eq!(h1, h2, "streamed and whole writes hash alike");
        assert!(!dir.exists(), "nothing is in place before the commit");
        assert!(listing(&top).iter().all(|n| n.starts_with(".out.disclose-")), "{:?}", listing(&top));
        let done = s.commit(false).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(listing(&dir), vec!["a.txt".to_string(), "b.txt".to_string()]);
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"hello");
        drop(s);
        assert_eq!(listing(&dir).len(), 2, "a committed staging keeps its files when dropped");
        assert_eq!(listing(&top), vec!["out".to_string()], "no staging folder is left");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn a_commit_swaps_the_whole_folder_and_keeps_other_files_only_when_asked() {
        for exchange in [true, false] {
            let top = scratch(&format!("swap-{exchange}"));
            let dir = top.join("out");
            std::fs::create_dir_all(dir.join("notes")).unwrap();
            std::fs::write(dir.join("plan.json"), b"old plan").unwrap();
            std::fs::write(dir.join("bundle.pdf"), b"old bundle").unwrap();
            std::fs::write(dir.join("letter.txt"), b"kept").unwrap();
            std::fs::write(dir.join("notes/n.txt"), b"kept too").unwrap();
            let mut s = Staged::new(&dir);
            s.write("plan.json", b"new plan").unwrap();
            if !exchange {
                // The two-rename path is the one taken where the exchange is not available.
                std::env::set_var("DISCLOSE_NO_EXCHANGE", "1");
            }
            s.commit(true).unwrap();
            std::env::remove_var("DISCLOSE_NO_EXCHANGE");
            assert_eq!(listing(&dir), vec!["letter.txt".to_string(), "notes".to_string(), "plan.json".to_string()]);
            assert_eq!(std::fs::read(dir.join("plan.json")).unwrap(), b"new plan");
            assert_eq!(std::fs::read(dir.join("notes/n.txt")).unwrap(), b"kept too");
            assert_eq!(listing(&top), vec!["out".to_string()]);
            // Without keeping, the folder holds the new outputs only.
            let mut s = Staged::new(&dir);
            s.write("plan.json", b"newer").unwrap();
            s.commit(false).unwrap();
            assert_eq!(listing(&dir), vec!["plan.json".to_string()]);
            std::fs::remove_dir_all(&top).unwrap();
        }
    }

    #[test]
    fn leftovers_of_runs_that_are_gone_are_put_right() {
        let top = scratch("stale");
        std::fs::create_dir_all(&top).unwrap();
        // pid_max is at most 2^22: this process cannot exist. Process 1 always does.
        let gone_new = top.join(".out.disclose-4294967-0.new");
        let gone_old = top.join(".out.disclose-4294967-1.old");
        let live = top.join(".out.disclose-1-0.new");
        for d in [&gone_new, &gone_old, &live] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(gone_old.join("plan.json"), b"earlier").unwrap();
        // The output folder is missing: a swap was cut between its renames. It goes back.
        recover(&top, "out");
        assert_eq!(std::fs::read(top.join("out/plan.json")).unwrap(), b"earlier");
        assert_eq!(listing(&top), vec![".out.disclose-1-0.new".to_string(), "out".to_string()]);
        // With the output folder in place, an old folder is the earlier outputs swapped out: gone.
        std::fs::create_dir_all(&gone_old).unwrap();
        recover(&top, "out");
        assert_eq!(listing(&top), vec![".out.disclose-1-0.new".to_string(), "out".to_string()]);
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn a_staging_dropped_without_commit_leaves_nothing() {
        // A folder the run created is removed again; a folder that was there stays, untouched.
        let top = scratch("drop-nested");
        let deep = top.join("a").join("b");
        {
            let mut s = Staged::new(&deep);
            s.write("plan.json", b"{}").unwrap();
            let mut w = s.writer("bundle.pdf").unwrap();
            w.write_all(b"%PDF-").unwrap();
            // dropped half-way, as when a later stage fails
        }
        assert!(!top.exists(), "no folder of the run is left");
        let dir = scratch("drop-existing");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("older.txt"), b"x").unwrap();
        {
            let mut s = Staged::new(&dir.join("out"));
            s.write("plan.json", b"{}").unwrap();
        }
        assert_eq!(listing(&dir), vec!["older.txt".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_of_another_request_or_of_other_files_is_refused_unless_forced() {
        let top = scratch("target");
        let dir = top.join("out");
        let req = |s: &str| -> BTreeMap<String, String> {
            [("subject", s), ("requester", s), ("policy", "sar-self"), ("date", "2024-01-01")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        check_target(&dir, &req("p-a"), false).unwrap(); // missing
        std::fs::create_dir_all(&dir).unwrap();
        check_target(&dir, &req("p-a"), false).unwrap(); // empty
        let mut m = serde_json::json!({"core": {"request": req("p-a")}});
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        std::fs::write(dir.join("bundle.pdf"), b"x").unwrap();
        check_target(&dir, &req("p-a"), false).unwrap(); // the same request
        m["core"]["request"]["date"] = "2024-02-02".into();
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        check_target(&dir, &req("p-a"), false).unwrap(); // a re-run on another date
        let e = check_target(&dir, &req("p-b"), false).unwrap_err().to_string();
        assert!(e.contains("another request") && e.contains("--force"), "{e}");
        check_target(&dir, &req("p-b"), true).unwrap();
        std::fs::write(dir.join("Maisie letter.txt"), b"x").unwrap();
        let e = check_target(&dir, &req("p-a"), false).unwrap_err().to_string();
        assert!(e.contains("did not write") && e.contains("--force") && !e.contains("Maisie"), "{e}");
        std::fs::remove_file(dir.join("Maisie letter.txt")).unwrap();
        std::fs::remove_file(dir.join("manifest.json")).unwrap();
        let e = check_target(&dir, &req("p-a"), false).unwrap_err().to_string();
        assert!(e.contains("without a readable manifest.json"), "{e}");
        let e = check_target(&dir.join("bundle.pdf"), &req("p-a"), true).unwrap_err().to_string();
        assert!(e.contains("is a file"), "{e}");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn new_files_never_replace_old_ones() {
        let dir = scratch("new-files");
        write_new_files(&dir, &[("k.pem", b"key", true), ("c.pem", b"cert", false)]).unwrap();
        let e = write_new_files(&dir, &[("x.pem", b"x", false), ("k.pem", b"other", true)]).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read(dir.join("k.pem")).unwrap(), b"key");
        assert_eq!(listing(&dir), vec!["c.pem".to_string(), "k.pem".to_string()], "nothing was written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
