//! Clerks' corrections of key fields, kept as data apart from what OCR read:
//! `OUT/corrections.jsonl`, append only, one line per correction (dossier,
//! field, old and new value, who, when). It exists so that a correction lasts:
//! every run applies the file to the dossiers it records, an unchanged
//! dossier keeps its corrected value, and a dossier whose pages changed since
//! shows the correction "to confirm" instead of it silently winning over the
//! new pages or vanishing. `sohoa correct` (and later the review station)
//! append here and refresh the manifest, portal files and report at once,
//! without OCR.

use crate::error::RunError;
use crate::extract::{FieldValue, Rules};
pub use crate::manifest::Correction;
use crate::manifest::{DossierRecord, Manifest};
use std::io::Write;
use std::path::Path;

/// The corrections file in OUT.
pub const FILE: &str = "corrections.jsonl";
/// `FieldValue::source` of a corrected field.
pub const SOURCE: &str = "correction";

/// Every correction in OUT, oldest first. A line cut by a crash is skipped.
pub fn load(out: &Path) -> Vec<Correction> {
    let Ok(text) = std::fs::read_to_string(out.join(FILE)) else { return Vec::new() };
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn append(out: &Path, c: &Correction) -> Result<(), RunError> {
    let path = out.join(FILE);
    let io = |e: std::io::Error| RunError::Output { path: path.clone(), source: e };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
    let line = serde_json::to_string(c).expect("plain data serializes");
    writeln!(f, "{line}").and_then(|()| f.sync_data()).map_err(io)
}

/// Applies the latest correction of each field of `d`: made on the same pages
/// (fingerprint), it sets the value (OCR's stays in `ocr_value`); made on
/// other pages, it is listed in `corrections_to_confirm` and the OCR value
/// stands. Applying twice changes nothing.
pub fn apply(d: &mut DossierRecord, all: &[Correction]) {
    let mut latest: Vec<&Correction> = Vec::new();
    for c in all.iter().filter(|c| c.dossier == d.source) {
        latest.retain(|x| x.field != c.field);
        latest.push(c);
    }
    d.corrections_to_confirm.clear();
    for c in latest {
        if c.fingerprint.is_some() && c.fingerprint != d.fingerprint {
            d.corrections_to_confirm.push(c.clone());
            continue;
        }
        let ocr_value = match d.fields.get(&c.field) {
            Some(f) if f.source.as_deref() == Some(SOURCE) => f.ocr_value.clone(),
            // Set by the procedure list: OCR's reading is kept beside it.
            Some(f) if f.source.as_deref() == Some(crate::catalog::CATALOG_SOURCE) => f.ocr_value.clone(),
            // Read from the folder's name, not by OCR.
            Some(f) if f.source.as_deref() == Some(crate::extract::FOLDER_SOURCE) => None,
            Some(f) => Some(f.value.clone()),
            None => None,
        };
        let page = d.fields.get(&c.field).map(|f| f.page).unwrap_or(0);
        let bbox = d.fields.get(&c.field).map(|f| f.bbox).unwrap_or_default();
        d.fields.insert(
            c.field.clone(),
            FieldValue {
                value: c.new.clone().unwrap_or_default(),
                confidence: 1.0,
                page,
                bbox,
                source_text: String::new(),
                flags: Vec::new(),
                alternatives: Vec::new(),
                source: Some(SOURCE.into()),
                ocr_value,
                absent: c.new.is_none(),
            },
        );
    }
}

/// What `sohoa correct` is asked to do.
pub struct Request<'a> {
    /// The dossier's code or folder.
    pub dossier: &'a str,
    pub field: &'a str,
    /// None: "not in the dossier".
    pub value: Option<&'a str>,
    pub by: &'a str,
    /// Keep a value that fails the field's checks.
    pub force: bool,
}

fn vietnam_now() -> String {
    let vn = time::UtcOffset::from_hms(7, 0, 0).expect("a valid offset");
    time::OffsetDateTime::now_utc()
        .to_offset(vn)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Records a correction and refreshes OUT's manifest, portal files and
/// report (no OCR); returns it with the portal export's warnings. Unknown dossier or field, or a value that fails the
/// field's checks (unless forced), is bad usage and changes nothing.
pub fn correct(out: &Path, rules: &Rules, req: &Request) -> Result<(Correction, Vec<String>), RunError> {
    let _lock = crate::state::Lock::acquire(out)?;
    let path = out.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| RunError::BadInput { path: path.clone(), reason: e.to_string() })?;
    let mut m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| RunError::BadInput { path: path.clone(), reason: format!("not a sohoa manifest: {e}") })?;
    let matches: Vec<usize> = m
        .dossiers
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.source == req.dossier || d.fields.get(rules.code_field()).is_some_and(|f| f.value == req.dossier)
        })
        .map(|(i, _)| i)
        .collect();
    let i = match matches[..] {
        [i] => i,
        [] => return Err(RunError::Usage(format!("no dossier {} in {}", req.dossier, path.display()))),
        _ => {
            let names: Vec<&str> = matches.iter().map(|i| m.dossiers[*i].source.as_str()).collect();
            return Err(RunError::Usage(format!(
                "{} names several dossiers ({}); give the folder instead",
                req.dossier,
                names.join(", ")
            )));
        }
    };
    let Some(spec) = rules.fields.iter().find(|f| f.name == req.field) else {
        let names: Vec<&str> = rules.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(RunError::Usage(format!(
            "no field {} in pipeline {}; fields: {}",
            req.field,
            rules.name,
            names.join(", ")
        )));
    };
    let new = match req.value {
        None => None,
        Some(v) => {
            let (value, flags) = crate::extract::normalize(spec.kind, v);
            if !flags.is_empty() && !req.force {
                let why: Vec<String> = flags.iter().map(|f| crate::words::flag_label(f.as_str())).collect();
                return Err(RunError::Usage(format!(
                    "{} for {}: {} (give --force to keep it)",
                    v,
                    req.field,
                    why.join(", ")
                )));
            }
            Some(if flags.is_empty() { value } else { v.to_string() })
        }
    };
    let d = &mut m.dossiers[i];
    let c = Correction {
        dossier: d.source.clone(),
        ma_ho_so: d.fields.get(rules.code_field()).map(|f| f.value.clone()).unwrap_or_default(),
        field: req.field.to_string(),
        old: d.fields.get(req.field).filter(|f| !f.absent).map(|f| f.value.clone()),
        new,
        by: req.by.to_string(),
        at: vietnam_now(),
        fingerprint: d.fingerprint.clone(),
    };
    append(out, &c)?;
    let all = load(out);
    apply(d, &all);
    let warnings = crate::portal::export(out, &m, rules)?;
    crate::report::write(out, &m, rules)?;
    crate::fsutil::write_atomic(&path, &crate::manifest::to_json(&m))
        .map_err(|e| RunError::Output { path, source: e })?;
    Ok((c, warnings))
}
