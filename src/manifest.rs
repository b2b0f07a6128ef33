//! The batch manifest, `OUT/manifest.json`: what was read, what was written,
//! and how each page went. Tools downstream (portal upload, reports, the next
//! nightly run) read it, so its keys are a contract: keys are only ever added.
//! This module owns those types and their serialization; it computes nothing.

use crate::extract::FieldValue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub sohoa_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub input: String,
    pub settings: Settings,
    pub summary: Summary,
    pub dossiers: Vec<DossierRecord>,
    /// Dossiers of earlier runs whose folder is gone from the input: kept,
    /// with when they went missing, so that no history is dropped silently.
    #[serde(default)]
    pub missing_dossiers: Vec<MissingDossier>,
    /// Parts of the input that could not be read (a folder without
    /// permission, a broken link) or were not followed (a link to outside
    /// the input), each with its path: never dropped silently.
    #[serde(default)]
    pub input_errors: Vec<InputError>,
}

/// A part of the input that is not in any dossier because it could not be
/// read or was not followed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InputError {
    /// Path relative to the input, `/`-separated, NFC.
    pub path: String,
    pub error: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MissingDossier {
    pub source: String,
    /// Start of the first run that did not find the folder.
    pub missing_since: String,
    pub last_record: DossierRecord,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub lang: String,
    pub jobs: usize,
    /// Name of the extraction pipeline used.
    #[serde(default)]
    pub pipeline: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub dossiers: usize,
    pub dossiers_ok: usize,
    pub dossiers_partial: usize,
    pub dossiers_failed: usize,
    pub pages: usize,
    pub pages_ok: usize,
    pub pages_blank: usize,
    pub pages_error: usize,
    pub pages_low_dpi: usize,
    /// Dossiers carried over unchanged from an earlier run (no OCR).
    #[serde(default)]
    pub dossiers_reused: usize,
    /// Dossiers of earlier runs whose folder is gone (see `missing_dossiers`).
    #[serde(default)]
    pub dossiers_missing: usize,
    /// Pages recognized by OCR in this run.
    #[serde(default)]
    pub pages_ocr: usize,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DossierStatus {
    Ok,
    Partial,
    Failed,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Ok,
    Blank,
    Error,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DossierRecord {
    /// Folder relative to the input, `/`-separated, NFC.
    pub source: String,
    pub status: DossierStatus,
    /// PDF relative to OUT; null when no page could be read.
    pub pdf: Option<String>,
    pub pdf_sha256: Option<String>,
    pub pdf_bytes: Option<u64>,
    pub pages: Vec<PageRecord>,
    /// SHA-256 over the dossier's file names, sizes and contents and the
    /// settings that shape its output; an unchanged dossier is not redone.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Key fields found (absent when not found), see `extract`.
    pub fields: BTreeMap<String, FieldValue>,
    /// The documents of the dossier, each with its own PDF.
    #[serde(default)]
    pub documents: Vec<crate::documents::Document>,
    /// Files in the folder that are not pages (not images), listed so that
    /// nothing is dropped silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<String>,
    /// Digitally signed input files, kept byte for byte under OUT/originals;
    /// the dossier's PDF is a derivative that does not carry their signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub originals: Vec<OriginalRecord>,
    /// Why the dossier failed as a whole (e.g. its PDF could not be written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When this record was made (RFC 3339, UTC). A dossier carried over
    /// unchanged keeps the time of the run that digitized it, so the run's
    /// own work is the dossiers digitized at or after `started_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitized_at: Option<String>,
    /// Corrections made on pages that have changed since: not applied, to be
    /// confirmed by a clerk (`corrections`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections_to_confirm: Vec<Correction>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OriginalRecord {
    /// File name within the dossier folder, NFC.
    pub source: String,
    /// The kept copy, relative to OUT.
    pub path: String,
    pub sha256: String,
    pub signed: bool,
    pub signatures: Vec<crate::signatures::Signature>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PageRecord {
    /// 1-based position in the dossier (and in its PDF, for pages not in error).
    pub index: usize,
    /// File name within the dossier folder, NFC.
    pub source: String,
    /// Frame within a multi-page file (TIFF, PDF), 0-based.
    pub frame: u32,
    pub status: PageStatus,
    pub error: Option<String>,
    pub width_px: u32,
    pub height_px: u32,
    pub dpi: u32,
    /// Clockwise turn applied to stand the page upright (0, 90, 180, 270).
    pub rotation: u32,
    /// Skew of the printed lines in degrees, positive rising to the right.
    pub skew_deg: f32,
    pub ocr_confidence: Option<f32>,
    pub words: usize,
    pub flags: Vec<crate::flags::PageFlag>,
    /// 1-based page number in the dossier PDF, when the page is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_page: Option<usize>,
    /// SHA-256 of the source file (the same for every frame of a file).
    #[serde(default)]
    pub source_sha256: Option<String>,
    /// Where the page's text comes from: "ocr", or "pdf" for a born-digital
    /// PDF page whose own text was kept; null when the page has no text.
    #[serde(default)]
    pub text_source: Option<TextSource>,
    /// Words the recognizer read that were dropped from the text as junk
    /// (implausible and read with low confidence: stamps, signatures, rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junk_words: Option<usize>,
    /// For a page in error: "transient" (a read failure, a time limit: the
    /// next run redoes the dossier) or "permanent" (the bytes are bad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<crate::error::ErrorClass>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TextSource {
    Ocr,
    Pdf,
}

impl Summary {
    pub fn add(&mut self, d: &DossierRecord) {
        self.dossiers += 1;
        match d.status {
            DossierStatus::Ok => self.dossiers_ok += 1,
            DossierStatus::Partial => self.dossiers_partial += 1,
            DossierStatus::Failed => self.dossiers_failed += 1,
        }
        for p in &d.pages {
            self.pages += 1;
            match p.status {
                PageStatus::Ok => self.pages_ok += 1,
                PageStatus::Blank => self.pages_blank += 1,
                PageStatus::Error => self.pages_error += 1,
            }
            if p.flags.contains(&crate::flags::PageFlag::LowDpi) {
                self.pages_low_dpi += 1;
            }
        }
    }

    /// Counts a dossier of this run: `carried_over` from an earlier run
    /// (no OCR), or its OCR pages when it was `read_now` (not kept from an
    /// earlier try of the same shard).
    pub(crate) fn add_outcome(&mut self, d: &DossierRecord, carried_over: bool, read_now: bool) {
        self.add(d);
        if carried_over {
            self.dossiers_reused += 1;
        } else if read_now {
            self.pages_ocr += d.pages.iter().filter(|p| p.text_source == Some(TextSource::Ocr)).count();
        }
    }
}

pub fn to_json(m: &Manifest) -> Vec<u8> {
    // Serializing plain data to a Vec cannot fail.
    let mut v = serde_json::to_vec_pretty(m).expect("manifest serializes");
    v.push(b'\n');
    v
}

/// One correction as the file records it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Correction {
    /// The dossier's folder (the manifest's `source`).
    pub dossier: String,
    /// Its dossier code when corrected ("" when none was read).
    pub ma_ho_so: String,
    pub field: String,
    /// The value before (None: the field was not found).
    pub old: Option<String>,
    /// The value set (None: "not in the dossier").
    pub new: Option<String>,
    pub by: String,
    /// Vietnam time, RFC 3339 (`2024-05-06T21:03:12+07:00`).
    pub at: String,
    /// The dossier's fingerprint when corrected: the pages the clerk saw.
    pub fingerprint: Option<String>,
}
