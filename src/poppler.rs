//! Running poppler's tools (`pdftoppm`, `pdftotext`) for the PDF pages sohoa
//! cannot read itself, and libheif's `heif-convert` for iPhone photos. It
//! exists apart from `pdfin` (which reads PDF objects) because running another
//! program has its own failure modes, each held to the page: a tool that runs
//! past the page's time limit is killed (a transient error), one that would
//! take more than 1 GiB of address space fails (a drawing bomb costs a page,
//! not the machine), a missing tool is an error that says how to install it,
//! and both its outputs are drained while it runs, so a tool that writes much
//! to stderr never blocks until the time limit. This is the only code in the
//! library that starts another program, and the only code that starts threads
//! outside `pipeline` (two per tool run, for the pipes).

use crate::error::PageErrorKind as K;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long poppler may take to render or extract one page.
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// The address space a poppler tool may take.
const TOOL_MEMORY: u64 = 1 << 30;

/// At most this much of a tool's stderr is kept for the error message.
const STDERR_KEPT: usize = 4096;

thread_local! {
    /// The time a poppler tool may take on the page this thread reads.
    static TIME_LIMIT: std::cell::Cell<Duration> = const { std::cell::Cell::new(TOOL_TIMEOUT) };
}

/// Runs `f` (reading one page) with poppler's tools held to `limit`, so that
/// the page time limit covers rendering as well as OCR.
pub(crate) fn with_time_limit<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let old = TIME_LIMIT.with(|c| c.replace(limit.min(TOOL_TIMEOUT)));
    let r = f();
    TIME_LIMIT.with(|c| c.set(old));
    r
}

/// Whether poppler's tools run on this machine: asked once at the start of
/// a run that has PDFs to read, so that their absence stops the run with
/// what to install (like Tesseract's), instead of costing every PDF page.
pub(crate) fn check_installed() -> Result<(), String> {
    for program in ["pdftoppm", "pdftotext", "pdfinfo", "pdfseparate"] {
        Command::new(program)
            .arg("-v")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{program} cannot run ({e})"))?;
    }
    Ok(())
}

/// Reads a pipe to its end on a thread of its own, keeping at most `keep`
/// bytes (the end of it) and discarding the rest as it comes.
fn drain(mut pipe: impl Read + Send + 'static, keep: usize) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > keep {
                        kept.drain(..kept.len() - keep);
                    }
                }
            }
        }
        kept
    })
}

/// Runs a poppler tool and returns its standard output, or an error naming
/// the tool.
pub(crate) fn run_tool(program: &str, args: &[&str]) -> Result<Vec<u8>, K> {
    let limit = TIME_LIMIT.with(|c| c.get());
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: the closure runs in the forked child before exec and calls
    // only setrlimit, which is async-signal-safe; it touches no memory of
    // the parent's other threads.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let lim = libc::rlimit { rlim_cur: TOOL_MEMORY as libc::rlim_t, rlim_max: TOOL_MEMORY as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| K::ToolMissing { program: program.to_string(), reason: e.to_string() })?;
    let stdout = drain(child.stdout.take().expect("piped"), usize::MAX);
    let stderr = drain(child.stderr.take().expect("piped"), STDERR_KEPT);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(K::ToolTimeout { program: program.to_string(), secs: limit.as_secs_f32() });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(K::Io(e)),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(K::Corrupt(format!(
            "{program} could not read this page: {}",
            String::from_utf8_lossy(&err).trim()
        )));
    }
    Ok(out)
}

/// The primary image of an HEIC/HEIF or AVIF file as a JPEG (quality 92),
/// written by libheif's `heif-convert` into a temporary folder that goes away
/// with the returned guard. A file holding several images gives one JPEG
/// each, numbered; the first is the primary one.
pub(crate) fn heif_to_jpeg(path: &std::path::Path) -> Result<(tempfile::TempDir, std::path::PathBuf), K> {
    let dir = tempfile::tempdir().map_err(K::Io)?;
    let out = dir.path().join("page.jpg");
    run_tool("heif-convert", &["--quiet", "-q", "92", &path.to_string_lossy(), &out.to_string_lossy()])?;
    let written = if out.is_file() {
        out
    } else {
        let mut jpegs: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
            .map_err(K::Io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
            .collect();
        jpegs.sort();
        jpegs.into_iter().next().ok_or_else(|| K::Corrupt("heif-convert wrote no image".into()))?
    };
    Ok((dir, written))
}

/// A small gray PNG of page `page` (1-based) of a PDF, `width` pixels wide,
/// as the page shows (its /Rotate applied): for the report's thumbnails.
/// Poppler reads only that page's objects, so a 160 MB dossier PDF costs
/// its one page (measured: 11 MB and 0.2 s, against 377 MB when the file
/// was parsed whole).
pub(crate) fn thumbnail(pdf: &std::path::Path, page: usize, width: u32) -> Result<Vec<u8>, K> {
    let (page, width) = (page.to_string(), width.to_string());
    let path = pdf.to_string_lossy();
    with_time_limit(Duration::from_secs(30), || {
        run_tool(
            "pdftoppm",
            &["-f", &page, "-l", &page, "-scale-to-x", &width, "-scale-to-y", "-1", "-gray", "-png", &path],
        )
    })
}

/// How many pages a PDF has, from `pdfinfo` (which reads only what it
/// needs): for PDFs too large to parse whole.
pub(crate) fn page_count(pdf: &std::path::Path) -> Result<u32, K> {
    let info = run_tool("pdfinfo", &[&pdf.to_string_lossy()])?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
        .filter(|&n: &u32| n > 0)
        .ok_or_else(|| K::Corrupt("pdfinfo found no pages in the PDF".into()))
}

/// Page `page` (1-based) of a PDF as a PDF of its own, written by
/// `pdfseparate` (which copies that page's objects, images unchanged) into
/// a temporary folder that goes away with the returned guard.
pub(crate) fn separate(pdf: &std::path::Path, page: u32) -> Result<(tempfile::TempDir, std::path::PathBuf), K> {
    let dir = tempfile::tempdir().map_err(K::Io)?;
    let one = dir.path().join("page.pdf");
    let n = page.to_string();
    run_tool("pdfseparate", &["-f", &n, "-l", &n, &pdf.to_string_lossy(), &one.to_string_lossy()])?;
    Ok((dir, one))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_writes_much_to_stderr_does_not_block() {
        // 1 MB on stderr (far more than a pipe holds), then a clean exit: a
        // tool blocked on a full pipe would hit the limit and be killed.
        let r = with_time_limit(Duration::from_secs(5), || {
            run_tool("sh", &["-c", "head -c 1000000 /dev/zero | tr '\\0' x >&2; printf done"])
        });
        assert_eq!(r.unwrap(), b"done");
        let e = run_tool("sh", &["-c", "head -c 100000 /dev/zero | tr '\\0' y >&2; exit 3"]).unwrap_err();
        assert!(e.to_string().len() < STDERR_KEPT + 200, "the kept stderr is bounded");
    }
}
