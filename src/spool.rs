//! A dossier's page images held on disk while its pages are read. Pages are
//! read in parallel and the dossier's PDFs are written only when all of them
//! are known (the file name comes from the dossier code on some page, the
//! documents from all the pages' text), so without this the images of a
//! sixty-page dossier of 2.5 MB scans (150 MB) would stay in memory until the
//! end. Each image goes to an unnamed temporary file in OUT as soon as its
//! page is read and comes back, one page at a time, as each PDF is written.
//! The file loses its name as soon as it is made, so nothing is left behind
//! by a crash.

use crate::payload::Embed;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The temporary file and where its next image goes.
pub(crate) struct Spool {
    file: std::fs::File,
    end: AtomicU64,
}

/// A page image in the spool: its form here, its bytes there.
pub(crate) struct Spooled {
    form: Embed,
    at: u64,
    len: usize,
}

impl Spool {
    /// A spool in folder `dir` (OUT, so that it is on the outputs' disk).
    pub(crate) fn new(dir: &Path) -> std::io::Result<Spool> {
        // Named as sohoa's temporaries are (`.<name>.<pid>.tmp`) and unlinked
        // at once: a crash in between leaves a file the next run's cleanup
        // removes.
        let file = tempfile::Builder::new()
            .prefix(".spool")
            .suffix(&format!(".{}.tmp", std::process::id()))
            .tempfile_in(dir)?
            .into_file();
        Ok(Spool { file, end: AtomicU64::new(0) })
    }

    /// Moves the image's bytes to disk; any thread may call it.
    pub(crate) fn put(&self, mut e: Embed) -> std::io::Result<Spooled> {
        let data = std::mem::take(e.data_mut());
        let at = self.end.fetch_add(data.len() as u64, Ordering::SeqCst);
        self.file.write_all_at(&data, at)?;
        Ok(Spooled { form: e, at, len: data.len() })
    }

    /// The image, bytes and all.
    pub(crate) fn get(&self, s: &Spooled) -> std::io::Result<Embed> {
        let mut data = vec![0; s.len];
        self.file.read_exact_at(&mut data, s.at)?;
        let mut e = s.form.clone();
        *e.data_mut() = data;
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Color;

    #[test]
    fn images_come_back_as_they_went_in() {
        let dir = std::env::temp_dir();
        let spool = Spool::new(&dir).unwrap();
        let a = Embed::Jpeg { data: vec![1, 2, 3], width: 4, height: 5, color: Color::Rgb, adobe_inverted: false };
        let b = Embed::G4 { data: vec![9; 1000], width: 8, height: 9, black_is_1: true };
        let (sa, sb) = (spool.put(a.clone()).unwrap(), spool.put(b.clone()).unwrap());
        assert_eq!(spool.get(&sb).unwrap().digest(), b.digest());
        assert_eq!(spool.get(&sa).unwrap().digest(), a.digest());
        assert!(sa.form.clone().data_mut().is_empty(), "the bytes are on disk, not in memory");
    }
}
