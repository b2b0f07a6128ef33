//! sohoa ("số hóa", to digitize): batch digitization and OCR of the paper
//! dossiers of Vietnamese one-stop offices. The library holds every stage; the
//! `sohoa` binary only parses arguments and maps results to exit codes.
//!
//! Stages, one module each: [`scan`] finds dossiers and pages, [`decode`] (and
//! [`pdfin`] for scanned PDFs) reads page files, [`preprocess`] finds
//! orientation, skew, blank pages and resolution, [`ocr`] recognizes text into
//! the engine-neutral [`model`], [`extract`] reads key fields by declarative
//! rules, [`pdf`] writes the searchable PDF, [`manifest`] records the run and
//! [`portal`] exports the portal's upload files. [`pipeline`] runs them in parallel.

mod aster;
mod clean;
pub mod config;
pub mod corrections;
pub mod decode;
pub mod documents;
pub mod error;
pub mod events;
pub mod extract;
pub mod fsutil;
mod layout;
mod lept;
pub mod manifest;
pub mod model;
pub mod ocr;
pub mod pdf;
pub mod pdfa;
pub mod pdfin;
pub mod pipeline;
mod poppler;
pub mod portal;
pub mod preprocess;
pub mod push;
pub mod raster;
mod reading;
pub mod report;
pub mod review;
pub mod scan;
mod sheets;
pub mod signatures;
pub mod state;
mod syllable;
pub mod words;

pub use error::{PageError, PageErrorKind, RunError};
pub use manifest::{DossierRecord, Manifest, PageRecord};
pub use pipeline::run;

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

/// Progress events of a run. Called from worker threads.
pub trait Progress: Sync {
    fn start(&self, _dossiers: usize, _pages: usize) {}
    /// A multi-page file turned out to hold more pages than counted.
    fn add_pages(&self, _n: usize) {}
    fn dossier_started(&self, _dossier: &str) {}
    fn page_done(&self, _dossier: &str, _page: &PageRecord) {}
    fn dossier_done(&self, _dossier: &DossierRecord) {}
    fn warn(&self, _message: &str) {}
    fn finished(&self, _summary: &manifest::Summary) {}
}

/// A progress sink that says nothing.
pub struct Silent;
impl Progress for Silent {}
