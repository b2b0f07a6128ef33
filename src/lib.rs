//! sohoa ("số hóa", to digitize): batch digitization and OCR of the paper
//! dossiers of Vietnamese one-stop offices. The library holds every stage; the
//! `sohoa` binary only parses arguments and maps results to exit codes.
//!
//! Stages, one module each: `scan` finds dossiers and pages, `decode` (and
//! `pdfin` for scanned PDFs) reads page files, `preprocess` finds
//! orientation, skew, blank pages and resolution, `ocr` recognizes text into
//! the engine-neutral `model`, `extract` reads key fields by the declarative
//! rules `rules` loads, `pdf` writes the searchable PDF, `manifest` records the run and
//! `portal` exports the portal's upload files. `pipeline` runs them in parallel.
//!
//! Only what the binary needs is public (the run, plan, shard and merge, the
//! manifest's types, the side commands); every other module is private to
//! the library, so the compiler reports what nothing uses.

mod address;
mod assemble;
mod aster;
mod catalog;
mod clean;
mod combs;
pub mod config;
pub mod corrections;
mod decode;
mod documents;
mod engines;
pub mod error;
pub mod events;
pub mod extract;
pub mod flags;
mod frequency;
pub mod fsutil;
mod ink;
mod junk;
mod layout;
mod lept;
mod lexicon;
pub mod manifest;
pub mod model;
mod ocr;
mod options;
mod page;
mod payload;
mod pdf;
mod pdfa;
mod pdfin;
mod phrases;
pub mod pipeline;
mod poppler;
mod portal;
mod preprocess;
pub mod push;
mod raster;
mod reading;
pub mod report;
pub mod review;
mod rules;
mod scan;
mod second;
mod shard;
mod sheets;
mod signatures;
mod spool;
mod state;
mod syllable;
mod tables;
mod values;
mod words;

pub use error::{PageError, PageErrorKind, RunError};
pub use manifest::{DossierRecord, Manifest, PageRecord};
pub use options::Options;
pub use pipeline::{merge, plan, run, run_shard, ShardOutcome};
pub use shard::{Plan, ShardSpec};

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
