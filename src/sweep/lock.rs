//! A lock on an output folder: one sweep (or merge) writes into a folder at a time.
//!
//! Two writers would interleave their journal lines and overwrite each other's results. The
//! lock is `flock(2)` on `DIR/.lbsim.lock`, which the kernel releases when the process ends
//! however it ends (`kill -9` included), so a crash never leaves a folder locked. The file
//! holds the holder's command line and process id, for the message the second writer gets.
//! On systems without `flock` the folder is not locked.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The lock file's name in an output folder.
pub const FILE: &str = ".lbsim.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
    pub path: PathBuf,
}

/// Locks `dir` (creating it) for `command`, or fails at once naming the process that holds
/// it.
pub fn acquire(dir: &Path, command: &[String]) -> Result<FolderLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    let path = dir.join(FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot create the lock file {}", path.display()))?;
    if !try_lock(&file)? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let age = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or(String::new(), |d| format!(", started {} ago", crate::units::format_duration(d.as_secs_f64())));
        let holder = holder.trim();
        let holder = if holder.is_empty() { "another lbsim process".to_string() } else { holder.to_string() };
        bail!(
            "{} is in use by {holder}{age}; wait for it to finish (or stop it), or write to another --out",
            dir.display()
        );
    }
    let record = format!("`{}` (process {})", command.join(" "), std::process::id());
    let written = file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).and_then(|_| {
        file.write_all(record.as_bytes())?;
        file.flush()
    });
    written.with_context(|| format!("cannot write the lock file {}", path.display()))?;
    Ok(FolderLock { _file: file, path })
}

/// Takes an exclusive lock without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        return Ok(false);
    }
    Err(err).context("cannot lock the output folder")
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_folder_fails_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), &["lbsim".into(), "sweep".into(), "first.toml".into()]).unwrap();
        let err = acquire(dir.path(), &["lbsim".into(), "sweep".into(), "second.toml".into()]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("is in use by `lbsim sweep first.toml`"), "{message}");
        drop(first);
        acquire(dir.path(), &["lbsim".into()]).expect("free again once the first is dropped");
    }
}
