//! Writing files so that a crash never leaves half of one: every output goes
//! to a temporary file in the same folder, is flushed to disk, then renamed
//! over the final name. And reading the files that hold secrets (the portal's
//! credentials, the review station's token), which must be their owner's only.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{}.{}.tmp", name, std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
