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
use crate::extract::FieldValue;
pub use crate::manifest::Correction;
use crate::manifest::{DossierRecord, Manifest};
use crate::rules::Rules;
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
    let mut applied: Vec<&Correction> = Vec::with_capacity(latest.len());
    for c in latest {
        if c.fingerprint.is_some() && c.fingerprint != d.fingerprint {
            d.corrections_to_confirm.push(c.clone());
            continue;
        }
        applied.push(c);
        let ocr_value = match d.fields.get(&c.field) {
            Some(f) if f.source.as_deref() == Some(SOURCE) => f.ocr_value.clone(),
            // Set by the procedure list: OCR's reading is kept beside it.
            Some(f) if f.source.as_deref() == Some(crate::catalog::CATALOG_SOURCE) => f.ocr_value.clone(),
            // Read from the folder's name or the dossier code, not by OCR.
            Some(f)
                if f.source.as_deref() == Some(crate::extract::FOLDER_SOURCE)
                    || f.source.as_deref() == Some(crate::extract::CODE_DATE_SOURCE) =>
            {
                None
            }
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
    follow_corrected_codes(d, &applied);
}

/// A date taken from inside the dossier code (source "dossier_code", the
/// code in its `source_text`) follows a correction of that code: it becomes
/// the corrected code's date, or goes when that code holds none (no page
/// gave it). A date a clerk corrected is the clerk's.
fn follow_corrected_codes(d: &mut DossierRecord, applied: &[&Correction]) {
    let derived: Vec<String> = d
        .fields
        .iter()
        .filter(|(_, f)| f.source.as_deref() == Some(crate::extract::CODE_DATE_SOURCE))
        .map(|(k, _)| k.clone())
        .collect();
    for k in derived {
        let Some(f) = d.fields.get(&k) else { continue };
        let Some(c) = applied.iter().find(|c| c.field != k && c.old.as_deref() == Some(f.source_text.as_str())) else {
            continue;
        };
        match c.new.as_deref().and_then(crate::extract::date_in_code) {
            Some(date) => {
                if let Some(f) = d.fields.get_mut(&k) {
                    f.value = date;
                    f.source_text = c.new.clone().unwrap_or_default();
                }
            }
            None => {
                d.fields.remove(&k);
            }
        }
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
            let (value, flags) = crate::values::normalize(spec.kind, v);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dossier() -> DossierRecord {
        let rules = Rules::builtin();
        let blank = crate::model::test_page(&["Tờ khai"]);
        let fields = crate::extract::extract_in(&rules, &[(1, &blank)], Some("2024/01/000.00.20.H40-240112-5849"));
        let mut d: DossierRecord = serde_json::from_value(serde_json::json!({
            "source": "2024/01/000.00.20.H40-240112-5849", "status": "ok", "pdf": null,
            "pdf_sha256": null, "pdf_bytes": null, "pages": [], "fingerprint": "f", "fields": {}
        }))
        .unwrap();
        d.fields = fields;
        d
    }

    fn code_fix(new: Option<&str>) -> Correction {
        Correction {
            dossier: "2024/01/000.00.20.H40-240112-5849".into(),
            ma_ho_so: "000.00.20.H40-240112-5849".into(),
            field: "ma_ho_so".into(),
            old: Some("000.00.20.H40-240112-5849".into()),
            new: new.map(str::to_string),
            by: "Chị Lan".into(),
            at: "2024-01-13T08:00:00+07:00".into(),
            fingerprint: Some("f".into()),
        }
    }

    #[test]
    fn a_date_taken_from_the_code_follows_the_codes_correction() {
        let mut d = dossier();
        assert_eq!(d.fields["ngay_tiep_nhan"].value, "2024-01-12");
        let all = [code_fix(Some("000.00.20.H40-240113-5849"))];
        apply(&mut d, &all);
        let date = &d.fields["ngay_tiep_nhan"];
        assert_eq!((date.value.as_str(), date.source_text.as_str()), ("2024-01-13", "000.00.20.H40-240113-5849"));
        assert_eq!(date.source.as_deref(), Some(crate::extract::CODE_DATE_SOURCE));
        apply(&mut d, &all);
        assert_eq!(d.fields["ngay_tiep_nhan"].value, "2024-01-13", "applying twice changes nothing");
        // The code said absent: no page gave the date, so it goes.
        let mut d = dossier();
        apply(&mut d, &[code_fix(None)]);
        assert!(!d.fields.contains_key("ngay_tiep_nhan"));
        // A correction made on other pages waits, and the date with it.
        let mut d = dossier();
        let mut other = code_fix(Some("000.00.20.H40-240113-5849"));
        other.fingerprint = Some("g".into());
        apply(&mut d, &[other]);
        assert_eq!(d.fields["ngay_tiep_nhan"].value, "2024-01-12");
    }
}
