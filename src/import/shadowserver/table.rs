//! The report-type table (spec §2.7) and what follows from a type: its family (§3.2), its
//! classification and category tag (§3.5), and a fixed transport (§2.7).
//!
//! The known types are the keys of Shadowserver's `schema/reports.json`, embedded with
//! `include_str!` from the vendored copy under `tests/data/shadowserver/` and parsed once on
//! first use. Embedding the file itself, rather than a generated Rust table, keeps the table
//! byte-identical to the published schema: a release refreshes it by replacing that one file,
//! with no generator to run and nothing to keep in sync by hand. The parse (~180 KB, once per
//! process) is negligible next to an import, and only `name` and `classification.type` are kept.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Shadowserver's report schema, snapshot of 2026-03-24 (see `SOURCES.md` beside it).
const REPORTS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/shadowserver/schema/reports.json"
));

/// The mapping family of a report (§3.2), or the generic rule for unknown types (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Scans, populations, device ids and compromised hosts: the `ip` column.
    Host,
    /// The blocklist: `ip`, an address or a network.
    Blocklist,
    /// Sinkhole and honeypot events: the source `src_ip`.
    Event,
    /// Sinkhole HTTP referers: `http_referer_ip`.
    Referer,
    /// Victims of DDoS and ransomware: stored, tagged and described as victims.
    Victim,
    /// Malware, spam and sandbox URLs: the `url` column.
    Url,
    /// Sandbox DNS lookups: the `request` domain.
    Dns,
    /// Compromised accounts: personal data, never stored.
    Account,
    /// Unknown and legacy types: the indicator column is chosen from the header.
    Generic,
}

impl Rule {
    /// The name used in summaries: `host`, `blocklist`, …, `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Host => "host",
            Rule::Blocklist => "blocklist",
            Rule::Event => "event",
            Rule::Referer => "referer",
            Rule::Victim => "victim",
            Rule::Url => "url",
            Rule::Dns => "dns",
            Rule::Account => "account",
            Rule::Generic => "generic",
        }
    }
}

/// One known report type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownType {
    /// The type's key, e.g. `scan_ssl`.
    pub key: String,
    /// The display name used in descriptions, e.g. `Accessible-SSL`.
    pub name: String,
    /// The resolved classification (§2.7), e.g. `vulnerable-system`.
    pub classification: Option<String>,
    /// The family.
    pub rule: Rule,
}

/// The fields of one `reports.json` entry that the import uses.
#[derive(Deserialize)]
struct RawEntry {
    name: String,
    #[serde(rename = "classification.type")]
    classification: Option<String>,
}

/// Every known type by key, built on first use.
fn table() -> &'static HashMap<String, KnownType> {
    static TABLE: OnceLock<HashMap<String, KnownType>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let raw: HashMap<String, RawEntry> = serde_json::from_str(REPORTS_JSON)
            .expect("the embedded reports.json is valid JSON of the expected shape");
        raw.iter()
            .map(|(key, entry)| {
                let known = KnownType {
                    key: key.clone(),
                    name: entry.name.clone(),
                    classification: resolve_classification(key, &raw),
                    rule: rule_of(key),
                };
                (key.clone(), known)
            })
            .collect()
    })
}

/// The known type `key`, if it is one.
pub fn lookup(key: &str) -> Option<&'static KnownType> {
    table().get(key)
}

/// Every known type key, in no particular order.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    table().keys().map(String::as_str)
}

/// §2.7: a type's own `classification.type`, else that of its IPv4 counterpart; the two
/// Microsoft sinkhole types are `infected-system`, the two Exchange scans have none.
fn resolve_classification(key: &str, raw: &HashMap<String, RawEntry>) -> Option<String> {
    match key {
        "event4_microsoft_sinkhole" | "event4_microsoft_sinkhole_http" => {
            return Some("infected-system".to_owned());
        }
        "scan_exchange" | "scan6_exchange" => return None,
        _ => {}
    }
    if let Some(c) = raw.get(key).and_then(|e| e.classification.clone()) {
        return Some(c);
    }
    let counterpart = [
        ("scan6_", "scan_"),
        ("population6_", "population_"),
        ("event6_", "event4_"),
    ]
    .iter()
    .find_map(|(v6, v4)| key.strip_prefix(v6).map(|rest| format!("{v4}{rest}")))
    .or_else(|| (key == "device_id6").then(|| "device_id".to_owned()))?;
    raw.get(&counterpart)?.classification.clone()
}

/// §3.2: the family of a known type.
fn rule_of(key: &str) -> Rule {
    match key {
        "blocklist" => Rule::Blocklist,
        "event4_sinkhole_http_referer" | "event6_sinkhole_http_referer" => Rule::Referer,
        "event4_honeypot_ddos_amp" | "event4_honeypot_ddos_target" | "ransomware_victim" => {
            Rule::Victim
        }
        "malware_url" | "spam_url" | "sandbox_url" => Rule::Url,
        "sandbox_dns" => Rule::Dns,
        "compromised_account" => Rule::Account,
        "device_id"
        | "device_id6"
        | "compromised_iot"
        | "compromised_iot6"
        | "compromised_website"
        | "compromised_website6"
        | "special"
        | "sandbox_conn" => Rule::Host,
        k if k.starts_with("event4_") || k.starts_with("event6_") => Rule::Event,
        k if ["scan_", "scan6_", "population_", "population6_"]
            .iter()
            .any(|p| k.starts_with(p)) =>
        {
            Rule::Host
        }
        _ => Rule::Generic,
    }
}

/// §2.7: the transport of types whose older files lack a `protocol` column (6 or 17).
pub fn fixed_transport(key: &str) -> Option<i64> {
    match key {
        "scan_rdp" | "scan_smb" | "scan_vnc" | "scan_hadoop" | "scan6_rdp" | "scan6_smb"
        | "scan6_vnc" => Some(6),
        "scan_ipmi" | "scan_netis_router" => Some(17),
        _ => None,
    }
}

/// §3.5: the category tag of a report: overrides first (sandbox types, the victim rule, the
/// Exchange scans, the generic rule), then the classification.
pub fn category_tag(label: &str, rule: Rule, classification: Option<&str>) -> Option<&'static str> {
    match label {
        "sandbox_conn" | "sandbox_dns" | "sandbox_url" => return Some("sandbox"),
        _ if rule == Rule::Victim => return Some("victim"),
        "scan_exchange" | "scan6_exchange" => return Some("vulnerable"),
        _ if rule == Rule::Generic => return Some("unknown-report-type"),
        _ => {}
    }
    match classification? {
        "vulnerable-system" | "weak-crypto" => Some("vulnerable"),
        "potentially-unwanted-accessible" => Some("exposed"),
        "scanner" => Some("scanner"),
        "brute-force" => Some("bruteforce"),
        "ddos" => Some("ddos"),
        "masquerade" => Some("spoofing"),
        "infected-system" => Some("botnet"),
        "malware-distribution" => Some("malware"),
        "spam" => Some("spam"),
        "blocklist" => Some("blocklist"),
        "system-compromise" => Some("compromised"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_170_types_in_the_families_of_3_2() {
        assert_eq!(known_keys().count(), 170);
        let count = |r: Rule| known_keys().filter(|k| rule_of(k) == r).count();
        assert_eq!(count(Rule::Host), 140);
        assert_eq!(count(Rule::Event), 19);
        assert_eq!(count(Rule::Referer), 2);
        assert_eq!(count(Rule::Victim), 3);
        assert_eq!(count(Rule::Url), 3);
        assert_eq!(count(Rule::Dns), 1);
        assert_eq!(count(Rule::Account), 1);
        assert_eq!(count(Rule::Generic), 0);
    }

    #[test]
    fn every_type_but_the_exchange_scans_resolves_a_classification() {
        for key in known_keys() {
            let c = lookup(key).unwrap().classification.as_deref();
            if key.ends_with("_exchange") {
                assert_eq!(c, None, "{key}");
            } else {
                assert!(c.is_some(), "{key}");
            }
        }
        let c = |k: &str| lookup(k).unwrap().classification.clone();
        assert_eq!(c("scan6_ssl_freak").as_deref(), Some("weak-crypto"));
        assert_eq!(c("event6_sinkhole").as_deref(), Some("infected-system"));
        assert_eq!(c("device_id6").as_deref(), Some("undetermined"));
        assert_eq!(
            c("event4_microsoft_sinkhole").as_deref(),
            Some("infected-system")
        );
        assert_eq!(lookup("scan_ssl").unwrap().name, "Accessible-SSL");
    }

    #[test]
    fn category_tags_follow_3_5_with_overrides_first() {
        let tag = |k: &str| {
            let t = lookup(k).unwrap();
            category_tag(k, t.rule, t.classification.as_deref())
        };
        assert_eq!(tag("scan_ssl_freak"), Some("vulnerable"));
        assert_eq!(tag("scan_ssl"), None); // "other"
        assert_eq!(tag("blocklist"), Some("blocklist"));
        assert_eq!(tag("sandbox_url"), Some("sandbox"));
        assert_eq!(tag("event4_honeypot_ddos_amp"), Some("victim"));
        assert_eq!(tag("event4_honeypot_ddos"), Some("ddos"));
        assert_eq!(tag("scan_exchange"), Some("vulnerable"));
        assert_eq!(tag("event4_sinkhole"), Some("botnet"));
        assert_eq!(tag("event4_ip_spoofer"), Some("spoofing"));
        assert_eq!(
            category_tag("hp_http_scan", Rule::Generic, None),
            Some("unknown-report-type")
        );
    }
}
