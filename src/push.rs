//! `sohoa push`: sends the exported dossiers to the portal's sync endpoint the
//! way the public implementations do (VietOpenCPS `DVCQGIntegrationActionImpl`:
//! log in with a user name and password for a session token, then POST a
//! `DongBoHoSoMC` body carrying the token, and read `error_code` in the
//! answer). It exists apart from `portal` because writing files and sending
//! them fail differently: files are written every night whatever the
//! network does, and a dossier counts as sent only when the endpoint said it
//! accepted it. The push journal (`OUT/portal/.push-journal.jsonl`, one line
//! per accepted dossier with the SHA-256 of what was sent) makes a second
//! push send only what changed since, as an update (`isUpdating` "True").

use crate::error::RunError;
use crate::portal::{BATCH, SERVICE, SETTINGS_REQUIRED};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The journal of accepted dossiers, in OUT/portal/.
pub const JOURNAL: &str = ".push-journal.jsonl";

/// The `[portal]` section of the settings file: where and how to send.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// The login address (POST {"username","password"} → {"session","error_code"}).
    pub auth_url: String,
    /// The sync address (POST {"session","madonvi","service","isUpdating","data"}).
    pub sync_url: String,
    /// A TOML file with `username` and `password`, readable by its owner only.
    pub credentials_file: PathBuf,
    /// The office's unit code, sent as `madonvi`.
    #[serde(default)]
    pub madonvi: String,
    /// Sent as the `dstcode` header when set.
    #[serde(default)]
    pub dstcode: Option<String>,
    /// Seconds one request may take (default 60).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Tries per request on a network failure or a 5xx answer (default 4).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Seconds before the first retry, doubling after each (default 2).
    #[serde(default)]
    pub backoff: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// What one push did, dossier by dossier.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Accepted by the endpoint now.
    pub sent: Vec<String>,
    /// Unchanged since the endpoint accepted them: not sent again.
    pub unchanged: usize,
    /// Not sent because the body is not one the portal takes (what is missing).
    pub held: Vec<(String, String)>,
    /// Sent and refused by the endpoint, with its `error_code` and message.
    pub refused: Vec<(String, String)>,
    /// Not delivered after every try (timeouts, dropped connections, 5xx).
    pub failed: Vec<(String, String)>,
}

impl PushReport {
    pub fn all_sent(&self) -> bool {
        self.held.is_empty() && self.refused.is_empty() && self.failed.is_empty()
    }
}

/// One request's outcome.
enum Answer {
    /// A JSON answer (whatever its error_code).
    Json(Value),
    /// No usable answer after every try.
    Failed(String),
}

struct Client {
    agent: ureq::Agent,
    dstcode: Option<String>,
    attempts: u32,
    backoff: Duration,
}

impl Client {
    fn new(cfg: &PushConfig) -> Client {
        let timeout = Duration::from_secs_f64(cfg.timeout.unwrap_or(60.0).clamp(0.05, 3600.0));
        let agent =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
        Client {
            agent,
            dstcode: cfg.dstcode.clone(),
            attempts: cfg.attempts.unwrap_or(4).max(1),
            backoff: Duration::from_secs_f64(cfg.backoff.unwrap_or(2.0).clamp(0.0, 600.0)),
        }
    }

    /// POSTs a JSON body, retrying network failures and 5xx answers with
    /// doubling waits. A 4xx answer or a JSON answer is final.
    fn post(&self, url: &str, body: &Value) -> Answer {
        let bytes = serde_json::to_vec(body).expect("plain data serializes");
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let mut req =
                self.agent.post(url).header("Content-Type", "application/json").header("Accept", "application/json");
            if let Some(d) = &self.dstcode {
                req = req.header("dstcode", d.as_str());
            }
            match req.send(&bytes[..]) {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = resp.body_mut().read_to_string().unwrap_or_default();
                    if status >= 500 {
                        last = format!("HTTP {status}");
                    } else {
                        return match serde_json::from_str::<Value>(&text) {
                            Ok(v) if status < 300 || v.get("error_code").is_some() => Answer::Json(v),
                            _ => {
                                Answer::Failed(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()))
                            }
                        };
                    }
                }
                Err(e) => last = e.to_string(),
            }
            if attempt < self.attempts {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
        Answer::Failed(format!("{last} (after {} tries)", self.attempts))
    }
}

/// `error_code` 0, "0" or "00" means accepted.
fn accepted(v: &Value) -> bool {
    match v.get("error_code") {
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => !s.is_empty() && s.chars().all(|c| c == '0'),
        _ => false,
    }
}

fn refusal(v: &Value) -> String {
    let code = v.get("error_code").map(|c| c.to_string()).unwrap_or_else(|| "none".into());
    let msg = v.get("message").or_else(|| v.get("error_message")).and_then(Value::as_str).unwrap_or("");
    format!("error_code {code}: {msg}")
}

/// Why the portal would not take this dossier, if anything: a settings
/// field left empty, a file named by a path instead of a URL.
fn not_sendable(d: &Value) -> Option<String> {
    let mut why: Vec<String> = SETTINGS_REQUIRED
        .iter()
        .filter(|k| d.get(**k).and_then(Value::as_str).is_none_or(str::is_empty))
        .map(|k| format!("{k} is empty"))
        .collect();
    if d.get("NgayTiepNhan").and_then(Value::as_str).is_none_or(|s| s.len() != 14) {
        why.push("NgayTiepNhan is not yyyyMMddHHmmss".into());
    }
    let files = d.get("TaiLieuNop").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if files.iter().any(|f| {
        f.get("DuongDanTaiTepTin")
            .and_then(Value::as_str)
            .is_none_or(|u| !(u.starts_with("https://") || u.starts_with("http://")))
    }) {
        why.push("files are named by path, not URL (set base_url in the pipeline's [portal] table)".into());
    }
    (!why.is_empty()).then(|| why.join("; "))
}

fn digest(d: &Value) -> String {
    let bytes = serde_json::to_vec(d).expect("plain data serializes");
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The last accepted digest of each dossier code.
fn read_journal(path: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(path) else { return m };
    for line in text.lines() {
        // A line cut by a crash is not a record: that dossier is sent again.
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            if let (Some(code), Some(sha)) = (v["MaHoSo"].as_str(), v["sha256"].as_str()) {
                m.insert(code.to_string(), sha.to_string());
            }
        }
    }
    m
}

fn read_credentials(path: &Path) -> Result<Credentials, RunError> {
    let bad = |why: String| RunError::Usage(format!("credentials file {}: {why}", path.display()));
    let text = crate::fsutil::read_private(path).map_err(bad)?;
    toml::from_str(&text).map_err(|e| bad(e.to_string().trim_end().to_string()))
}

/// Sends OUT/portal's dossiers that changed since the endpoint last accepted
/// them. `say` hears one line per dossier sent, refused or failed.
pub fn push(out: &Path, cfg: &PushConfig, say: &dyn Fn(&str)) -> Result<PushReport, RunError> {
    let portal = out.join("portal");
    if !portal.is_dir() {
        return Err(RunError::Usage(format!("{}: no portal files (run sohoa run first)", portal.display())));
    }
    let _lock = crate::state::Lock::acquire(out)?;
    let journal_path = portal.join(JOURNAL);
    let journal = read_journal(&journal_path);
    let mut report = PushReport::default();

    // Every dossier of every per-dossier body, in file-name order.
    let mut names: Vec<PathBuf> = std::fs::read_dir(&portal)
        .map_err(|e| RunError::Output { path: portal.clone(), source: e })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.file_name().is_some_and(|n| n != BATCH))
        .collect();
    names.sort();
    let mut todo = Vec::new();
    for path in names {
        let body: Value = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                report.held.push((path.display().to_string(), format!("not a portal body: {e}")));
                continue;
            }
        };
        for d in body["data"].as_array().cloned().unwrap_or_default() {
            let code = d["MaHoSo"].as_str().unwrap_or("").to_string();
            let sha = digest(&d);
            if journal.get(&code) == Some(&sha) {
                report.unchanged += 1;
                continue;
            }
            if let Some(why) = not_sendable(&d) {
                say(&format!("not sent: {code}: {why}"));
                report.held.push((code, why));
                continue;
            }
            todo.push((code, sha, d));
        }
    }
    if todo.is_empty() {
        return Ok(report);
    }

    let client = Client::new(cfg);
    let creds = read_credentials(&cfg.credentials_file)?;
    let login = client.post(&cfg.auth_url, &json!({"username": creds.username, "password": creds.password}));
    let session = match login {
        Answer::Json(v) if accepted(&v) => match v["session"].as_str() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => {
                return Err(RunError::Portal {
                    url: cfg.auth_url.clone(),
                    reason: "the login answer has no session".into(),
                })
            }
        },
        Answer::Json(v) => {
            return Err(RunError::Portal {
                url: cfg.auth_url.clone(),
                reason: format!("login refused: {}", refusal(&v)),
            })
        }
        Answer::Failed(e) => return Err(RunError::Portal { url: cfg.auth_url.clone(), reason: e }),
    };

    let mut journal_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&journal_path)
        .map_err(|e| RunError::Output { path: journal_path.clone(), source: e })?;
    for (code, sha, d) in todo {
        let updating = if journal.contains_key(&code) { "True" } else { "False" };
        let body = json!({
            "session": session,
            "madonvi": cfg.madonvi,
            "service": SERVICE,
            "isUpdating": updating,
            "data": [d],
        });
        match client.post(&cfg.sync_url, &body) {
            Answer::Json(v) if accepted(&v) => {
                let line = json!({"MaHoSo": code, "sha256": sha, "accepted_at": crate::pipeline::now(), "isUpdating": updating});
                // Recorded (and on disk) before the next dossier goes: a
                // push killed now does not send this one again.
                writeln!(journal_file, "{line}")
                    .and_then(|()| journal_file.sync_data())
                    .map_err(|e| RunError::Output { path: journal_path.clone(), source: e })?;
                say(&format!("sent: {code}"));
                report.sent.push(code);
            }
            Answer::Json(v) => {
                let why = refusal(&v);
                say(&format!("refused: {code}: {why}"));
                report.refused.push((code, why));
            }
            Answer::Failed(e) => {
                say(&format!("not delivered: {code}: {e}"));
                report.failed.push((code, e));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_zero_mean_accepted() {
        assert!(accepted(&json!({"error_code": 0})));
        assert!(accepted(&json!({"error_code": "00"})));
        assert!(!accepted(&json!({"error_code": "01", "message": "x"})));
        assert!(!accepted(&json!({"result": []})));
    }
}
