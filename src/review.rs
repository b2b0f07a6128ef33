//! `sohoa review`: the verification station. A small web application served
//! by sohoa itself (tiny_http, one request at a time) where clerks see, in
//! Vietnamese, the queue of dossiers held back for review (tonight's first),
//! each field's value, confidence, flags and alternatives beside the page
//! cropped around it, and accept, correct or mark a field "not in the
//! dossier". Each action is a `corrections::correct`, so it lasts across runs
//! and the portal files and report are refreshed at once. It exists apart
//! from `corrections` because everything about the web is here: loopback by
//! default, a token for any other address, a per-process form token and an
//! Origin check against cross-site posts, every text escaped, images found
//! by dossier and page number in the manifest (never by a path from the
//! request), and a save refused when the field changed since the clerk
//! looked at it, so two clerks never silently overwrite each other.

use crate::corrections::{self, Request};
use crate::error::RunError;
use crate::manifest::{DossierRecord, Manifest};
use crate::rules::Rules;
use crate::words::{field_label, flag_label, local_time};
use maud::Markup;
use sha2::{Digest, Sha256};
use std::io::Read as _;
use std::path::Path;

/// How the station is served.
pub struct ReviewOptions {
    /// Address to listen on, e.g. "127.0.0.1:8080" (port 0: any free port).
    pub listen: String,
    /// Required of every request when set; required to listen beyond loopback.
    pub token: Option<String>,
    /// The name recorded for corrections when the clerk gives none.
    pub by_default: String,
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

const STYLE: &str = "body{font-family:sans-serif;margin:20px;color:#111}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid #aaa;padding:6px;vertical-align:top}th{background:#eee;text-align:left}\
.flag{color:#a40000}img{max-width:640px;border:1px solid #ccc}form{display:inline}\
input[type=text]{width:18em}.ok{color:#126b12}";

/// A page of the station: its body in the common frame. Markup comes from
/// maud's `html!`, which escapes every value put into it.
fn html(status: u16, body: Markup) -> Response {
    let page = crate::report::page("Kiểm tra hồ sơ số hóa", STYLE, body);
    tiny_http::Response::from_data(page.into_string().into_bytes())
        .with_status_code(status)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
        .with_header(header("X-Frame-Options", "DENY"))
        .with_header(header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'"))
}

fn header(k: &str, v: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("ASCII header")
}

fn not_found() -> Response {
    html(404, maud::html! { h1 { "Không tìm thấy" } p { a href="/" { "Về danh sách" } } })
}

/// A refusal: a heading and, when there is one, what to do.
fn refusal(status: u16, heading: &str, hint: Option<&str>) -> Response {
    html(status, maud::html! { h1 { (heading) } @if let Some(h) = hint { p { (h) } } })
}

fn is_loopback(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map(|(h, _)| h).unwrap_or(listen);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A token for this process's forms: unguessable, never written anywhere.
fn form_token() -> String {
    let mut seed = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut seed);
    }
    let mut h = Sha256::new();
    h.update(seed);
    h.update(format!("{:?}{}", std::time::SystemTime::now(), std::process::id()));
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn load_manifest(out: &Path) -> Option<Manifest> {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).ok()?).ok()
}

/// The manifest, parsed again only when the file changed (a save, a run):
/// one dossier page asks for a dozen crops, and a province's manifest is
/// large.
struct Cached {
    stamp: crate::state::Stamp,
    manifest: Option<Manifest>,
}

impl Cached {
    fn get(&mut self, out: &Path) -> Option<&Manifest> {
        let stamp = crate::state::manifest_stamp(out);
        if stamp != self.stamp || self.manifest.is_none() {
            let (manifest, stamp) = crate::state::read_manifest(out);
            *self = Cached { stamp, manifest };
        }
        self.manifest.as_ref()
    }
}

/// The queue: dossiers held back for review, tonight's first.
fn queue<'a>(m: &'a Manifest, rules: &Rules) -> Vec<(usize, &'a DossierRecord, Vec<String>)> {
    let mut q: Vec<(usize, &DossierRecord, Vec<String>)> = m
        .dossiers
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d, crate::portal::review_reasons(d, rules)))
        .filter(|(_, _, why)| !why.is_empty())
        .collect();
    let tonight = |d: &DossierRecord| d.digitized_at.as_deref().is_some_and(|t| t >= m.started_at.as_str());
    q.sort_by(|a, b| tonight(b.1).cmp(&tonight(a.1)).then_with(|| a.1.source.cmp(&b.1.source)));
    q
}

fn queue_page(m: &Manifest, rules: &Rules) -> Response {
    let q = queue(m, rules);
    let body = maud::html! {
        h1 { "Hồ sơ cần kiểm tra (" (q.len()) ")" }
        @if q.is_empty() {
            p.ok { "Không còn hồ sơ nào cần kiểm tra." }
        } @else {
            table #queue {
                tr { th { "Hồ sơ" } th { "Mã hồ sơ · Họ tên" } th { "Lý do" } th { "Số hóa lúc" } }
                @for (i, d, why) in &q {
                    @let key: Vec<&str> = [rules.code_field(), &rules.portal.fields.ChuHoSo]
                        .iter()
                        .filter_map(|k| d.fields.get(*k).map(|f| f.value.as_str()))
                        .collect();
                    tr {
                        td { a.dossier href=(format!("/d/{i}")) { (d.source) } }
                        td { (key.join(" · ")) }
                        td { ul { @for w in why { li { (w) } } } }
                        td { (d.digitized_at.as_deref().map(local_time).unwrap_or_default()) }
                    }
                }
            }
        }
    };
    html(200, body)
}

fn dossier_page(m: &Manifest, rules: &Rules, i: usize, csrf: &str, by: &str, note: &str) -> Response {
    let Some(d) = m.dossiers.get(i) else { return not_found() };
    let why = crate::portal::review_reasons(d, rules);
    // One of the three actions on a field, as a form of its own.
    let form = |action: &str, label: &str, name: &str, value: &str, input: Markup| {
        maud::html! {
            form method="post" action="/correct" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="d" value=(i);
                input type="hidden" name="field" value=(name);
                input type="hidden" name="expected" value=(value);
                input type="hidden" name="by" value=(by);
                input type="hidden" name="action" value=(action);
                (input)
                button type="submit" name="go" value=(action) id=(format!("{action}-{name}")) { (label) }
            }
        }
    };
    let body = maud::html! {
        p { a href="/" { "← Danh sách" } }
        h1 { "Hồ sơ " (d.source) }
        @if !note.is_empty() {
            p.flag #note { (note) }
        }
        @if why.is_empty() {
            p.ok #settled { "Hồ sơ đã đủ và đã được chuyển sang tệp gửi Cổng." }
        } @else {
            ul #reasons { @for w in &why { li { (w) } } }
        }
        // A page whose text is gone: a field no page gave may be on it, and
        // only the paper can tell.
        @let poor: Vec<_> = d.pages.iter().filter_map(|p| crate::report::poor_reading(p).map(|c| (p, c))).collect();
        @if !poor.is_empty() {
            ul #rescan {
                @for (p, c) in &poor {
                    li.flag {
                        "Trang " (p.index) " (" (p.source) ") đọc kém (độ tin cậy " (format!("{c:.0}")) "%): "
                        "trường còn thiếu có thể nằm trên trang này; xem "
                        a href=(format!("/img/{i}/{}", p.index)) { "ảnh trang" }
                        " hoặc bản giấy, và nên quét lại trang này."
                    }
                }
            }
        }
        table {
            tr { th { "Trường" } th { "Giá trị" } th { "Trên trang" } th { "Kiểm tra" } }
            @for spec in &rules.fields {
                @let name = spec.name.as_str();
                @let f = d.fields.get(name);
                @let value = f.map(|f| f.value.as_str()).unwrap_or("");
                tr id=(format!("field-{name}")) {
                    td { (field_label(name)) }
                    td.value { (value) }
                    td {
                        @if let Some(f) = f.filter(|f| f.page > 0) {
                            @let [x0, y0, x1, y1] = f.bbox;
                            a href=(format!("/img/{i}/{}", f.page)) {
                                img alt=(field_label(name)) src=(format!("/img/{i}/{}?box={x0},{y0},{x1},{y1}", f.page));
                            }
                            br;
                            "trang " (f.page)
                        }
                    }
                    td {
                        @match f {
                            None => span.flag { "không đọc được" },
                            Some(f) if f.absent => "không có trong hồ sơ (đã xác nhận)",
                            Some(f) => {
                                "độ tin cậy " (format!("{:.2}", f.confidence))
                                @if f.source.as_deref() == Some(corrections::SOURCE) {
                                    br; "đã sửa (OCR đọc: " (f.ocr_value.as_deref().unwrap_or("—")) ")"
                                }
                                @if f.source.as_deref() == Some(crate::extract::FOLDER_SOURCE) {
                                    br; "lấy từ tên thư mục (không trang nào ghi)"
                                }
                                @if f.source.as_deref() == Some(crate::extract::CODE_DATE_SOURCE) {
                                    br; "lấy từ ngày trong mã hồ sơ (không trang nào ghi)"
                                }
                                @if f.source.as_deref() == Some(crate::catalog::CATALOG_SOURCE) {
                                    br; "lấy từ danh mục thủ tục (OCR đọc: " (f.ocr_value.as_deref().unwrap_or("—")) ")"
                                }
                                @for x in &f.flags {
                                    br; span.flag { (flag_label(x.as_str())) }
                                }
                                @if !f.alternatives.is_empty() {
                                    @let alts: Vec<&str> = f.alternatives.iter().map(|a| a.value.as_str()).collect();
                                    br; "trang khác ghi: " (alts.join(" / "))
                                }
                            },
                        }
                        br;
                        @if f.is_some_and(|f| !f.absent) {
                            (form("accept", "Đúng", name, value, maud::html! {}))
                        }
                        (form("correct", "Sửa", name, value, maud::html! {
                            input type="text" name="value" id=(format!("value-{name}")) value=(value);
                        }))
                        (form("absent", "Không có trong hồ sơ", name, value, maud::html! {}))
                    }
                }
            }
        }
    };
    html(200, body)
}

fn image(out: &Path, m: &Manifest, i: &str, page: &str, query: &str) -> Response {
    let (Ok(i), Ok(page)) = (i.parse::<usize>(), page.parse::<usize>()) else { return not_found() };
    let Some(d) = m.dossiers.get(i) else { return not_found() };
    let crop = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "box").and_then(|(_, v)| {
        let n: Vec<f32> = v.split(',').filter_map(|x| x.parse().ok()).collect();
        <[f32; 4]>::try_from(n).ok()
    });
    match crate::report::page_png(out, d, page, crop, if crop.is_some() { 900 } else { 1400 }) {
        Some(png) => tiny_http::Response::from_data(png).with_header(header("Content-Type", "image/png")),
        None => not_found(),
    }
}

/// Serves until the process is stopped. `ready` hears the address once
/// listening.
pub fn serve(out: &Path, rules: &Rules, opts: &ReviewOptions, ready: &dyn Fn(&str)) -> Result<(), RunError> {
    if !is_loopback(&opts.listen) && opts.token.is_none() {
        return Err(RunError::Usage(format!(
            "--listen {} is not a loopback address: give --token-file so that only clerks with the token can open it",
            opts.listen
        )));
    }
    if load_manifest(out).is_none() {
        return Err(RunError::BadInput { path: out.join("manifest.json"), reason: "no sohoa manifest here".into() });
    }
    let server = tiny_http::Server::http(&opts.listen)
        .map_err(|e| RunError::Usage(format!("cannot listen on {}: {e}", opts.listen)))?;
    let addr = server.server_addr().to_ip().map(|a| a.to_string()).unwrap_or_else(|| opts.listen.clone());
    ready(&addr);
    let csrf = form_token();
    let mut cache = Cached { stamp: None, manifest: None };
    for mut req in server.incoming_requests() {
        let response = handle(out, rules, opts, &csrf, &mut req, &mut cache);
        let _ = req.respond(response);
    }
    Ok(())
}

fn handle(
    out: &Path,
    rules: &Rules,
    opts: &ReviewOptions,
    csrf: &str,
    req: &mut tiny_http::Request,
    cache: &mut Cached,
) -> Response {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let header_value = |name: &str| {
        req.headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (host, origin, cookie) = (header_value("Host"), header_value("Origin"), header_value("Cookie"));
    // The token: in the query once (then kept in a cookie), or the cookie.
    let mut set_cookie = None;
    if let Some(token) = &opts.token {
        let from_query = form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "token" && v == token.as_str());
        let cookie = cookie.unwrap_or_default();
        let from_cookie = cookie.split(';').any(|c| c.trim() == format!("sohoa_token={token}"));
        if !(from_query || from_cookie) {
            return refusal(401, "Cần mã truy cập", Some("Mở địa chỉ có kèm mã (?token=…) do bộ phận CNTT cấp."));
        }
        if from_query {
            set_cookie = Some(format!("sohoa_token={token}; HttpOnly; SameSite=Strict; Path=/"));
        }
    }
    let Some(m) = cache.get(out) else {
        return refusal(500, "Không đọc được manifest.json", None);
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (req.method(), parts.as_slice()) {
        (tiny_http::Method::Get, [""]) => queue_page(m, rules),
        (tiny_http::Method::Get, ["d", i]) => match i.parse() {
            Ok(i) => dossier_page(m, rules, i, csrf, &opts.by_default, ""),
            Err(_) => not_found(),
        },
        (tiny_http::Method::Get, ["img", i, page]) => image(out, m, i, page, query),
        (tiny_http::Method::Post, ["correct"]) => {
            // A form posted from another site is refused: it must carry this
            // process's form token and, when the browser says, our origin.
            let host = host.unwrap_or_default();
            if let Some(origin) = origin {
                if origin != format!("http://{host}") && origin != format!("https://{host}") {
                    return refusal(403, "Yêu cầu bị từ chối", None);
                }
            }
            let mut body = String::new();
            let _ = req.as_reader().take(64 * 1024).read_to_string(&mut body);
            let form: std::collections::HashMap<String, String> =
                form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
            if get("csrf") != csrf {
                return refusal(403, "Yêu cầu bị từ chối", Some("Trang đã cũ: tải lại trang rồi làm lại."));
            }
            save(out, rules, m, &form, &opts.by_default, csrf)
        }
        _ => not_found(),
    };
    match set_cookie {
        Some(c) => response.with_header(header("Set-Cookie", &c)),
        None => response,
    }
}

fn save(
    out: &Path,
    rules: &Rules,
    m: &Manifest,
    form: &std::collections::HashMap<String, String>,
    by_default: &str,
    csrf: &str,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let Ok(i) = get("d").parse::<usize>() else { return not_found() };
    let Some(d) = m.dossiers.get(i) else { return not_found() };
    let field = get("field");
    if !rules.fields.iter().any(|f| f.name == field) {
        return not_found();
    }
    let by = if get("by").trim().is_empty() { by_default } else { get("by").trim() };
    // Saved by someone else since this clerk looked: nothing is overwritten.
    let current = d.fields.get(field).map(|f| f.value.as_str()).unwrap_or("");
    if current != get("expected") {
        let note = format!(
            "{} vừa được người khác lưu là \"{}\" trong lúc anh/chị xem; giá trị của anh/chị chưa được lưu. Xem lại rồi lưu lại.",
            field_label(field),
            current
        );
        let page = dossier_page(m, rules, i, csrf, by, &note);
        return page.with_status_code(409);
    }
    let value = match get("action") {
        "accept" => Some(current),
        "correct" => Some(get("value")),
        "absent" => None,
        _ => return not_found(),
    };
    let req = Request { dossier: &d.source, field, value, by, force: false };
    match corrections::correct(out, rules, &req) {
        Ok(_) => {
            let stays = load_manifest(out)
                .and_then(|m| m.dossiers.get(i).map(|d| !crate::portal::review_reasons(d, rules).is_empty()))
                .unwrap_or(false);
            let to = if stays { format!("/d/{i}") } else { "/".to_string() };
            tiny_http::Response::from_data(Vec::new()).with_status_code(303).with_header(header("Location", &to))
        }
        Err(e) => {
            let page = dossier_page(m, rules, i, csrf, by, &format!("Chưa lưu: {e}"));
            page.with_status_code(422)
        }
    }
}
