//! `Options`: everything a run needs to know, as plain data. It exists apart
//! from the stages so that every way of starting a run (the command line, a
//! config file, a test) fills one struct and the library never sees how.

use std::path::PathBuf;
use std::time::Duration;

/// Everything a run needs to know. Plain data: the binary fills it from the
/// command line, tests fill it directly.
#[derive(Clone, Debug)]
pub struct Options {
    pub input: PathBuf,
    pub out: PathBuf,
    /// Worker threads, each with its own OCR engine.
    pub jobs: usize,
    /// Tesseract language(s), e.g. "vie".
    pub lang: String,
    /// Folder holding `<lang>.traineddata`; Tesseract's default when None.
    pub tessdata: Option<PathBuf>,
    /// A page whose recognition runs longer is an error, not a hang.
    pub page_timeout: Duration,
    /// Draw the text layer visibly (to check its placement by eye).
    pub show_text_layer: bool,
    /// Field extraction rules; the built-in `pipelines/tthc.toml` when None.
    pub pipeline: Option<PathBuf>,
    /// Write PDF/A-2b (the default); plain PDF when false.
    pub pdfa: bool,
    /// Redo every dossier, even those unchanged since the last run into OUT.
    pub force: bool,
    /// Ask the second reader (AsterOCR) about words Tesseract is unsure of.
    pub second_reader: bool,
    /// Folder of the second reader's files; the default folders when None.
    pub second_reader_dir: Option<PathBuf>,
    /// The run refuses when more than this fraction of the previous run's
    /// dossiers are missing from the input, or the input holds none (an
    /// unmounted share); 1 never refuses.
    pub max_missing: f64,
}

impl Options {
    pub fn new(input: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Options {
        Options {
            input: input.into(),
            out: out.into(),
            jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            lang: "vie".into(),
            tessdata: None,
            page_timeout: Duration::from_secs(120),
            show_text_layer: false,
            pipeline: None,
            pdfa: true,
            force: false,
            second_reader: true,
            second_reader_dir: None,
            max_missing: 0.5,
        }
    }
}
