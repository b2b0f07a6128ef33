//! Typed errors of the library. They exist so that every failure names where it
//! happened (dossier, page, file path) and what a clerk or the IT staff can do
//! about it; no error on input data is ever a panic.

use std::path::PathBuf;

/// Why one page could not be digitized. The batch goes on; the page is recorded
/// with status "error" and this text.
#[derive(Debug, thiserror::Error)]
pub enum PageErrorKind {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("file is empty")]
    Empty,
    #[error("not a supported page format: {0}")]
    Unsupported(String),
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
    #[error("image is {width}x{height} pixels, more than the limit of {limit} pixels for a paper page")]
    TooLarge { width: u64, height: u64, limit: u64 },
    #[error("{0}: more than sohoa reads for one page")]
    Limit(String),
    #[error("OCR took longer than the page time limit of {0} s")]
    OcrTimeout(f32),
    #[error("OCR failed: {0}")]
    Ocr(String),
    #[error("{program} took longer than the page time limit of {secs} s and was stopped")]
    ToolTimeout { program: String, secs: f32 },
    #[error("this page must be read by {program}, which cannot run ({reason}); install it with: sudo apt-get install {}", debian_package(.program))]
    ToolMissing { program: String, reason: String },
}

/// The Debian package that holds a tool sohoa runs.
fn debian_package(program: &str) -> &'static str {
    match program {
        "heif-convert" => "libheif-examples",
        _ => "poppler-utils",
    }
}

impl PageErrorKind {
    /// Transient when the same bytes may pass next time: a read that failed
    /// (a share that hiccuped), a time limit (a loaded machine), the engine
    /// failing, a tool missing. Bad bytes (empty, unsupported, corrupt, too large) fail again
    /// until the file changes, which its fingerprint notices anyway.
    pub fn class(&self) -> ErrorClass {
        use PageErrorKind as K;
        match self {
            K::Io(_) | K::OcrTimeout(_) | K::Ocr(_) | K::ToolTimeout { .. } | K::ToolMissing { .. } => {
                ErrorClass::Transient
            }
            K::Empty | K::Unsupported(_) | K::Corrupt(_) | K::TooLarge { .. } | K::Limit(_) => ErrorClass::Permanent,
        }
    }
}

/// Whether a page error is retried by the next run without `--force`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// The bytes are bad: retried only when the file changes.
    Permanent,
    /// It may pass next time: the dossier is redone by the next run.
    Transient,
}

/// A page error with its place: the file and, for multi-page files, the frame.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {kind}", path.display(), frame.map(|f| format!(" (page {})", f + 1)).unwrap_or_default())]
pub struct PageError {
    pub path: PathBuf,
    pub frame: Option<u32>,
    pub kind: PageErrorKind,
}

impl PageError {
    pub fn new(path: impl Into<PathBuf>, frame: Option<u32>, kind: PageErrorKind) -> Self {
        PageError { path: path.into(), frame, kind }
    }
}

/// An error that stops the whole run (as opposed to one page or one dossier).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("input folder {}: {reason}", path.display())]
    BadInput { path: PathBuf, reason: String },
    #[error("output folder {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    #[error("{what} is missing. Install it with:\n    {install}")]
    MissingDependency { what: String, install: String },
    #[error("{0}")]
    Usage(String),
    /// The input looks gone (an unmounted share, an emptied folder): the run
    /// refuses before touching OUT, so that nothing recorded is lost.
    #[error("input folder {}: {reason}; nothing was changed in the output (if this is intended, run with --max-missing 1)", path.display())]
    InputVanished { path: PathBuf, reason: String },
    #[error("another sohoa run (process {pid}) is using this output folder; its lock is {}", path.display())]
    Busy { path: PathBuf, pid: u32 },
    /// The portal's endpoint could not be reached or refused the login:
    /// nothing was sent, nothing marked sent.
    #[error("portal {url}: {reason}; nothing was sent")]
    Portal { url: String, reason: String },
    /// `sohoa merge` found the shards not ready (one still runs, is
    /// missing or from another plan, two claim one dossier): nothing written.
    #[error("cannot merge the shards in {}: {}; nothing was changed", out.display(), problems.join("; "))]
    MergeRefused { out: PathBuf, problems: Vec<String> },
}
