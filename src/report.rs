//! The quality-check report for supervisors: `OUT/report.html`, one
//! self-contained file (inline CSS and SVG, thumbnails as data URIs, no
//! network) that prints well, and `OUT/report.csv` with a row per flagged page
//! or field for spreadsheets. It is made from the manifest alone (and the PDFs
//! for thumbnails), so `sohoa report OUT` rebuilds it without OCR. Every text
//! that came from a scan is escaped: OCR output is data, never markup.

use crate::error::RunError;
use crate::flags::{FieldFlag, PageFlag};
use crate::fsutil::write_atomic;
use crate::manifest::{DossierRecord, DossierStatus, Manifest, PageRecord, PageStatus, TextSource};
use crate::rules::Rules;
use crate::sheets::csv_text;
use crate::words::{field_label, flag_label, local_time};
use maud::{Markup, PreEscaped, DOCTYPE};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Fields read with less confidence than this are listed for checking.
pub const LOW_CONFIDENCE: f32 = 0.6;
/// A page OCR read under this mean word confidence (0–100) has lost much of
/// its text (a fax's dropouts, a black band, toner gone): a person would ask
/// for it to be scanned again from the paper. Measured (stop 46): every page
/// of the three dev sets read under 70 has CER 0.48–0.83 (six photocopy-dev
/// pages); the next reads 73 at CER 0.21; real-dev's lowest is a dim phone
/// photo at 76.5 (recall 0.95); corpus-dev's lowest is 94.
pub(crate) const POOR_READING: f32 = 70.0;

/// The confidence of a page OCR read so badly that it should be scanned again.
pub(crate) fn poor_reading(p: &PageRecord) -> Option<f32> {
    let read = p.status == PageStatus::Ok && p.text_source == Some(TextSource::Ocr);
    p.ocr_confidence.filter(|c| read && *c < POOR_READING)
}

/// At most this many thumbnails go into the report (the file stays small).
const MAX_THUMBNAILS: usize = 300;

/// The report's style: readable on screen, printed on A4.
const STYLE: &str = "body{font-family:'Times New Roman',serif;margin:24px;color:#111}h1{font-size:22px}\
h2{font-size:18px;margin-top:28px}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;font-size:13px}th{background:#eee;text-align:left}\
.num{font-size:24px;font-weight:bold}.cards{display:flex;flex-wrap:wrap;gap:12px}\
.card{border:1px solid #999;padding:8px 12px;min-width:140px}.r0,.r1{background:#fde2e2}.r2,.r3{background:#fff1d6}\
.r4,.r5{background:#fffbe0}img{border:1px solid #ccc;max-width:120px}ul{margin:0;padding-left:16px}\
@page{size:A4;margin:15mm}@media print{body{margin:0}.card{break-inside:avoid}tr{break-inside:avoid}a{color:#000}}";

/// One reason a dossier needs attention; lower `rank` is worse.
#[derive(Clone, Debug)]
pub struct Concern {
    pub rank: u8,
    pub what: String,
    /// The page concerned (dossier page index), if one is.
    pub page: Option<usize>,
    /// For the CSV: "dossier", "page" or "field".
    pub kind: &'static str,
    pub item: String,
    pub value: String,
}

/// Everything in a dossier that a supervisor should look at, worst first.
pub fn concerns(
    d: &DossierRecord,
    rules: &Rules,
    dup_codes: &HashMap<String, Vec<String>>,
    dup_pages: &HashMap<String, Vec<(String, String)>>,
) -> Vec<Concern> {
    let mut c = Vec::new();
    let mut push = |rank, what: String, page, kind, item: &str, value: &str| {
        c.push(Concern { rank, what, page, kind, item: item.to_string(), value: value.to_string() })
    };
    match d.status {
        DossierStatus::Failed => push(
            0,
            format!("không số hóa được: {}", d.error.as_deref().unwrap_or("không đọc được trang nào")),
            None,
            "dossier",
            "failed",
            "",
        ),
        DossierStatus::Partial => {
            push(1, "thiếu trang: có trang không đọc được".into(), None, "dossier", "partial", "")
        }
        DossierStatus::Ok => {}
    }
    for p in &d.pages {
        if p.status == PageStatus::Error {
            push(
                1,
                format!("trang {} ({}) không đọc được: {}", p.index, p.source, p.error.as_deref().unwrap_or("")),
                Some(p.index),
                "page",
                "error",
                p.error.as_deref().unwrap_or(""),
            );
        }
    }
    for p in &d.pages {
        if let Some(c) = poor_reading(p) {
            push(
                2,
                format!(
                    "trang {} ({}) đọc kém (độ tin cậy {c:.0}%): chữ trên bản quét bị mất hoặc bị che, nên quét lại từ bản giấy",
                    p.index, p.source
                ),
                Some(p.index),
                "page",
                "poor_reading",
                &format!("{c:.1}"),
            );
        }
    }
    for name in rules.required_fields() {
        if !d.fields.contains_key(name) {
            push(2, format!("thiếu {}", field_label(name)), None, "field", name, "");
        }
    }
    if let Some(f) = d.fields.get(rules.code_field()) {
        if let Some(others) = dup_codes.get(&f.value).filter(|v| v.len() > 1) {
            let other: Vec<&str> = others.iter().map(String::as_str).filter(|s| *s != d.source).collect();
            push(
                3,
                format!("mã hồ sơ trùng với hồ sơ {}", other.join(", ")),
                Some(f.page),
                "field",
                "duplicate_code",
                &f.value,
            );
        }
    }
    for (name, f) in &d.fields {
        if f.flags.contains(&FieldFlag::Conflict) {
            let alts: Vec<&str> = f.alternatives.iter().map(|a| a.value.as_str()).collect();
            push(
                3,
                format!("{}: các trang ghi khác nhau ({} / {})", field_label(name), f.value, alts.join(" / ")),
                Some(f.page),
                "field",
                name,
                &f.value,
            );
        }
        let checks: Vec<&str> = f.flags.iter().filter(|x| **x != FieldFlag::Conflict).map(FieldFlag::as_str).collect();
        if !checks.is_empty() {
            push(
                4,
                format!(
                    "{}: {} ({})",
                    field_label(name),
                    checks.iter().map(|c| flag_label(c)).collect::<Vec<_>>().join(", "),
                    f.value
                ),
                Some(f.page),
                "field",
                name,
                &f.value,
            );
        } else if f.confidence < LOW_CONFIDENCE && f.flags.is_empty() {
            push(
                5,
                format!("{}: độ tin cậy thấp {:.2} ({})", field_label(name), f.confidence, f.value),
                Some(f.page),
                "field",
                name,
                &f.value,
            );
        }
    }
    for p in &d.pages {
        if let Some(h) = &p.source_sha256 {
            if let Some(v) = dup_pages.get(h).filter(|v| v.len() > 1) {
                // At most a few others by name: the listing stays linear in
                // the number of pages however many files are the same.
                const NAMED: usize = 3;
                let other: Vec<String> = v
                    .iter()
                    .filter(|(s, f)| !(s == &d.source && f == &p.source))
                    .take(NAMED)
                    .map(|(s, f)| format!("{s}/{f}"))
                    .collect();
                let more = (v.len() - 1).saturating_sub(other.len());
                let more = if more > 0 { format!(" và {more} trang khác") } else { String::new() };
                if !other.is_empty() && p.frame == 0 && p.status != PageStatus::Error {
                    push(
                        5,
                        format!("trang {} ({}) trùng ảnh với {}{more}", p.index, p.source, other.join(", ")),
                        Some(p.index),
                        "page",
                        "duplicate_image",
                        &p.source,
                    );
                }
            }
        }
        if p.flags.contains(&PageFlag::LowDpi) {
            push(
                6,
                format!("trang {} ({}) quét {} dpi, dưới 200", p.index, p.source, p.dpi),
                Some(p.index),
                "page",
                PageFlag::LowDpi.as_str(),
                &p.dpi.to_string(),
            );
        }
    }
    for x in &d.corrections_to_confirm {
        push(
            2,
            format!(
                "{}: sửa thành \"{}\" ({}, {}) cần xác nhận lại vì các trang đã đổi",
                field_label(&x.field),
                x.new.as_deref().unwrap_or("không có trong hồ sơ"),
                x.by,
                x.at
            ),
            None,
            "field",
            &x.field,
            x.new.as_deref().unwrap_or(""),
        );
    }
    for name in &d.skipped_files {
        if let Some((_, why)) = crate::scan::unread_document(name) {
            push(5, format!("tệp {name} không được số hóa: {why}"), None, "dossier", "file_not_read", name);
        }
    }
    if !d.pages.is_empty() && d.pages.iter().all(|p| p.status == PageStatus::Blank) {
        push(7, "mọi trang đều trắng".into(), Some(1), "dossier", "blank_only", "");
    }
    c.sort_by_key(|x| x.rank);
    c
}

/// A path under OUT as a URL path (for an href, or the portal's download
/// URL): each byte but RFC 3986's unreserved characters and `/`
/// percent-encoded.
pub(crate) fn href(path: &str) -> String {
    let mut o = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A PNG of a page of a PDF sohoa wrote, stood upright: the whole page, or
/// the part around `crop` (pixels of the upright page) with a margin, made
/// at most `max_width` wide.
pub(crate) fn page_png(
    out: &Path,
    d: &DossierRecord,
    page_index: usize,
    crop: Option<[f32; 4]>,
    max_width: u32,
) -> Option<Vec<u8>> {
    let p = d.pages.iter().find(|p| p.index == page_index)?;
    let pdf = out.join(d.pdf.as_ref()?);
    let decoded = crate::pdfin::decode_file_page(&pdf, p.pdf_page? as u32 - 1).ok()?;
    // A fax's pixels stretched to square ones, as the page was read: the
    // boxes are in those.
    let square = decoded.dpi.and_then(|dpi| crate::preprocess::square_pixels(&decoded.gray, dpi));
    let mut g = square.map(|s| s.0).unwrap_or(decoded.gray).rotate_cw(p.rotation / 90);
    if let Some([x0, y0, x1, y1]) = crop.filter(|b| b[2] > b[0] && b[3] > b[1]) {
        let m = (y1 - y0).max(20.0) * 1.5;
        g = g.crop(x0 - m * 2.0, y0 - m, x1 + m * 2.0, y1 + m)?;
    }
    let small = g.shrink(g.width.div_ceil(max_width.max(1)));
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&small.data, small.width, small.height, image::ExtendedColorType::L8)
        .ok()?;
    Some(png)
}

/// A page of a PDF sohoa wrote, to be shown small in the report.
pub(crate) struct Thumb {
    pub(crate) pdf: PathBuf,
    /// 1-based.
    pub(crate) page: usize,
}

/// Renders the report's thumbnails, one PNG or None for each (the caller
/// decides how many are rendered at once: this module has no threads).
pub(crate) type RenderThumbs<'a> = dyn Fn(&[Thumb]) -> Vec<Option<Vec<u8>>> + 'a;

/// One thumbnail, 120 pixels wide (a poppler run).
pub(crate) fn render_thumb(t: &Thumb) -> Option<Vec<u8>> {
    crate::poppler::thumbnail(&t.pdf, t.page, 120).ok()
}

/// The page (its index) that stands for `d` in the attention table: the
/// first concern's, or the first.
fn shown_page(d: &DossierRecord, cs: &[Concern]) -> Option<usize> {
    cs.iter().find_map(|c| c.page).or_else(|| d.pages.first().map(|p| p.index))
}

use image::ImageEncoder as _;

/// Writes OUT/report.html and OUT/report.csv from the manifest, its
/// thumbnails rendered one after another.
pub fn write(out: &Path, m: &Manifest, rules: &Rules) -> Result<(), RunError> {
    write_with(out, m, rules, &|thumbs| thumbs.iter().map(render_thumb).collect())
}

/// [`write`], its thumbnails rendered by `render`.
pub(crate) fn write_with(out: &Path, m: &Manifest, rules: &Rules, render: &RenderThumbs) -> Result<(), RunError> {
    let mut dup_codes: HashMap<String, Vec<String>> = HashMap::new();
    let mut dup_pages: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for d in &m.dossiers {
        if let Some(f) = d.fields.get(rules.code_field()) {
            dup_codes.entry(f.value.clone()).or_default().push(d.source.clone());
        }
        for p in d.pages.iter().filter(|p| p.frame == 0) {
            if let Some(h) = &p.source_sha256 {
                dup_pages.entry(h.clone()).or_default().push((d.source.clone(), p.source.clone()));
            }
        }
    }
    let mut rows: Vec<(&DossierRecord, Vec<Concern>)> = m
        .dossiers
        .iter()
        .map(|d| (d, concerns(d, rules, &dup_codes, &dup_pages)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    rows.sort_by(|a, b| {
        a.1[0].rank.cmp(&b.1[0].rank).then(b.1.len().cmp(&a.1.len())).then(a.0.source.cmp(&b.0.source))
    });

    // CSV and xlsx: a row per flagged page or field.
    let table_header = ["dossier", "pdf", "page", "kind", "item", "detail", "value"];
    let mut table: Vec<Vec<String>> = Vec::new();
    for (d, cs) in &rows {
        for c in cs {
            let page = c.page.map(|p| p.to_string()).unwrap_or_default();
            table.push(vec![
                d.source.clone(),
                d.pdf.clone().unwrap_or_default(),
                page,
                c.kind.to_string(),
                c.item.clone(),
                c.what.clone(),
                c.value.clone(),
            ]);
        }
    }
    for e in &m.input_errors {
        table.push(vec![
            e.path.clone(),
            "".into(),
            "".into(),
            "input".into(),
            "".into(),
            "not read".into(),
            e.error.clone(),
        ]);
    }
    let csv = csv_text(&table_header, &table);

    let s = &m.summary;
    let digitized = m.dossiers.iter().filter(|d| d.pdf.is_some()).count();
    let rate = if s.dossiers > 0 { 100.0 * digitized as f64 / s.dossiers as f64 } else { 0.0 };
    let confs: Vec<f32> = m.dossiers.iter().flat_map(|d| &d.pages).filter_map(|p| p.ocr_confidence).collect();
    let mean_conf = if confs.is_empty() { 0.0 } else { confs.iter().sum::<f32>() / confs.len() as f32 };
    let mut per_flag: BTreeMap<String, usize> = BTreeMap::new();
    for p in m.dossiers.iter().flat_map(|d| &d.pages) {
        for f in &p.flags {
            *per_flag.entry(flag_label(f.as_str())).or_default() += 1;
        }
        if p.status == PageStatus::Error {
            *per_flag.entry(flag_label("error")).or_default() += 1;
        }
        if p.status == PageStatus::Blank {
            *per_flag.entry(flag_label("blank")).or_default() += 1;
        }
        if poor_reading(p).is_some() {
            *per_flag.entry(flag_label("poor_reading")).or_default() += 1;
        }
    }
    let poor = m.dossiers.iter().flat_map(|d| &d.pages).filter(|p| poor_reading(p).is_some()).count();

    let cards = [
        ("Hồ sơ", s.dossiers.to_string()),
        (
            "Số hóa trong lần chạy này",
            m.dossiers
                .iter()
                .filter(|d| d.digitized_at.as_deref().is_some_and(|t| t >= m.started_at.as_str()))
                .count()
                .to_string(),
        ),
        ("Đã số hóa", format!("{digitized} ({rate:.0}%)")),
        ("Trang", s.pages.to_string()),
        ("Trang đọc được", s.pages_ok.to_string()),
        ("Trang trắng", s.pages_blank.to_string()),
        ("Trang lỗi", s.pages_error.to_string()),
        ("Trang dưới 200 dpi", s.pages_low_dpi.to_string()),
        ("Trang đọc kém, nên quét lại", poor.to_string()),
        ("Độ tin cậy OCR trung bình", format!("{mean_conf:.1}")),
        ("Hồ sơ cần kiểm tra", rows.len().to_string()),
        ("Hồ sơ dùng lại (không OCR)", s.dossiers_reused.to_string()),
        ("Hồ sơ không còn thư mục", s.dossiers_missing.to_string()),
    ];
    // Tonight's work first, then what earlier runs left to check.
    let tonight = |d: &DossierRecord| d.digitized_at.as_deref().is_some_and(|t| t >= m.started_at.as_str());
    let (new, old): (Vec<_>, Vec<_>) = rows.iter().partition(|(d, _)| tonight(d));
    // The first rows' thumbnails, in the tables' order, rendered at once.
    let (keys, wanted): (Vec<(&str, usize)>, Vec<Thumb>) = new
        .iter()
        .chain(&old)
        .filter_map(|(d, cs)| {
            let pi = shown_page(d, cs)?;
            let page = d.pages.iter().find(|p| p.index == pi)?.pdf_page?;
            Some(((d.source.as_str(), pi), Thumb { pdf: out.join(d.pdf.as_ref()?), page }))
        })
        .take(MAX_THUMBNAILS)
        .unzip();
    let thumbs: HashMap<(&str, usize), String> = keys
        .into_iter()
        .zip(render(&wanted))
        .filter_map(|(key, png)| Some((key, format!("data:image/png;base64,{}", base64(&png?)))))
        .collect();
    let mut parts = Vec::new();
    for (title, part) in [("Số hóa trong lần chạy này", new), ("Từ các lần chạy trước (không đổi)", old)]
    {
        if !part.is_empty() {
            let table = attention_table(&part, &thumbs, &rules.portal.fields);
            parts.push((title, part.len(), table));
        }
    }
    let body = maud::html! {
        h1 { "Báo cáo kiểm tra chất lượng số hóa hồ sơ" }
        p {
            "Đầu vào: " code { (m.input) } " — chạy từ " (local_time(&m.started_at)) " đến "
            (local_time(&m.finished_at)) " (giờ Việt Nam) — sohoa " (m.sohoa_version)
        }
        section #summary {
            h2 { "Tổng hợp" }
            div.cards {
                @for (k, v) in &cards {
                    div.card { div { (k) } div.num { (v) } }
                }
            }
            h2 { "Trang được đánh dấu theo lý do" }
            (bar_chart(&per_flag))
        }
        section #attention {
            h2 { "Hồ sơ cần chú ý (nặng nhất trước)" }
            @if rows.is_empty() {
                p { "Không có hồ sơ nào cần chú ý." }
            }
            @for (title, n, table) in &parts {
                h3 { (title) " (" (n) " hồ sơ)" }
                (table)
            }
            @if !m.missing_dossiers.is_empty() {
                h2 { "Hồ sơ không còn trong thư mục đầu vào" }
                ul {
                    @for x in &m.missing_dossiers {
                        li { (x.source) " (từ " (local_time(&x.missing_since)) ")" }
                    }
                }
            }
            @if !m.input_errors.is_empty() {
                h2 { "Phần đầu vào không đọc được" }
                ul { @for x in &m.input_errors { li { (x.path) ": " (x.error) } } }
            }
        }
    };
    let h = page("Báo cáo kiểm tra chất lượng số hóa", STYLE, body).into_string();

    let p = out.join("report.html");
    write_atomic(&p, h.as_bytes()).map_err(|e| RunError::Output { path: p, source: e })?;
    let p = out.join("report.csv");
    write_atomic(&p, csv.as_bytes()).map_err(|e| RunError::Output { path: p, source: e })?;
    let sheet = crate::sheets::Sheet { name: "report", header: &table_header, rows: &table };
    crate::sheets::write(&out.join("report.xlsx"), &[sheet])?;
    Ok(())
}

/// How a dossier in the attention list stands, in words a clerk uses: a
/// dossier with missing or doubtful key fields needs checking even when every
/// page was read.
fn status_label(d: &DossierRecord, cs: &[Concern]) -> &'static str {
    match d.status {
        DossierStatus::Failed => "Không số hóa được",
        DossierStatus::Partial => "Thiếu trang",
        DossierStatus::Ok if cs.iter().any(|c| c.rank <= 4) => "Cần kiểm tra",
        DossierStatus::Ok => "Đạt, nên xem lại",
    }
}

/// A whole HTML page in Vietnamese: `title`, its `style` and `body` (the
/// report's frame and the review station's).
pub(crate) fn page(title: &str, style: &str, body: Markup) -> Markup {
    maud::html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(style)) }
            }
            body { (body) }
        }
    }
}

/// The table of dossiers that need attention, worst first.
fn attention_table(
    rows: &[&(&DossierRecord, Vec<Concern>)],
    thumbs: &HashMap<(&str, usize), String>,
    names: &crate::rules::SyncFields,
) -> Markup {
    let mut body = Vec::with_capacity(rows.len());
    for (i, (d, cs)) in rows.iter().enumerate() {
        let page = shown_page(d, cs);
        let thumb = page.and_then(|pi| thumbs.get(&(d.source.as_str(), pi)));
        // Who and what, as read: a supervisor recognizes the dossier.
        let key: Vec<&str> = [&names.MaHoSo, &names.ChuHoSo, &names.TenTTHC]
            .iter()
            .filter_map(|k| d.fields.get(*k).map(|f| f.value.as_str()))
            .collect();
        body.push(maud::html! {
            tr class=(format!("r{}", cs[0].rank)) {
                td { (i + 1) }
                td {
                    @match &d.pdf {
                        Some(p) => a href=(href(p)) { (d.source) },
                        None => (d.source),
                    }
                    br;
                    small { (key.join(" · ")) }
                }
                td { (status_label(d, cs)) }
                td { ul { @for c in cs.iter() { li { (c.what) } } } }
                td {
                    @if let Some(pi) = page {
                        @if let Some(uri) = thumb {
                            img alt=(format!("trang {pi}")) src=(uri);
                            br;
                        }
                        "trang " (pi)
                    }
                }
            }
        });
    }
    maud::html! {
        table {
            thead { tr { th { "#" } th { "Hồ sơ" } th { "Tình trạng" } th { "Vấn đề" } th { "Trang" } } }
            tbody { @for row in &body { (row) } }
        }
    }
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(counts: &BTreeMap<String, usize>) -> Markup {
    if counts.is_empty() {
        return maud::html! { p { "Không có trang nào bị đánh dấu." } };
    }
    let max = *counts.values().max().unwrap_or(&1) as f64;
    let (w, row) = (560.0, 26.0);
    let height = counts.len() as f64 * row + 10.0;
    maud::html! {
        svg width=(w) height=(height) role="img" aria-label="số trang theo lý do" {
            @for (i, (k, v)) in counts.iter().enumerate() {
                @let y = i as f64 * row + 5.0;
                @let bw = 300.0 * *v as f64 / max;
                text x="0" y=(y + 14.0) font-size="13" { (k) }
                rect x="170" y=(y) width=(format!("{bw:.1}")) height="18" fill="#4a6fa5" {}
                text x=(format!("{:.1}", 175.0 + bw)) y=(y + 14.0) font-size="13" { (v) }
            }
        }
    }
}

/// `sohoa report OUT`: rebuilds the report from OUT/manifest.json.
pub fn rebuild(out: &Path, rules: &Rules) -> Result<Manifest, RunError> {
    let path = out.join("manifest.json");
    let bytes = std::fs::read(&path).map_err(|e| RunError::BadInput { path: path.clone(), reason: e.to_string() })?;
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| RunError::BadInput { path: path.clone(), reason: format!("not a sohoa manifest: {e}") })?;
    write(out, &m, rules)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        let page = maud::html! { p { ("<script>alert(1)</script>") } }.into_string();
        assert_eq!(page, "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(href("dossiers/a b/Lê.pdf"), "dossiers/a%20b/L%C3%AA.pdf");
    }
}
