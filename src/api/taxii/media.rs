//! TAXII 2.1 content negotiation (TAXII 2.1 §1.6.8): every answer is
//! `application/taxii+json;version=2.1`. A request may accept it by that name, by
//! `application/taxii+json` without a version (the latest the server speaks, 2.1), or by the
//! ranges `*/*` and `application/*`; no `Accept` at all accepts anything. Any other list
//! (another type, another TAXII version, or each acceptable one at `q=0`) is 406.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

/// The media type of every TAXII answer, errors included.
pub const TAXII: &str = "application/taxii+json;version=2.1";

/// The media type of the STIX objects a collection holds.
pub const STIX: &str = "application/stix+json;version=2.1";

/// 406 `not_acceptable` unless the request accepts [`TAXII`].
pub fn negotiate(req: &HttpRequest) -> Result<(), ApiError> {
    let mut values = req.headers().get_all(header::ACCEPT).peekable();
    if values.peek().is_none() {
        return Ok(());
    }
    for value in values {
        let Ok(text) = value.to_str() else { continue };
        if text.split(',').any(accepts_taxii) {
            return Ok(());
        }
    }
    Err(ApiError::NotAcceptable)
}

/// Whether one media range of an `Accept` list takes [`TAXII`].
fn accepts_taxii(range: &str) -> bool {
    let mut parts = range.split(';').map(str::trim);
    let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
    let (mut version, mut q_zero) = (None, false);
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "version" => version = Some(value.to_string()),
            "q" => q_zero = value.parse::<f32>().is_ok_and(|q| q <= 0.0),
            _ => {}
        }
    }
    if q_zero {
        return false;
    }
    match kind.as_str() {
        "*/*" | "application/*" => true,
        "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taxii_type_and_wide_ranges_are_accepted() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=2.1",
            "Application/TAXII+json;version=\"2.1\"",
            "application/taxii+json",
            "*/*",
            "application/*",
            "text/html, application/taxii+json;version=2.1;q=0.5",
        ] {
            assert!(ok.split(',').any(accepts_taxii), "{ok}");
        }
    }

    #[test]
    fn other_types_and_versions_are_refused() {
        for bad in [
            "application/json",
            "application/taxii+json;version=2.0",
            "application/vnd.oasis.taxii+json; version=2.0",
            "application/stix+json;version=2.1",
            "text/html",
            "application/taxii+json;version=2.1;q=0",
            "",
        ] {
            assert!(!bad.split(',').any(accepts_taxii), "{bad}");
        }
    }
}
