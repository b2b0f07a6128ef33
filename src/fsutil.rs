//! Writing files so that a crash never leaves half of one: every output goes
//! to a temporary file in the same folder, is flushed to disk, then renamed
//! over the final name. And reading the files that hold secrets (the portal's
//! credentials, the review station's token), which must be their owner's only.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes)).map(|_| ())
}

/// What a streamed write put on disk.
pub(crate) struct Written {
    pub bytes: u64,
    /// SHA-256 of the file, in lowercase hex.
    pub sha256: String,
}

/// Like [`write_atomic`], for a file written piece by piece by `fill` (a PDF
/// of many scans is never held whole in memory); returns its size and hash.
pub(crate) fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<Written> {
    use sha2::Digest;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{}.{}.tmp", name, std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = Hashing { out: std::io::BufWriter::with_capacity(1 << 20, file), hash: sha2::Sha256::new(), n: 0 };
        fill(&mut w)?;
        let Hashing { out, hash, n } = w;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Written { bytes: n, sha256 })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Passes writes on and hashes them.
struct Hashing<W: Write> {
    out: W,
    hash: sha2::Sha256,
    n: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.out.write(b)?;
        self.hash.update(&b[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The text of a file that holds a secret, refused when users other than
/// its owner may read or write it. The error says why, without the path.
pub fn read_private(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err("readable by other users; make it the owner's only (chmod 600)".into());
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}
