//! Upload files for the provincial public-service portal, made from the
//! manifest: one JSON per dossier in the shape of the national portal's dossier
//! sync, `upload.csv` with a row per exported dossier, and `needs_review.csv`
//! for the dossiers a clerk must check first. It exists apart from the
//! manifest because the portal only ever receives dossiers whose key fields
//! are complete, agree across pages and pass their checks: a wrong value on
//! the portal is worse than a dossier held back for review.

use crate::error::RunError;
use crate::fsutil::write_atomic;
use crate::manifest::{DossierRecord, DossierStatus, Manifest};
use crate::rules::{Rules, SyncValues};
use crate::scan::safe_file_name;
use crate::sheets::csv_text;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The national portal's dossier sync service: one body holds the envelope
/// and the dossiers (VietOpenCPS `DVCQGIntegrationActionImpl`, service
/// `DongBoHoSoMC`; the schema is `docs/portal/DongBoHoSoMC.schema.json`).
pub(crate) const SERVICE: &str = "DongBoHoSoMC";

/// The sync's fields that must not be empty, and that only the settings
/// can fill: a body lacking one is written (so the IT officer sees it) but
/// never pushed.
pub(crate) const SETTINGS_REQUIRED: [&str; 6] =
    ["MaLinhVuc", "TenLinhVuc", "LoaiDoiTuong", "TrangThaiHoSo", "HinhThuc", "DonViXuLy"];

/// A request body of the sync: the envelope and its dossiers.
#[derive(Debug, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct SyncBody {
    pub service: &'static str,
    /// "True" when the portal already holds these dossiers (an update).
    pub isUpdating: String,
    pub data: Vec<PortalDossier>,
}

/// One dossier as the portal's sync takes it: every value a string, dates
/// `yyyyMMddHHmmss` in Vietnam time, flags "1"/"0".
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct PortalDossier {
    pub MaHoSo: String,
    pub MaTTHC: String,
    pub TenTTHC: String,
    pub MaLinhVuc: String,
    pub TenLinhVuc: String,
    pub KenhThucHien: String,
    pub ChuHoSo: String,
    pub LoaiDoiTuong: String,
    pub SoGiayToChuHoSo: String,
    pub MaDoiTuong: String,
    pub ThongTinKhac: String,
    pub Email: String,
    pub Fax: String,
    pub SoDienThoai: String,
    pub TrichYeuHoSo: String,
    pub NgayTiepNhan: String,
    pub NgayHenTra: String,
    pub TrangThaiHoSo: String,
    pub NgayTra: String,
    pub ThongTinTra: String,
    pub HinhThuc: String,
    pub NgayKetThucXuLy: String,
    pub DonViXuLy: String,
    pub GhiChu: String,
    pub TaiLieuNop: Vec<TaiLieu>,
    pub DanhSachLePhi: Vec<serde_json::Value>,
    pub DanhSachTepDinhKemKhac: Vec<serde_json::Value>,
    pub DanhSachHoSoBoSung: Vec<serde_json::Value>,
    pub DanhSachGiayToKetQua: Vec<serde_json::Value>,
    pub NoiNopHoSo: String,
    pub HoSoCoThanhPhanSoHoa: String,
    pub TaiKhoanDuocXacThucVoiVNeID: String,
    pub DuocThanhToanTrucTuyen: String,
    pub NgayTuChoi: String,
    pub DinhDanhCHS: Vec<DinhDanh>,
    pub NgayNopHoSo: String,
    pub DSKetNoiCSDL: Vec<serde_json::Value>,
}

/// One submitted document: its PDF, digitized.
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct TaiLieu {
    pub TepDinhKemId: String,
    /// The document's title (its type's name in the pipeline, else the title
    /// line read on its first page, else the file name).
    pub TenTepDinhKem: String,
    pub IsDeleted: String,
    pub MaThanhPhanHoSo: String,
    /// The PDF's public URL (`[portal] base_url` + its path under OUT), or
    /// its path under OUT when no base URL is set.
    pub DuongDanTaiTepTin: String,
    pub DuocSoHoa: String,
    pub DuocTaiSuDung: String,
    pub DuocLayTuKhoDMQG: String,
    pub MaKetQuaThayThe: String,
}

/// The applicant's identity number: LoaiDinhDanh "1" for a 12-digit citizen
/// ID (CCCD), "2" for a 9-digit old ID card (CMND).
#[derive(Clone, Debug, Serialize)]
#[allow(non_snake_case)]
pub(crate) struct DinhDanh {
    pub LoaiDinhDanh: String,
    pub SoDinhDanh: String,
}

/// Why a dossier is held back (in Vietnamese, for the clerks who read
/// needs_review), or nothing when it can go to the portal.
pub(crate) fn review_reasons(d: &DossierRecord, rules: &Rules) -> Vec<String> {
    use crate::words::{field_label, flag_label};
    let mut why = Vec::new();
    match d.status {
        DossierStatus::Failed => why.push("không đọc được trang nào".to_string()),
        DossierStatus::Partial => {
            let n = d.pages.iter().filter(|p| p.status == crate::manifest::PageStatus::Error).count();
            why.push(format!("{n} trang không đọc được"));
        }
        DossierStatus::Ok => {}
    }
    for name in rules.required_fields() {
        if !d.fields.contains_key(name) {
            why.push(format!("thiếu {}", field_label(name)));
        }
    }
    for (sync, name) in rules.unfilled_sync_fields() {
        why.push(format!("quy tắc trích xuất không có trường {name} cho {sync} của Cổng"));
    }
    for (name, f) in &d.fields {
        if !f.flags.is_empty() {
            let flags: Vec<String> = f.flags.iter().map(|x| flag_label(x.as_str())).collect();
            why.push(format!("{}: {}", field_label(name), flags.join(", ")));
        }
    }
    for c in &d.corrections_to_confirm {
        why.push(format!(
            "{}: sửa thành \"{}\" ({}, {}) cần xác nhận lại vì các trang đã đổi",
            field_label(&c.field),
            c.new.as_deref().unwrap_or("không có trong hồ sơ"),
            c.by,
            c.at
        ));
    }
    why
}

fn field(d: &DossierRecord, k: &str) -> String {
    d.fields.get(k).map(|f| f.value.clone()).unwrap_or_default()
}

/// A scanned date (yyyy-mm-dd, printed in Vietnam) and time of day (HH:MM)
/// as the sync's `yyyyMMddHHmmss` in Asia/Ho_Chi_Minh; "" without a date,
/// midnight without a time.
pub(crate) fn sync_time(date: &str, time_of_day: &str) -> String {
    let d: String = date.chars().filter(char::is_ascii_digit).collect();
    if d.len() != 8 {
        return String::new();
    }
    let t: String = time_of_day.chars().filter(char::is_ascii_digit).collect();
    let t = if t.len() == 4 { t } else { "0000".into() };
    format!("{d}{t}00")
}

/// The files a dossier sends: each document's PDF with its title and type,
/// or the whole-dossier PDF when it has no documents of its own.
fn files_of<'a>(d: &'a DossierRecord, rules: &'a Rules) -> Vec<(&'a str, String, &'a str)> {
    let named = |kind: &str| rules.documents.iter().find(|t| t.kind == kind).map(|t| t.name.clone());
    let docs: Vec<_> = d
        .documents
        .iter()
        .filter_map(|x| {
            let pdf = x.pdf.as_deref()?;
            let file = pdf.rsplit('/').next().unwrap_or(pdf).to_string();
            let title = named(&x.kind).or_else(|| (!x.title.trim().is_empty()).then(|| x.title.trim().to_string()));
            Some((pdf, title.unwrap_or(file), x.kind.as_str()))
        })
        .collect();
    if !docs.is_empty() {
        return docs;
    }
    d.pdf.as_deref().map(|p| (p, p.rsplit('/').next().unwrap_or(p).to_string(), "")).into_iter().collect()
}

pub(crate) fn to_portal(d: &DossierRecord, rules: &Rules) -> PortalDossier {
    let settings = &rules.portal;
    let names = &settings.fields;
    let procedure = field(d, &names.MaTTHC);
    let value = |get: fn(&SyncValues) -> &Option<String>| settings.value(&procedure, get);
    let docs: Vec<TaiLieu> = files_of(d, rules)
        .into_iter()
        .map(|(pdf, title, kind)| TaiLieu {
            TepDinhKemId: String::new(),
            TenTepDinhKem: title,
            IsDeleted: "0".into(),
            MaThanhPhanHoSo: settings.documents.get(kind).cloned().unwrap_or_default(),
            DuongDanTaiTepTin: match &settings.base_url {
                Some(base) => format!("{}/{}", base.trim_end_matches('/'), crate::report::href(pdf)),
                None => pdf.to_string(),
            },
            DuocSoHoa: "1".into(),
            DuocTaiSuDung: "0".into(),
            DuocLayTuKhoDMQG: "0".into(),
            MaKetQuaThayThe: String::new(),
        })
        .collect();
    let id = field(d, &names.SoGiayToChuHoSo);
    let dinh_danh = match id.len() {
        12 => vec![DinhDanh { LoaiDinhDanh: "1".into(), SoDinhDanh: id.clone() }],
        9 => vec![DinhDanh { LoaiDinhDanh: "2".into(), SoDinhDanh: id.clone() }],
        _ => Vec::new(),
    };
    let received = sync_time(&field(d, &names.NgayTiepNhan), &field(d, &names.GioTiepNhan));
    let ten_tthc = field(d, &names.TenTTHC);
    let chu = field(d, &names.ChuHoSo);
    PortalDossier {
        MaHoSo: field(d, &names.MaHoSo),
        MaTTHC: procedure.clone(),
        TrichYeuHoSo: if chu.is_empty() { ten_tthc.clone() } else { format!("{ten_tthc} - {chu}") },
        TenTTHC: ten_tthc,
        MaLinhVuc: value(|v| &v.MaLinhVuc),
        TenLinhVuc: value(|v| &v.TenLinhVuc),
        KenhThucHien: value(|v| &v.KenhThucHien),
        ChuHoSo: chu,
        LoaiDoiTuong: value(|v| &v.LoaiDoiTuong),
        SoGiayToChuHoSo: id,
        MaDoiTuong: String::new(),
        ThongTinKhac: String::new(),
        Email: String::new(),
        Fax: String::new(),
        SoDienThoai: field(d, &names.SoDienThoai),
        NgayTiepNhan: received.clone(),
        NgayHenTra: sync_time(&field(d, &names.NgayHenTra), &field(d, &names.GioHenTra)),
        TrangThaiHoSo: value(|v| &v.TrangThaiHoSo),
        NgayTra: String::new(),
        ThongTinTra: String::new(),
        HinhThuc: value(|v| &v.HinhThuc),
        NgayKetThucXuLy: String::new(),
        DonViXuLy: value(|v| &v.DonViXuLy),
        GhiChu: String::new(),
        HoSoCoThanhPhanSoHoa: if docs.is_empty() { "0" } else { "1" }.into(),
        TaiLieuNop: docs,
        DanhSachLePhi: Vec::new(),
        DanhSachTepDinhKemKhac: Vec::new(),
        DanhSachHoSoBoSung: Vec::new(),
        DanhSachGiayToKetQua: Vec::new(),
        NoiNopHoSo: value(|v| &v.NoiNopHoSo),
        TaiKhoanDuocXacThucVoiVNeID: "0".into(),
        DuocThanhToanTrucTuyen: "0".into(),
        NgayTuChoi: String::new(),
        DinhDanhCHS: dinh_danh,
        NgayNopHoSo: received,
        DSKetNoiCSDL: Vec::new(),
    }
}

/// The settings-only fields a body lacks (empty), by name.
pub(crate) fn missing_settings(p: &PortalDossier) -> Vec<&'static str> {
    let v = [&p.MaLinhVuc, &p.TenLinhVuc, &p.LoaiDoiTuong, &p.TrangThaiHoSo, &p.HinhThuc, &p.DonViXuLy];
    SETTINGS_REQUIRED.iter().zip(v).filter(|(_, v)| v.is_empty()).map(|(k, _)| *k).collect()
}

/// The file name of a dossier's portal JSON.
fn json_name(code: &str) -> String {
    format!("{}.json", safe_file_name(code))
}

/// The name of the night's batch body in OUT/portal/.
pub(crate) const BATCH: &str = "batch.json";

fn body_bytes(data: Vec<PortalDossier>) -> Vec<u8> {
    let body = SyncBody { service: SERVICE, isUpdating: "False".into(), data };
    let mut json = serde_json::to_vec_pretty(&body).expect("plain data serializes");
    json.push(b'\n');
    json
}

/// Writes OUT/portal/: `<ma_ho_so>.json` per exported dossier (a sync body
/// holding that dossier), `batch.json` (one body with the dossiers this run
/// digitized, for the night's push), `upload.csv`, `needs_review.csv`. JSON
/// files of dossiers no longer exported are removed, so the folder always
/// matches the manifest, except those of dossiers whose folder is missing
/// (never deleted: the share may return). Returns warnings for the IT
/// officer: settings the portal needs that the pipeline's `[portal]` lacks.
pub(crate) fn export(out: &Path, m: &Manifest, rules: &Rules) -> Result<Vec<String>, RunError> {
    let dir = out.join("portal");
    let err = |path: &Path, e: std::io::Error| RunError::Output { path: path.to_path_buf(), source: e };
    std::fs::create_dir_all(&dir).map_err(|e| err(&dir, e))?;
    // The same code in two folders: neither goes up until a clerk decides.
    let mut by_code: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    // Codes that become one file name (after cleaning, or case folded) count
    // as the same code: their JSON files would overwrite each other.
    let key = |code: &str| safe_file_name(code).to_lowercase();
    for d in &m.dossiers {
        if let Some(f) = d.fields.get(rules.code_field()) {
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
    let review_header = ["source", "ma_ho_so", "reason"];
    let mut upload: Vec<Vec<String>> = Vec::new();
    let mut review: Vec<Vec<String>> = Vec::new();
    let mut written = std::collections::BTreeSet::from([BATCH.to_string()]);
    let mut batch = Vec::new();
    let mut lacking: BTreeMap<&'static str, std::collections::BTreeSet<String>> = BTreeMap::new();
    // Read without the Vietnamese model, names and addresses lost their
    // diacritics: nothing of such a run goes to the portal.
    let not_vietnamese = !m.settings.lang.split('+').any(|l| l == "vie");
    for d in &m.dossiers {
        let mut why = review_reasons(d, rules);
        if not_vietnamese {
            why.push(format!(
                "đọc bằng ngôn ngữ '{}', không phải tiếng Việt (vie): tên và địa chỉ mất dấu",
                m.settings.lang
            ));
        }
        let code = field(d, rules.code_field());
        if let Some(others) = by_code.get(&key(&code)).filter(|v| v.len() > 1) {
            let other: Vec<&str> = others.iter().copied().filter(|s| *s != d.source).collect();
            why.push(format!("mã hồ sơ trùng với hồ sơ {}", other.join("; ")));
        }
        if !why.is_empty() {
            review.push(vec![d.source.clone(), code, why.join("; ")]);
            continue;
        }
        let p = to_portal(d, rules);
        for k in missing_settings(&p) {
            lacking.entry(k).or_default().insert(p.MaTTHC.clone());
        }
        let name = json_name(&p.MaHoSo);
        let path = dir.join(&name);
        write_atomic(&path, &body_bytes(vec![p.clone()])).map_err(|e| err(&path, e))?;
        written.insert(name);
        let files: Vec<&str> = p.TaiLieuNop.iter().map(|t| t.DuongDanTaiTepTin.as_str()).collect();
        upload.push(vec![
            p.MaHoSo.clone(),
            p.MaTTHC.clone(),
            p.TenTTHC.clone(),
            p.ChuHoSo.clone(),
            p.SoGiayToChuHoSo.clone(),
            p.SoDienThoai.clone(),
            field(d, &rules.portal.fields.NgayTiepNhan),
            field(d, &rules.portal.fields.NgayHenTra),
            files.join("; "),
            d.source.clone(),
        ]);
        if d.digitized_at.as_deref().is_some_and(|t| t >= m.started_at.as_str()) {
            batch.push(p);
        }
    }
    // A folder that cannot be read is a dossier nobody has seen: a clerk must.
    for e in &m.input_errors {
        review.push(vec![e.path.clone(), String::new(), format!("không đọc được: {}", e.error)]);
    }
    // A missing dossier's export stays: its folder may come back (a share
    // remounted), and the portal already has it.
    for d in &m.missing_dossiers {
        if let Some(f) = d.last_record.fields.get(rules.code_field()) {
            written.insert(json_name(&f.value));
        }
    }
    let batch_path = dir.join(BATCH);
    write_atomic(&batch_path, &body_bytes(batch)).map_err(|e| err(&batch_path, e))?;
    for (name, head, rows) in [("upload", &header[..], &upload), ("needs_review", &review_header[..], &review)] {
        let path = dir.join(format!("{name}.csv"));
        write_atomic(&path, csv_text(head, rows).as_bytes()).map_err(|e| err(&path, e))?;
        let sheet = crate::sheets::Sheet { name, header: head, rows };
        crate::sheets::write(&dir.join(format!("{name}.xlsx")), &[sheet])?;
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") && !written.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut warnings: Vec<String> = lacking
        .into_iter()
        .map(|(k, procs)| {
            let procs: Vec<String> = procs.into_iter().collect();
            format!(
                "portal files lack {k} (MaTTHC {}): set it in the pipeline's [portal] table; sohoa push will not send them",
                procs.join(", ")
            )
        })
        .collect();
    for (sync, name) in rules.unfilled_sync_fields() {
        warnings.push(format!(
            "the pipeline reads no field '{name}' for the portal's {sync}: every dossier is held back for review; \
             add the field, or name the one that holds it in the pipeline's [portal.fields] table"
        ));
    }
    if !upload.is_empty() && rules.portal.base_url.is_none() {
        warnings.push(
            "portal files name PDFs by their path under the output folder, not by URL: set base_url in the \
             pipeline's [portal] table; sohoa push will not send them"
                .into(),
        );
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_times_are_local_digits_with_the_time_of_day() {
        assert_eq!(sync_time("2024-05-07", "09:15"), "20240507091500");
        assert_eq!(sync_time("2024-05-07", ""), "20240507000000");
        assert_eq!(sync_time("", "09:15"), "");
        assert_eq!(
            crate::report::href("dossiers/2024/06/240603-0003 Lê Văn Tâm/a.01.pdf"),
            "dossiers/2024/06/240603-0003%20L%C3%AA%20V%C4%83n%20T%C3%A2m/a.01.pdf"
        );
    }
}
