//! Machine-readable run events for monitoring (`--log-json FILE`): one JSON
//! object per line for each dossier started and finished, each page done,
//! each error and warning, and the summary. It exists so that IT staff can
//! watch nightly runs with the tools they have, without parsing log text.

use crate::manifest::{DossierRecord, PageRecord, PageStatus, Summary};
use crate::Progress;
use serde_json::json;
use std::io::Write;
use std::sync::Mutex;

/// Writes events to a file, a line each, flushed as they happen.
pub struct JsonLog {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl JsonLog {
    pub fn create(path: &std::path::Path) -> std::io::Result<JsonLog> {
        let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLog { file: Mutex::new(std::io::BufWriter::new(f)) })
    }

    fn emit(&self, mut v: serde_json::Value) {
        let t =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        v["time"] = json!(t);
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // Monitoring must never stop the run: a failed write is dropped.
        let _ = serde_json::to_writer(&mut *f, &v);
        let _ = f.write_all(b"\n");
        let _ = f.flush();
    }
}

impl Progress for JsonLog {
    fn start(&self, dossiers: usize, pages: usize) {
        self.emit(json!({"event": "run_started", "dossiers": dossiers, "page_files": pages}));
    }
    fn dossier_started(&self, dossier: &str) {
        self.emit(json!({"event": "dossier_started", "dossier": dossier}));
    }
    fn page_done(&self, dossier: &str, p: &PageRecord) {
        self.emit(json!({"event": "page_done", "dossier": dossier, "source": p.source, "frame": p.frame,
                         "status": p.status, "words": p.words, "flags": p.flags}));
        if p.status == PageStatus::Error {
            self.emit(json!({"event": "error", "dossier": dossier, "source": p.source, "frame": p.frame,
                             "error": p.error}));
        }
    }
    fn dossier_done(&self, d: &DossierRecord) {
        self.emit(json!({"event": "dossier_done", "dossier": d.source, "status": d.status, "pdf": d.pdf,
                         "pages": d.pages.len()}));
    }
    fn warn(&self, message: &str) {
        self.emit(json!({"event": "warning", "message": message}));
    }
    fn finished(&self, s: &Summary) {
        self.emit(json!({"event": "summary", "summary": s}));
    }
}

/// Sends every event to two sinks.
pub struct Both<'a>(pub &'a dyn Progress, pub &'a dyn Progress);

impl Progress for Both<'_> {
    fn start(&self, d: usize, p: usize) {
        self.0.start(d, p);
        self.1.start(d, p);
    }
    fn add_pages(&self, n: usize) {
        self.0.add_pages(n);
        self.1.add_pages(n);
    }
    fn dossier_started(&self, d: &str) {
        self.0.dossier_started(d);
        self.1.dossier_started(d);
    }
    fn page_done(&self, d: &str, p: &PageRecord) {
        self.0.page_done(d, p);
        self.1.page_done(d, p);
    }
    fn dossier_done(&self, d: &DossierRecord) {
        self.0.dossier_done(d);
        self.1.dossier_done(d);
    }
    fn warn(&self, m: &str) {
        self.0.warn(m);
        self.1.warn(m);
    }
    fn finished(&self, s: &Summary) {
        self.0.finished(s);
        self.1.finished(s);
    }
}
