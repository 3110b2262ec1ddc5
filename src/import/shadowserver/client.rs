//! The Reports API client (spec `shadowserver.md` §5): `reports/list` signed with `HMAC2`
//! (the body is serialised once, signed and sent as those bytes), downloads by id, base URLs
//! checked (https, or plain http to a loopback host for tests). Blocking (`ureq`): it serves
//! the CLI pull. The key, the secret, signatures, bodies and report ids never appear in errors.

use std::time::Duration;

use serde_json::Value;

use super::sign::{HMAC2_HEADER, hmac2};
use crate::import::spool::{self, SpoolError, Spooled};

/// Default API base URL.
pub const DEFAULT_API_URL: &str = "https://transform.shadowserver.org/api2/";
/// Default download base URL.
pub const DEFAULT_DOWNLOAD_URL: &str = "https://dl.shadowserver.org/";
/// The most entries one `reports/list` answer holds.
pub const LIST_CAP: usize = 1000;

/// Credentials and base URLs.
#[derive(Clone)]
pub struct ClientConfig {
    /// `SHADOWSERVER_API_KEY`.
    pub key: String,
    /// `SHADOWSERVER_API_SECRET`.
    pub secret: String,
    /// The API base, ending in `/`.
    pub api_url: String,
    /// The download base, ending in `/`.
    pub download_url: String,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_url", &self.api_url)
            .field("download_url", &self.download_url)
            .finish_non_exhaustive()
    }
}

/// Why a call failed; the texts hold no credential and no report id.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A base URL is not https (nor http to a loopback host).
    #[error("{0}")]
    BadUrl(String),
    /// 401 or 403.
    #[error("the Reports API rejected the credentials (HTTP {status}){detail}")]
    Credentials { status: u16, detail: String },
    /// Another non-200 answer, an `error` member, or not a JSON array.
    #[error("the Reports API answered {what}")]
    Api { what: String },
    /// A connection error or timeout.
    #[error("cannot reach the Reports API: {0}")]
    Transport(String),
}

/// Checks a base URL (§5.1) and adds a missing trailing `/`.
pub fn base_url(raw: &str, what: &str) -> Result<String, ClientError> {
    let trimmed = raw.trim();
    let uri: ureq::http::Uri = trimmed
        .parse()
        .map_err(|e| ClientError::BadUrl(format!("{what} {trimmed:?} is not a URL: {e}")))?;
    let loopback = matches!(
        uri.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match uri.scheme_str() {
        Some("https") if uri.host().is_some() => {}
        Some("http") if loopback => {}
        _ => {
            return Err(ClientError::BadUrl(format!(
                "{what} must use https (plain http only to a loopback host)"
            )));
        }
    }
    let mut text = trimmed.to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    Ok(text)
}

/// A Reports API client.
pub struct Client {
    agent: ureq::Agent,
    config: ClientConfig,
}

impl Client {
    /// A client over checked base URLs.
    pub fn new(mut config: ClientConfig) -> Result<Self, ClientError> {
        config.api_url = base_url(&config.api_url, "the API URL")?;
        config.download_url = base_url(&config.download_url, "the download URL")?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(5)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(format!("feedgate/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client { agent, config })
    }

    /// `reports/list` for `date` (`YYYY-MM-DD` or `FROM:TO`) and the subscriber's list names;
    /// retried on transport errors, 429 and 5xx (3 attempts, 1 s then 2 s or `Retry-After`).
    pub fn list(&self, date: &str, reports: &[String]) -> Result<Vec<Value>, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("apikey".into(), Value::from(self.config.key.clone()));
        body.insert("date".into(), Value::from(date));
        if !reports.is_empty() {
            body.insert("reports".into(), Value::from(reports.to_vec()));
        }
        // Serialised once; these exact bytes are signed and sent (§5.2).
        let bytes = serde_json::to_vec(&Value::Object(body)).map_err(|e| ClientError::Api {
            what: e.to_string(),
        })?;
        let signature = hmac2(&self.config.secret, &bytes);
        let url = format!("{}reports/list", self.config.api_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .header(HMAC2_HEADER, &signature)
                .send(&bytes[..]);
            let retry_wait = Duration::from_secs(attempt);
            let mut res = match sent {
                Ok(res) => res,
                Err(e) if attempt < 3 => {
                    tracing::warn!(error = %transport_text(&e), "reports/list failed; retrying");
                    std::thread::sleep(retry_wait);
                    continue;
                }
                Err(e) => return Err(ClientError::Transport(transport_text(&e))),
            };
            let status = res.status().as_u16();
            if matches!(status, 429 | 500 | 502 | 503 | 504) && attempt < 3 {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(retry_wait, |s| Duration::from_secs(s.min(60)));
                std::thread::sleep(wait);
                continue;
            }
            let text = res.body_mut().read_to_string().unwrap_or_default();
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            let error_text = parsed
                .as_ref()
                .and_then(|v| v.get("error"))
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned));
            let detail = error_text
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            if status == 401 || status == 403 {
                return Err(ClientError::Credentials { status, detail });
            }
            if status != 200 {
                return Err(ClientError::Api {
                    what: format!("HTTP {status}{detail}"),
                });
            }
            return match parsed {
                Some(Value::Array(entries)) => Ok(entries),
                Some(Value::Object(_)) if error_text.is_some() => Err(ClientError::Api {
                    what: format!("an error{detail}"),
                }),
                _ => Err(ClientError::Api {
                    what: "something that is not a JSON array".into(),
                }),
            };
        }
    }

    /// Downloads a report by id into a temporary file (not retried; §5.4).
    pub fn download(&self, id: &str, limit: u64) -> Result<Spooled, String> {
        let url = format!("{}{}", self.config.download_url, encode_segment(id));
        let mut res = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| format!("download failed: {}", transport_text(&e)))?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(format!("download answered HTTP {status}"));
        }
        let reader = res.body_mut().with_config().limit(u64::MAX).reader();
        spool::spool_reader(reader, limit).map_err(|e| match e {
            SpoolError::TooLarge { limit } => format!("the report is larger than {limit} bytes"),
            other => format!("download failed: {other}"),
        })
    }
}

/// A transport error's text without the URL (which holds the report id).
fn transport_text(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.kind().to_string(),
        ureq::Error::Timeout(_) => "timeout".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::TooManyRedirects => "too many redirects".into(),
        _ => "transport error".into(),
    }
}

/// Percent-encodes a report id as one path segment: every byte but letters, digits, `-._~`.
pub fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len() * 3);
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One usable list entry (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The download id (a credential: never logged or shown).
    pub id: String,
    /// The file name.
    pub file: String,
    /// The report type, when given.
    pub report_type: Option<String>,
    /// The report date, when given.
    pub timestamp: Option<String>,
}

impl ListEntry {
    /// An entry from a list element; `None` without non-empty string `id` and `file`.
    pub fn from_value(v: &Value) -> Option<ListEntry> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(ListEntry {
            id: text("id")?,
            file: text("file")?,
            report_type: text("type").filter(|t| {
                t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }),
            timestamp: text("timestamp"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_segment("x?y/z"), "x%3Fy%2Fz");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn base_urls_must_be_https_or_loopback_http() {
        assert_eq!(
            base_url("https://dl.example/x", "u").unwrap(),
            "https://dl.example/x/"
        );
        assert!(base_url("http://127.0.0.1:9/", "u").is_ok());
        assert!(base_url("http://localhost:9", "u").is_ok());
        assert!(base_url("http://example.org/", "u").is_err());
        assert!(base_url("ftp://127.0.0.1/", "u").is_err());
    }

    #[test]
    fn list_entries_need_an_id_and_a_file() {
        let e = ListEntry::from_value(&serde_json::json!(
            {"id": "1", "file": "2020-08-02-scan_smb.csv", "type": "scan_smb", "timestamp": "2020-08-02"}
        ))
        .unwrap();
        assert_eq!(e.report_type.as_deref(), Some("scan_smb"));
        assert!(ListEntry::from_value(&serde_json::json!({"id": "", "file": "x"})).is_none());
        assert!(ListEntry::from_value(&serde_json::json!({"file": "x"})).is_none());
        assert!(ListEntry::from_value(&serde_json::json!("x")).is_none());
    }
}
