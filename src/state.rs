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

pub const LOCK_FILE: &str = ".sohoa.lock";
pub const JOURNAL_FILE: &str = ".sohoa-journal.jsonl";

/// The output folder's lock, held for the run and removed when dropped.
pub struct Lock {
    path: PathBuf,
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

impl Lock {
    /// Takes OUT's lock. A lock left by a process that no longer runs is taken
    /// over; a live one refuses the run.
    pub fn acquire(out: &Path) -> Result<Lock, RunError> {
        let path = out.join(LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id())
                        .map_err(|e| RunError::Output { path: path.clone(), source: e })?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if pid != std::process::id() && process_alive(pid) => {
                            return Err(RunError::Busy { path, pid });
                        }
                        // Stale (its process is gone) or unreadable: take it over.
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(RunError::Output { path, source: e }),
            }
        }
        Err(RunError::Output { path, source: std::io::Error::other("the lock could not be taken") })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A dossier's fingerprint: its file names, sizes and contents, and
/// `settings` (language, pipeline, PDF/A, sohoa's version). Equal fingerprints
/// mean equal outputs.
pub struct Fingerprint {
    pub digest: String,
    /// SHA-256 of each file, in the dossier's file order.
    pub files: Vec<String>,
}

pub fn fingerprint(d: &DossierDir, settings: &str) -> std::io::Result<Fingerprint> {
    let mut h = Sha256::new();
    h.update(settings.as_bytes());
    let mut files = Vec::with_capacity(d.files.len());
    for f in &d.files {
        let bytes = std::fs::read(&f.path)?;
        let file_hash = Sha256::digest(&bytes);
        h.update(f.name.as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(file_hash);
        files.push(hex(&file_hash));
    }
    Ok(Fingerprint { digest: hex(&h.finalize()), files })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Records of the previous runs into OUT: the manifest's, then the journal's
/// (newer) ones; keyed by dossier source.
pub fn previous(out: &Path) -> (Option<Manifest>, HashMap<String, DossierRecord>) {
    let manifest: Option<Manifest> =
        std::fs::read(out.join("manifest.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let mut by_source: HashMap<String, DossierRecord> = HashMap::new();
    if let Some(m) = &manifest {
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
    (manifest, by_source)
}

/// Whether a previous record can stand for this run: same fingerprint, not
/// failed, and every file it names still in OUT.
pub fn reusable(prev: &DossierRecord, fingerprint: &str, out: &Path) -> bool {
    prev.fingerprint.as_deref() == Some(fingerprint)
        && prev.status != crate::manifest::DossierStatus::Failed
        && prev.pdf.iter().chain(prev.documents.iter().filter_map(|d| d.pdf.as_ref())).all(|p| out.join(p).is_file())
        && prev.originals.iter().all(|o| out.join(&o.path).is_file())
}

/// Finished dossiers, appended one line each as they finish.
pub struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    pub fn open(out: &Path) -> Result<Journal, RunError> {
        let path = out.join(JOURNAL_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| RunError::Output { path: path.clone(), source: e })?;
        Ok(Journal { file: Mutex::new(file), path })
    }

    pub fn append(&self, d: &DossierRecord) -> Result<(), RunError> {
        let mut line = serde_json::to_vec(d).expect("plain data serializes");
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|e| RunError::Output { path: self.path.clone(), source: e })
    }

    /// Once the manifest holds every record, the journal is no longer needed.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes temporary files a killed run left behind (see `fsutil`).
pub fn clean_temporaries(out: &Path) {
    for e in walkdir::WalkDir::new(out).into_iter().flatten() {
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file() && name.starts_with('.') && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_lock_is_taken_over_and_a_live_one_refuses() {
        let dir = std::env::temp_dir().join(format!("sohoa-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A PID that cannot be running.
        std::fs::write(dir.join(LOCK_FILE), "4294967\n").unwrap();
        let lock = Lock::acquire(&dir).expect("stale lock taken over");
        assert_eq!(std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap().trim(), std::process::id().to_string());
        drop(lock);
        assert!(!dir.join(LOCK_FILE).exists());
        // PID 1 always runs.
        std::fs::write(dir.join(LOCK_FILE), "1\n").unwrap();
        assert!(matches!(Lock::acquire(&dir), Err(RunError::Busy { pid: 1, .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
