//! Report-type detection (spec §2.6): which label and rule a file gets, from an explicit type,
//! a Reports API list entry's type, or the file name (then, for zip members, the archive's).
//! Also extracts the report date a name may carry; it goes into the stored copy only.

use chrono::NaiveDate;
use serde::Serialize;

use super::table::{self, KnownType, Rule};

/// The longest explicit type accepted (`^[a-z0-9_]{1,64}$`).
const MAX_TYPE_LEN: usize = 64;

/// The label and rule of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportType {
    /// The report type used in tags and import keys, e.g. `scan_ssl` or `unknown`.
    pub label: String,
    /// The mapping family, `generic` for unknown types.
    pub rule: Rule,
    /// The table entry when the label is a known type.
    #[serde(skip)]
    pub known: Option<&'static KnownType>,
}

impl ReportType {
    /// The type for a label: known → its family, else the generic rule.
    pub fn for_label(label: &str) -> Self {
        let known = table::lookup(label);
        ReportType {
            label: label.to_owned(),
            rule: known.map_or(Rule::Generic, |k| k.rule),
            known,
        }
    }

    /// The display name used in descriptions: the table's name, or the label if unknown.
    pub fn display_name(&self) -> &str {
        self.known.map_or(&self.label, |k| &k.name)
    }
}

/// Validates an explicit type (`--type`, `?type=`): lower-cased, it must match
/// `^[a-z0-9_]{1,64}$`. Returns the lower-cased type, or `None` if it does not match.
pub fn normalise_type(raw: &str) -> Option<String> {
    let t = raw.to_ascii_lowercase();
    let ok = (1..=MAX_TYPE_LEN).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then_some(t)
}

/// Detects the type of a file (§2.6). `explicit` must already be normalised (see
/// [`normalise_type`]); `list_type` is a Reports API entry's `type`; `names` are the file name
/// and then, for a zip member, the archive's name.
pub fn detect_type(explicit: Option<&str>, list_type: Option<&str>, names: &[&str]) -> ReportType {
    if let Some(t) = explicit {
        return ReportType::for_label(t);
    }
    if let Some(t) = list_type.filter(|t| is_type_token(t)) {
        return ReportType::for_label(t);
    }
    names
        .iter()
        .find_map(|name| type_from_name(name))
        .unwrap_or_else(|| ReportType::for_label("unknown"))
}

/// The report date a name carries (`2024-01-04-blocklist-….csv`), trying each name in turn.
pub fn report_date_from_names(names: &[&str]) -> Option<NaiveDate> {
    names.iter().find_map(|name| split_name(name).1)
}

/// Step 3 of §2.6 for one name.
fn type_from_name(name: &str) -> Option<ReportType> {
    let (rest, _date) = split_name(name);
    let token = rest.split('-').next().unwrap_or_default();
    if table::lookup(token).is_some() {
        return Some(ReportType::for_label(token));
    }
    let longest = table::known_keys()
        .filter(|k| {
            token
                .strip_prefix(k)
                .is_some_and(|after| after.starts_with('_'))
        })
        .max_by_key(|k| k.len());
    if let Some(k) = longest {
        return Some(ReportType::for_label(k));
    }
    is_type_token(token).then(|| ReportType::for_label(token))
}

/// The lower-cased basename without `.zip` and a data extension, and the date prefix if any.
fn split_name(name: &str) -> (String, Option<NaiveDate>) {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut rest = base.to_lowercase();
    if let Some(s) = rest.strip_suffix(".zip") {
        rest.truncate(s.len());
    }
    if let Some(len) = [".csv", ".json", ".ndjson", ".jsonl"]
        .iter()
        .find_map(|ext| rest.strip_suffix(ext).map(str::len))
    {
        rest.truncate(len);
    }
    let date = date_prefix(&rest);
    if date.is_some() {
        rest.drain(..11);
    }
    (rest, date)
}

/// The date of a `YYYY-MM-DD-` prefix, if the text starts with one and the date exists.
fn date_prefix(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes().get(..11)?;
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 | 10 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// `^[a-z0-9_]+$`.
fn is_type_token(t: &str) -> bool {
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_name(name: &str) -> (String, Rule) {
        let t = detect_type(None, None, &[name]);
        (t.label, t.rule)
    }

    #[test]
    fn checklist_12_the_names_of_the_2_6_table() {
        for (name, label, rule) in [
            (
                "2024-01-04-blocklist-company-ip.csv",
                "blocklist",
                Rule::Blocklist,
            ),
            ("scan_ssl.csv", "scan_ssl", Rule::Host),
            (
                "2020-04-03-scan_ics-sample-asn-delayed.csv.zip",
                "scan_ics",
                Rule::Host,
            ),
            (
                "2022-08-31-scan_stun_example_com-asn.csv",
                "scan_stun",
                Rule::Host,
            ),
            (
                "2015-01-01-dns_openresolver-sample-asn.csv",
                "dns_openresolver",
                Rule::Generic,
            ),
            (
                "report_type_scan_snmp.json",
                "report_type_scan_snmp",
                Rule::Generic,
            ),
            ("Export (1).CSV", "unknown", Rule::Generic),
            ("", "unknown", Rule::Generic),
        ] {
            assert_eq!(by_name(name), (label.to_owned(), rule), "{name}");
        }
    }

    #[test]
    fn paths_and_case_do_not_matter() {
        assert_eq!(by_name("C:\\in\\SCAN_SSL.CSV").0, "scan_ssl");
        assert_eq!(by_name("/tmp/x/2024-01-04-scan_dns.ndjson").0, "scan_dns");
        assert_eq!(
            by_name("event4_sinkhole_http.jsonl").0,
            "event4_sinkhole_http"
        );
    }

    #[test]
    fn checklist_12_explicit_and_list_entry_types_beat_the_name() {
        let t = detect_type(Some("scan_smb"), Some("scan_vnc"), &["scan_ssl.csv"]);
        assert_eq!((t.label.as_str(), t.rule), ("scan_smb", Rule::Host));
        let t = detect_type(None, Some("scan_vnc"), &["scan_ssl.csv"]);
        assert_eq!(t.label, "scan_vnc");
        // An explicit unknown type is generic, without prefix matching.
        let t = detect_type(Some("scan_ssl_custom"), None, &["scan_ssl.csv"]);
        assert_eq!(
            (t.label.as_str(), t.rule),
            ("scan_ssl_custom", Rule::Generic)
        );
        // A list entry type that is not a type token is ignored.
        let t = detect_type(None, Some("Scan SSL"), &["scan_ssl.csv"]);
        assert_eq!(t.label, "scan_ssl");
    }

    #[test]
    fn checklist_12_an_untyped_member_takes_the_archive_name() {
        let t = detect_type(
            None,
            None,
            &["Export (1).csv", "2020-04-03-scan_ics-sample.csv.zip"],
        );
        assert_eq!(t.label, "scan_ics");
        // A member name that is a type token wins over the archive.
        let t = detect_type(None, None, &["data.csv", "scan_ics.zip"]);
        assert_eq!(t.label, "data");
    }

    #[test]
    fn explicit_types_are_validated() {
        assert_eq!(normalise_type("SCAN_SSL").as_deref(), Some("scan_ssl"));
        for bad in ["", "scan-ssl", "scan ssl", &"a".repeat(65)] {
            assert_eq!(normalise_type(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn report_dates_come_from_the_name() {
        let d = |s: &str| report_date_from_names(&[s]);
        assert_eq!(
            d("2024-01-04-blocklist-company-ip.csv"),
            NaiveDate::from_ymd_opt(2024, 1, 4)
        );
        assert_eq!(d("scan_ssl.csv"), None);
        assert_eq!(d("2024-13-04-scan_ssl.csv"), None);
        // Not a date, so the token is `2024`: a type token, hence a generic label.
        assert_eq!(by_name("2024-13-04-scan_ssl.csv").0, "2024");
    }
}
