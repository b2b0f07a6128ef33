//! Upload files for the provincial public-service portal, made from the
//! manifest: one JSON per dossier in the shape of the national portal's dossier
//! sync, `upload.csv` with a row per exported dossier, and `needs_review.csv`
//! for the dossiers a clerk must check first. It exists apart from the
//! manifest because the portal only ever receives dossiers whose key fields
//! are complete, agree across pages and pass their checks: a wrong value on
//! the portal is worse than a dossier held back for review.

use crate::error::RunError;
use crate::extract::Pipeline;
use crate::fsutil::write_atomic;
use crate::manifest::{DossierRecord, DossierStatus, Manifest};
use crate::scan::safe_file_name;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One dossier as the portal's sync takes it.
#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub struct PortalDossier {
    pub MaHoSo: String,
    pub MaTTHC: String,
    pub TenTTHC: String,
    pub ChuHoSo: String,
    pub SoGiayToChuHoSo: String,
    pub SoDienThoai: String,
    /// yyyy-mm-dd
    pub NgayTiepNhan: String,
    pub NgayHenTra: String,
    pub HoSoCoThanhPhanSoHoa: bool,
    pub TaiLieuNop: Vec<TaiLieu>,
}

#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub struct TaiLieu {
    pub TenTepDinhKem: String,
    /// Path of the file relative to OUT.
    pub DuongDanTaiTepTin: String,
    pub DuocSoHoa: bool,
}

/// Why a dossier is held back, or None when it can go to the portal.
pub fn review_reasons(d: &DossierRecord, rules: &Pipeline) -> Vec<String> {
    let mut why = Vec::new();
    match d.status {
        DossierStatus::Failed => why.push("no page could be read".to_string()),
        DossierStatus::Partial => {
            let n = d.pages.iter().filter(|p| p.status == crate::manifest::PageStatus::Error).count();
            why.push(format!("{n} page(s) could not be read"));
        }
        DossierStatus::Ok => {}
    }
    for name in rules.required_fields() {
        if !d.fields.contains_key(name) {
            why.push(format!("missing {name}"));
        }
    }
    for (name, f) in &d.fields {
        if !f.flags.is_empty() {
            why.push(format!("{name}: {}", f.flags.join(", ")));
        }
    }
    why
}

fn field(d: &DossierRecord, k: &str) -> String {
    d.fields.get(k).map(|f| f.value.clone()).unwrap_or_default()
}

fn to_portal(d: &DossierRecord) -> PortalDossier {
    // The dossier's documents one by one; the whole-dossier PDF when it has
    // none of its own.
    let doc_pdfs: Vec<&String> = d.documents.iter().filter_map(|x| x.pdf.as_ref()).collect();
    let files: Vec<&String> = if doc_pdfs.is_empty() { d.pdf.iter().collect() } else { doc_pdfs };
    let docs = files
        .into_iter()
        .map(|p| TaiLieu {
            TenTepDinhKem: p.rsplit('/').next().unwrap_or(p).to_string(),
            DuongDanTaiTepTin: p.clone(),
            DuocSoHoa: true,
        })
        .collect::<Vec<_>>();
    PortalDossier {
        MaHoSo: field(d, "ma_ho_so"),
        MaTTHC: field(d, "ma_thu_tuc"),
        TenTTHC: field(d, "ten_thu_tuc"),
        ChuHoSo: field(d, "ho_ten"),
        SoGiayToChuHoSo: field(d, "so_dinh_danh"),
        SoDienThoai: field(d, "so_dien_thoai"),
        NgayTiepNhan: field(d, "ngay_tiep_nhan"),
        NgayHenTra: field(d, "ngay_hen_tra"),
        HoSoCoThanhPhanSoHoa: !docs.is_empty(),
        TaiLieuNop: docs,
    }
}

/// A CSV cell: quoted when needed, and never read as a formula by a
/// spreadsheet (OCR text can start with `=`).
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The file name of a dossier's portal JSON.
fn json_name(code: &str) -> String {
    format!("{}.json", safe_file_name(code))
}

pub(crate) fn csv_row(cells: &[&str]) -> String {
    let mut r = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    r.push_str("\r\n");
    r
}

/// Writes OUT/portal/: `<ma_ho_so>.json` per exported dossier, `upload.csv`,
/// `needs_review.csv`. JSON files of dossiers no longer exported are removed,
/// so the folder always matches the manifest, except those of dossiers whose
/// folder is missing (never deleted: the share may return).
pub fn export(out: &Path, m: &Manifest, rules: &Pipeline) -> Result<(), RunError> {
    let dir = out.join("portal");
    let err = |path: &Path, e: std::io::Error| RunError::Output { path: path.to_path_buf(), source: e };
    std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
    // The same code in two folders: neither goes up until a clerk decides.
    let mut by_code: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    // Codes that become one file name (after cleaning, or case folded) count
    // as the same code: their JSON files would overwrite each other.
    let key = |code: &str| safe_file_name(code).to_lowercase();
    for d in &m.dossiers {
        if let Some(f) = d.fields.get("ma_ho_so") {
            by_code.entry(key(&f.value)).or_default().push(&d.source);
        }
    }
    let header = [
        "MaHoSo",
        "MaTTHC",
        "TenTTHC",
        "ChuHoSo",
        "SoGiayToChuHoSo",
        "SoDienThoai",
        "NgayTiepNhan",
        "NgayHenTra",
        "TepDinhKem",
        "source",
    ];
    let mut upload = csv_row(&header);
    let mut review = csv_row(&["source", "ma_ho_so", "reason"]);
    let mut written = std::collections::BTreeSet::new();
    for d in &m.dossiers {
        let mut why = review_reasons(d, rules);
        let code = field(d, "ma_ho_so");
        if let Some(others) = by_code.get(&key(&code)).filter(|v| v.len() > 1) {
            let other: Vec<&str> = others.iter().copied().filter(|s| *s != d.source).collect();
            why.push(format!("duplicate ma_ho_so, also in {}", other.join("; ")));
        }
        if !why.is_empty() {
            review.push_str(&csv_row(&[&d.source, &code, &why.join("; ")]));
            continue;
        }
        let p = to_portal(d);
        let name = json_name(&p.MaHoSo);
        let mut json = serde_json::to_vec_pretty(&p).expect("plain data serializes");
        json.push(b'\n');
        let path = dir.join(&name);
        write_atomic(&path, &json).map_err(|e| err(&path, e))?;
        written.insert(name);
        upload.push_str(&csv_row(&[
            &p.MaHoSo,
            &p.MaTTHC,
            &p.TenTTHC,
            &p.ChuHoSo,
            &p.SoGiayToChuHoSo,
            &p.SoDienThoai,
            &p.NgayTiepNhan,
            &p.NgayHenTra,
            d.pdf.as_deref().unwrap_or(""),
            &d.source,
        ]));
    }
    // A folder that cannot be read is a dossier nobody has seen: a clerk must.
    for e in &m.input_errors {
        review.push_str(&csv_row(&[&e.path, "", &format!("not read: {}", e.error)]));
    }
    // A missing dossier's export stays: its folder may come back (a share
    // remounted), and the portal already has it.
    for d in &m.missing_dossiers {
        if let Some(f) = d.last_record.fields.get("ma_ho_so") {
            written.insert(json_name(&f.value));
        }
    }
    for (name, body) in [("upload.csv", &upload), ("needs_review.csv", &review)] {
        let path = dir.join(name);
        write_atomic(&path, body.as_bytes()).map_err(|e| err(&path, e))?;
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !written.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("Xóm 3, xã Xuân Ninh"), "\"Xóm 3, xã Xuân Ninh\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
