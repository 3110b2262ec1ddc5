//! MISP warninglists (`lists/<name>/list.json` of the misp-warninglists repository, as the
//! `pymispwarninglists` package ships them): a name, a matching type, the MISP attribute
//! types it applies to, and its entries.

use std::borrow::Cow;

use serde::Deserialize;

use super::{Classes, EntryKind};

/// One warninglist file, parsed; entries borrow from the file's text where they can (the
/// full set holds millions).
#[derive(Debug)]
pub struct WarningList<'a> {
    pub name: String,
    pub kind: EntryKind,
    /// The indicator classes its `matching_attributes` name (every class when it names none).
    pub classes: Classes,
    pub entries: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    matching_attributes: Vec<String>,
    #[serde(borrow)]
    list: Vec<Cow<'a, str>>,
}

/// Why a file is not a warninglist: the line and column where reading stopped (0 when the
/// JSON was whole but says something we cannot use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ListError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the text of one `list.json`.
pub fn parse(text: &str) -> Result<WarningList<'_>, ListError> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| ListError {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let kind = match raw.kind.as_str() {
        "cidr" => EntryKind::Network,
        "hostname" => EntryKind::Hostname,
        "string" => EntryKind::Exact,
        "substring" => EntryKind::Substring,
        "regex" => EntryKind::Regex,
        other => {
            return Err(ListError {
                line: 0,
                column: 0,
                message: format!(
                    "unknown type {other:?} (expected cidr, hostname, string, substring or regex)"
                ),
            });
        }
    };
    let mut classes = Classes::NONE;
    for attribute in &raw.matching_attributes {
        classes = classes | classes_of(attribute);
    }
    if raw.matching_attributes.is_empty() {
        classes = Classes::ALL;
    }
    Ok(WarningList {
        name: raw.name,
        kind,
        classes,
        entries: raw.list,
    })
}

/// The indicator classes a MISP attribute type stands for (`ip-dst|port` compares its
/// address part, `filename|md5` its hash part, `domain|ip` both).
fn classes_of(attribute: &str) -> Classes {
    let mut classes = Classes::NONE;
    for part in attribute.split('|') {
        classes = classes
            | match part {
                "ip-src" | "ip-dst" | "ip" => Classes::ADDR,
                "domain" | "hostname" => Classes::DOMAIN,
                "url" | "uri" | "link" => Classes::URL,
                "email"
                | "email-src"
                | "email-dst"
                | "target-email"
                | "whois-registrant-email"
                | "dns-soa-email" => Classes::EMAIL,
                "md5" | "sha1" | "sha256" | "sha512" => Classes::HASH,
                _ => Classes::NONE,
            };
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_list_shape() {
        let list = parse(
            r#"{"description": "d", "list": ["8.8.8.8/32", "2001:4860:4860::8888"],
                "matching_attributes": ["ip-src", "ip-dst", "domain|ip"],
                "name": "List of known IPv4 public DNS resolvers", "type": "cidr", "version": 7}"#,
        )
        .unwrap();
        assert_eq!(list.name, "List of known IPv4 public DNS resolvers");
        assert_eq!(list.kind, EntryKind::Network);
        assert_eq!(list.classes, Classes::ADDR | Classes::DOMAIN);
        assert_eq!(list.entries.len(), 2);
    }

    #[test]
    fn no_attributes_means_every_class() {
        let list = parse(r#"{"name": "n", "type": "string", "list": ["x"]}"#).unwrap();
        assert_eq!(list.classes, Classes::ALL);
        let list = parse(
            r#"{"name": "n", "type": "string", "list": [], "matching_attributes": ["phone-number"]}"#,
        )
        .unwrap();
        assert_eq!(list.classes, Classes::NONE);
    }

    #[test]
    fn a_broken_file_names_the_line() {
        let error =
            parse("{\n  \"name\": \"n\",\n  \"type\": \"cidr\",\n  \"list\": [1]\n}").unwrap_err();
        assert_eq!(error.line, 4);
        let error = parse(r#"{"name": "n", "type": "glob", "list": []}"#).unwrap_err();
        assert!(error.message.contains("glob"), "{error}");
        assert!(parse("{\"name\": \"n\", \"type\": \"cidr\"}").is_err());
    }
}
