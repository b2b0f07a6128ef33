//! What makes `sohoa run` safe to schedule every night over a growing scan
//! share: a lock so that two runs never share an output folder, a fingerprint
//! per dossier so that unchanged dossiers are carried over without OCR, and a
//! journal of finished dossiers so that a run killed at any moment loses only
//! the dossiers it was working on. This module owns the files under OUT that
//! hold that state (`.sohoa.lock`, `.sohoa-journal.jsonl`); it never touches
//! PDFs or the manifest's content.

use crate::error::RunError;
use crate::manifest::{DossierRecord, Manifest};
use crate::scan::DossierDir;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) const LOCK_FILE: &str = ".sohoa.lock";
pub(crate) const JOURNAL_FILE: &str = ".sohoa-journal.jsonl";

/// The output folder's lock: an OS lock (`flock`) on `.sohoa.lock`, held for
/// the run. The kernel releases it when its holder exits, however it exits,
/// so a lock never outlives its run and a reused PID means nothing; taking it
/// is one atomic call, so of two runs started together exactly one runs. The
/// file stays (removing it would let a waiting run lock a deleted file while
/// a third locks a new one); it holds the holder's PID, for the message.
pub(crate) struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Opens (or creates) the lock file at `path`, without truncating it:
    /// it holds the PID of whoever has the lock now.
    fn open(path: &Path) -> Result<std::fs::File, RunError> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| RunError::Output { path: path.to_path_buf(), source: e })
    }

    /// `file` locked by this process: it now holds our PID, for the message
    /// another taker gets.
    fn held(path: &Path, mut file: std::fs::File) -> Result<Lock, RunError> {
        let io = |e: std::io::Error| RunError::Output { path: path.to_path_buf(), source: e };
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Lock { _file: file })
    }

    /// The outcome of a try-lock on `path`: refused as busy, naming the
    /// holder's PID, when another process holds it.
    fn tried(path: &Path, r: Result<(), std::fs::TryLockError>) -> Result<(), RunError> {
        match r {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0);
                Err(RunError::Busy { path: path.to_path_buf(), pid })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(RunError::Output { path: path.to_path_buf(), source: e }),
        }
    }

    /// Takes OUT's lock, or refuses the run when another process holds it.
    pub(crate) fn acquire(out: &Path) -> Result<Lock, RunError> {
        let path = out.join(LOCK_FILE);
        let file = Lock::open(&path)?;
        Lock::tried(&path, file.try_lock())?;
        Lock::held(&path, file)
    }

    /// Shares OUT's lock with the other shards of a plan: they run side by
    /// side, while a plain run, a plan, a merge, a correction (which take it
    /// whole) are refused, and wait for none of them. (The file keeps the
    /// PID of the last whole holder: sharers do not write it.)
    pub(crate) fn share(out: &Path) -> Result<Lock, RunError> {
        let path = out.join(LOCK_FILE);
        let file = Lock::open(&path)?;
        Lock::tried(&path, file.try_lock_shared())?;
        Ok(Lock { _file: file })
    }

    /// Takes the lock at `path`, waiting while another process holds it
    /// (a second worker started on the same shard waits for the first).
    pub(crate) fn wait_for(path: &Path) -> Result<Lock, RunError> {
        let file = Lock::open(path)?;
        file.lock().map_err(|e| RunError::Output { path: path.to_path_buf(), source: e })?;
        Lock::held(path, file)
    }

    /// Whether a process holds the lock at `path` now.
    pub(crate) fn is_held(path: &Path) -> bool {
        let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(path) else { return false };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }
}

/// A dossier's fingerprint: its file names, sizes and contents, and
/// `settings` (everything else that shapes the output: `pipeline`'s
/// settings key). Equal fingerprints mean equal outputs.
pub(crate) struct Fingerprint {
    pub digest: String,
    /// SHA-256 of each file, in the dossier's file order.
    pub files: Vec<String>,
}

pub(crate) fn fingerprint(d: &DossierDir, settings: &str) -> std::io::Result<Fingerprint> {
    let mut h = Sha256::new();
    h.update(settings.as_bytes());
    let mut files = Vec::with_capacity(d.files.len());
    for f in &d.files {
        // Hashed as it is read: a file of any size costs one buffer.
        let mut hasher = Sha256::new();
        let len = std::io::copy(&mut std::fs::File::open(&f.path)?, &mut hasher)?;
        let file_hash = hasher.finalize();
        h.update(f.name.as_bytes());
        h.update([0]);
        h.update(len.to_le_bytes());
        h.update(file_hash);
        files.push(hex(&file_hash));
    }
    Ok(Fingerprint { digest: hex(&h.finalize()), files })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What tells whether OUT's manifest changed: its size and modification time.
pub(crate) type Stamp = Option<(u64, std::time::SystemTime)>;

/// The stamp of OUT's manifest now (None when there is none).
pub(crate) fn manifest_stamp(out: &Path) -> Stamp {
    let m = std::fs::metadata(out.join("manifest.json")).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// The previous run's manifest, with the stamp of the file it was read from
/// (taken before reading: a file replaced meanwhile shows a new stamp).
pub(crate) fn read_manifest(out: &Path) -> (Option<Manifest>, Stamp) {
    let stamp = manifest_stamp(out);
    let manifest = std::fs::read(out.join("manifest.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    (manifest, stamp)
}

/// Records of the previous runs into OUT: the manifest's, then the journal's
/// (newer) ones; keyed by dossier source.
pub(crate) fn previous_records(manifest: Option<&Manifest>, out: &Path) -> HashMap<String, DossierRecord> {
    let mut by_source: HashMap<String, DossierRecord> = HashMap::new();
    if let Some(m) = manifest {
        // A folder that comes back (a share remounted) is carried over, not redone.
        for d in &m.missing_dossiers {
            by_source.insert(d.source.clone(), d.last_record.clone());
        }
        for d in &m.dossiers {
            by_source.insert(d.source.clone(), d.clone());
        }
    }
    if let Ok(f) = std::fs::File::open(out.join(JOURNAL_FILE)) {
        // A line cut short by a kill is skipped.
        for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
            if let Ok(d) = serde_json::from_str::<DossierRecord>(&line) {
                by_source.insert(d.source.clone(), d);
            }
        }
    }
    by_source
}

/// Whether a previous record can stand for this run: same fingerprint, not
/// failed, no page error that may pass now, and every file it names still
/// in OUT.
pub(crate) fn reusable(prev: &DossierRecord, fingerprint: &str, out: &Path) -> bool {
    prev.fingerprint.as_deref() == Some(fingerprint)
        && prev.status != crate::manifest::DossierStatus::Failed
        && !prev.pages.iter().any(|p| p.error_class == Some(crate::error::ErrorClass::Transient))
        && prev.pdf.iter().chain(prev.documents.iter().filter_map(|d| d.pdf.as_ref())).all(|p| out.join(p).is_file())
        && prev.originals.iter().all(|o| out.join(&o.path).is_file())
}

/// Finished dossiers, appended one line each as they finish.
pub(crate) struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    pub(crate) fn open(out: &Path) -> Result<Journal, RunError> {
        Journal::at(&out.join(JOURNAL_FILE), false)
    }

    /// The journal in the file at `path`, emptied first when `fresh` (a
    /// shard's journal of another plan).
    pub(crate) fn at(path: &Path, fresh: bool) -> Result<Journal, RunError> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true);
        if fresh {
            opts.write(true).truncate(true);
        } else {
            opts.append(true);
        }
        let file = opts.open(path).map_err(|e| RunError::Output { path: path.to_path_buf(), source: e })?;
        Ok(Journal { file: Mutex::new(file), path: path.to_path_buf() })
    }

    pub(crate) fn append(&self, d: &DossierRecord) -> Result<(), RunError> {
        self.append_line(d)
    }

    /// Appends `value` as one JSON line and syncs it to disk.
    pub(crate) fn append_line(&self, value: &impl serde::Serialize) -> Result<(), RunError> {
        let mut line = serde_json::to_vec(value).expect("plain data serializes");
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|e| RunError::Output { path: self.path.clone(), source: e })
    }

    /// Once the manifest holds every record, the journal is no longer needed.
    pub(crate) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether a file name has the form `fsutil::write_atomic` gives its
/// temporaries (`.<name>.<pid>.tmp`): cleanup touches nothing else.
fn is_our_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else { return false };
    match rest.rsplit_once('.') {
        Some((stem, pid)) => !stem.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Removes temporary files a killed run left behind (see `fsutil`).
pub(crate) fn clean_temporaries(out: &Path) {
    for e in walkdir::WalkDir::new(out).into_iter().flatten() {
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file() && is_our_temporary(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_temporaries_are_cleaned() {
        assert!(is_our_temporary(".hs1.pdf.4242.tmp"));
        for n in [".scan.tmp", "hs1.pdf.4242.tmp", ".x.42a.tmp", "..1.tmp", ".hs1.pdf"] {
            assert!(!is_our_temporary(n), "{n}");
        }
    }

    #[test]
    fn a_stale_lock_is_taken_over_and_a_held_one_refuses() {
        let dir = std::env::temp_dir().join(format!("sohoa-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A lock file left by a killed run, naming a PID that now belongs to
        // another program (1 always runs): nobody holds the OS lock.
        std::fs::write(dir.join(LOCK_FILE), "1\n").unwrap();
        let lock = Lock::acquire(&dir).expect("stale lock taken over");
        assert_eq!(std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap().trim(), std::process::id().to_string());
        // Held: a second taker (another open file, as another process has) is refused.
        match Lock::acquire(&dir) {
            Err(RunError::Busy { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("{:?}", other.err()),
        }
        drop(lock);
        Lock::acquire(&dir).expect("released when dropped");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
