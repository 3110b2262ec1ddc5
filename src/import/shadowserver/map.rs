//! The row pipeline (spec §3.1) and the mapping of a row to an indicator (§3.2–§3.7, §4.1).
//!
//! A [`Mapper`] is built once per file from its type and header: it resolves every column it
//! needs to a position, so mapping a row is lookups, the `Thing` parser and a little text.
//! Each row ends as a [`MappedRow`] or a [`RowSkip`] with the first failing check's reason.
//! Nothing here touches storage; merging (§4.2) is the writer's job.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::domain::thing::{Itype, Thing};

use super::content::{self, Content};
use super::detect::ReportType;
use super::record::{Header, Record};
use super::table::{self, Rule};
use super::values::{
    TagList, parse_asn, parse_country, parse_port, parse_protocol, parse_timestamp,
};
use super::warnings::Warnings;

/// The provider of every imported indicator.
pub const PROVIDER: &str = "shadowserver";
/// The longest description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 255;

/// Why a row was not turned into an indicator (§1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// `timestamp` absent, empty, unparsable or in the future.
    BadTimestamp,
    /// The indicator column is not in the header.
    NoIndicatorColumn,
    /// The indicator column is empty in this row.
    MissingValue,
    /// The value fails validation.
    InvalidValue,
    /// The row belongs to a type that is never stored.
    PersonalData,
    /// The owner's indicator quota is full (decided by the writer, never by the engine).
    QuotaExceeded,
    /// A JSON element that is not an object, or the record that stopped the file.
    MalformedRow,
}

impl SkipReason {
    /// Every reason, in the order of §1.5.
    pub const ALL: [SkipReason; 7] = [
        SkipReason::BadTimestamp,
        SkipReason::NoIndicatorColumn,
        SkipReason::MissingValue,
        SkipReason::InvalidValue,
        SkipReason::PersonalData,
        SkipReason::QuotaExceeded,
        SkipReason::MalformedRow,
    ];

    /// The reason code, e.g. `bad_timestamp`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::BadTimestamp => "bad_timestamp",
            SkipReason::NoIndicatorColumn => "no_indicator_column",
            SkipReason::MissingValue => "missing_value",
            SkipReason::InvalidValue => "invalid_value",
            SkipReason::PersonalData => "personal_data",
            SkipReason::QuotaExceeded => "quota_exceeded",
            SkipReason::MalformedRow => "malformed_row",
        }
    }
}

/// A skipped row: its 1-based data row number, the reason and a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSkip {
    /// The 1-based data row number (the header is not counted).
    pub row: u64,
    /// The skip reason.
    pub reason: SkipReason,
    /// What was wrong, for `errors_sample`.
    pub message: String,
}

/// One row as an indicator, ready to be merged into a feed (§3.4, §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRow {
    /// The 1-based data row number.
    pub row: u64,
    /// The import key (§4.1) that identifies the indicator within a feed.
    pub import_key: String,
    /// The validated, normalised value with its itype (and IP range or reversed host).
    pub thing: Thing,
    /// The port, for address things with a valid port column.
    pub portlist: Option<String>,
    /// The protocol number (6, 17 or 1), for address things.
    pub protocol: Option<i64>,
    /// The row's first sighting (the timestamp, or `first_seen_time` for `special`).
    pub firsttime: NaiveDateTime,
    /// The row's timestamp.
    pub lasttime: NaiveDateTime,
    /// Tags in the order of §3.4, normalised and within the 255-character budget.
    pub tags: Vec<String>,
    /// `Shadowserver <name>[ (victim)][: <detail>]`, at most 255 characters.
    pub description: String,
    /// Always `shadowserver`.
    pub provider: &'static str,
    /// The AS number, when the family's column holds a valid one.
    pub asn: Option<i64>,
    /// The country, upper-case, when valid.
    pub cc: Option<String>,
    /// The stored copy of the row (compact JSON, usually packed: see [`Content`]).
    pub content: Content,
}

/// What an indicator column may hold (§3.2, §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An IPv4 or IPv6 address.
    Address,
    /// An address or a CIDR network.
    AddressOrNetwork,
    /// A URL.
    Url,
    /// A domain name.
    Domain,
    /// A URL or a domain name.
    UrlOrDomain,
}

impl Kind {
    fn accepts(self, thing: &Thing) -> bool {
        let itype = thing.itype();
        match self {
            Kind::Address => itype.is_ip() && thing.prefix_len().is_none(),
            Kind::AddressOrNetwork => itype.is_ip(),
            Kind::Url => itype == Itype::Url,
            Kind::Domain => itype == Itype::Fqdn,
            Kind::UrlOrDomain => matches!(itype, Itype::Url | Itype::Fqdn),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Address => "an IP address",
            Kind::AddressOrNetwork => "an IP address or network",
            Kind::Url => "a URL",
            Kind::Domain => "a domain name",
            Kind::UrlOrDomain => "a URL or a domain name",
        }
    }
}

/// The columns of a family: indicator (with its kind), port, ASN and country.
struct Family {
    value: &'static str,
    kind: Kind,
    port: Option<&'static str>,
    asn: Option<&'static str>,
    cc: Option<&'static str>,
}

const fn family(
    value: &'static str,
    kind: Kind,
    port: Option<&'static str>,
    asn: Option<&'static str>,
    cc: Option<&'static str>,
) -> Family {
    Family {
        value,
        kind,
        port,
        asn,
        cc,
    }
}

/// §3.7: the generic rule's candidates, in order of preference.
const GENERIC: [Family; 7] = [
    family("ip", Kind::Address, Some("port"), Some("asn"), Some("geo")),
    family(
        "src_ip",
        Kind::Address,
        Some("dst_port"),
        Some("src_asn"),
        Some("src_geo"),
    ),
    family(
        "http_referer_ip",
        Kind::Address,
        Some("http_referer_port"),
        Some("http_referer_asn"),
        Some("http_referer_geo"),
    ),
    family("url", Kind::Url, None, Some("asn"), Some("geo")),
    family("http_host", Kind::Domain, None, None, None),
    family("hostname", Kind::Domain, None, None, None),
    family("domain", Kind::Domain, None, None, None),
];

/// §3.2: the family of a known rule and label; `None` for `account` and `generic`.
fn family_of(rule: Rule, label: &str) -> Option<Family> {
    Some(match rule {
        Rule::Host => family("ip", Kind::Address, Some("port"), Some("asn"), Some("geo")),
        Rule::Blocklist => family("ip", Kind::AddressOrNetwork, None, Some("asn"), Some("geo")),
        Rule::Event => family(
            "src_ip",
            Kind::Address,
            Some("dst_port"),
            Some("src_asn"),
            Some("src_geo"),
        ),
        Rule::Referer => family(
            "http_referer_ip",
            Kind::Address,
            Some("http_referer_port"),
            Some("http_referer_asn"),
            Some("http_referer_geo"),
        ),
        Rule::Victim => match label {
            "event4_honeypot_ddos_target" => family(
                "dst_ip",
                Kind::Address,
                Some("dst_port"),
                Some("dst_asn"),
                Some("dst_geo"),
            ),
            "ransomware_victim" => family("website", Kind::UrlOrDomain, None, None, Some("geo")),
            _ => family(
                "src_ip",
                Kind::Address,
                Some("dst_port"),
                Some("src_asn"),
                Some("src_geo"),
            ),
        },
        Rule::Url => family("url", Kind::Url, None, Some("asn"), Some("geo")),
        Rule::Dns => family("request", Kind::Domain, None, None, None),
        Rule::Account | Rule::Generic => return None,
    })
}

/// Column positions resolved once per file.
#[derive(Debug, Default)]
struct Columns {
    timestamp: Option<usize>,
    value: Option<usize>,
    port: Option<usize>,
    asn: Option<usize>,
    cc: Option<usize>,
    protocol: Option<usize>,
    tag: Option<usize>,
    infection: Option<usize>,
    family: Option<usize>,
    application: Option<usize>,
    reason: Option<usize>,
    category: Option<usize>,
    detail: Option<usize>,
    first_seen_time: Option<usize>,
}

/// Maps the rows of one file.
pub(crate) struct Mapper {
    report_type: ReportType,
    report_date: Option<NaiveDate>,
    now: NaiveDateTime,
    cols: Columns,
    kind: Kind,
    /// The name of the indicator column, when the header has it.
    value_name: Option<&'static str>,
    /// The column the rule would use, for the `no_indicator_column` message.
    wanted: Option<&'static str>,
    /// Transport when the header has no `protocol` column (§2.7).
    fixed_transport: Option<i64>,
    /// Whether the import key carries the malware family (§4.1).
    family_in_key: bool,
    /// `Shadowserver <name>[ (victim)]`.
    description_head: String,
    category_tag: Option<&'static str>,
    first_seen: bool,
}

impl Mapper {
    /// Resolves the columns a file's rows need.
    pub fn new(
        report_type: &ReportType,
        header: &Header,
        report_date: Option<NaiveDate>,
        now: NaiveDateTime,
    ) -> Self {
        let label = report_type.label.as_str();
        let rule = report_type.rule;
        let fam = match rule {
            Rule::Generic => GENERIC.into_iter().find(|f| header.find(f.value).is_some()),
            _ => family_of(rule, label),
        };
        let find = |name: Option<&str>| name.and_then(|n| header.find(n));
        let cols = Columns {
            timestamp: header.find("timestamp"),
            value: find(fam.as_ref().map(|f| f.value)),
            port: find(fam.as_ref().and_then(|f| f.port)),
            asn: find(fam.as_ref().and_then(|f| f.asn)),
            cc: find(fam.as_ref().and_then(|f| f.cc)),
            protocol: header.find("protocol"),
            tag: header.find("tag"),
            infection: header.find("infection"),
            family: header.find("family"),
            application: header.find("application"),
            reason: header.find("reason"),
            category: header.find("category"),
            detail: header.find("detail"),
            first_seen_time: header.find("first_seen_time"),
        };
        let known = report_type.known.is_some();
        let classification = report_type.known.and_then(|k| k.classification.as_deref());
        let mut description_head = format!("Shadowserver {}", report_type.display_name());
        if rule == Rule::Victim {
            description_head.push_str(" (victim)");
        }
        Mapper {
            report_type: report_type.clone(),
            report_date,
            now,
            value_name: fam
                .as_ref()
                .map(|f| f.value)
                .filter(|_| cols.value.is_some()),
            wanted: fam.as_ref().map(|f| f.value),
            kind: fam.as_ref().map_or(Kind::Address, |f| f.kind),
            cols,
            fixed_transport: if known {
                table::fixed_transport(label)
            } else {
                None
            },
            family_in_key: [
                "event4_sinkhole",
                "event6_sinkhole",
                "event4_microsoft_sinkhole",
            ]
            .iter()
            .any(|p| label.starts_with(p)),
            description_head,
            category_tag: table::category_tag(label, rule, classification),
            first_seen: label == "special",
        }
    }

    /// The file's label and rule.
    pub fn report_type(&self) -> &ReportType {
        &self.report_type
    }

    /// The indicator column's name, when the header has it.
    pub fn indicator_column(&self) -> Option<&str> {
        self.value_name
    }

    /// Runs one decoded row through §3.1.
    pub fn map(
        &self,
        row: u64,
        rec: &Record,
        header: &Header,
        warnings: &mut Warnings,
    ) -> Result<MappedRow, RowSkip> {
        let skip = |reason, message: String| RowSkip {
            row,
            reason,
            message,
        };
        let label = self.report_type.label.as_str();

        let ts_text = rec.get(self.cols.timestamp);
        let Some(ts) = ts_text.and_then(|t| parse_timestamp(t, self.now)) else {
            let message = match ts_text {
                None => "timestamp is empty".to_owned(),
                Some(t) => format!("timestamp {:?} is not a valid time", cut(t)),
            };
            return Err(skip(SkipReason::BadTimestamp, message));
        };
        if self.report_type.rule == Rule::Account {
            return Err(skip(
                SkipReason::PersonalData,
                format!("{label} rows hold personal data and are never stored"),
            ));
        }
        if self.cols.value.is_none() {
            let message = match self.wanted {
                Some(col) => format!("the header has no {col} column"),
                None => "the header has none of the columns the generic rule uses".to_owned(),
            };
            return Err(skip(SkipReason::NoIndicatorColumn, message));
        }
        let column = self.value_name.unwrap_or_default();
        let Some(raw) = rec.get(self.cols.value) else {
            return Err(skip(SkipReason::MissingValue, format!("{column} is empty")));
        };
        let thing = self.validate(raw).map_err(|why| {
            skip(
                SkipReason::InvalidValue,
                format!("{column} {:?}: {why}", cut(raw)),
            )
        })?;

        let is_ip = thing.itype().is_ip();
        let portlist = rec
            .get(self.cols.port)
            .filter(|_| is_ip)
            .and_then(parse_port);
        let protocol = if !is_ip {
            None
        } else if self.cols.protocol.is_some() {
            rec.get(self.cols.protocol).and_then(parse_protocol)
        } else {
            self.fixed_transport
        };
        let firsttime = if self.first_seen {
            rec.get(self.cols.first_seen_time)
                .and_then(|t| parse_timestamp(t, self.now))
                .map_or(ts, |f| f.min(ts))
        } else {
            ts
        };

        let mut tags = TagList::new();
        tags.push(PROVIDER);
        tags.push(label);
        if let Some(c) = self.category_tag {
            tags.push(c);
        }
        if let Some(t) = rec.get(self.cols.tag) {
            tags.push_split(t);
        }
        for col in [self.cols.infection, self.cols.family, self.cols.application] {
            if let Some(v) = rec.get(col) {
                tags.push(v);
            }
        }
        warnings.tags_dropped += tags.dropped();

        let detail = [
            self.cols.infection,
            self.cols.family,
            self.cols.reason,
            self.cols.category,
            self.cols.detail,
        ]
        .into_iter()
        .find_map(|c| rec.get(c));
        let description = match detail {
            Some(d) => truncate_chars(&format!("{}: {d}", self.description_head)),
            None => truncate_chars(&self.description_head),
        };

        let import_key = if is_ip {
            let family = if self.family_in_key {
                rec.get(self.cols.infection)
                    .or_else(|| rec.get(self.cols.family))
                    .map(str::to_lowercase)
                    .unwrap_or_default()
            } else {
                String::new()
            };
            format!(
                "shadowserver|{label}|{}|{}|{}|{family}",
                thing.as_str(),
                portlist.as_deref().unwrap_or_default(),
                protocol.map(|p| p.to_string()).unwrap_or_default(),
            )
        } else {
            format!("shadowserver|{label}|{}|||", thing.as_str())
        };

        let (content, truncated) = content::build(label, self.report_date, header, rec);
        if truncated {
            warnings.values_truncated += 1;
        }

        Ok(MappedRow {
            row,
            import_key,
            portlist,
            protocol,
            firsttime,
            lasttime: ts,
            tags: tags.into_vec(),
            description,
            provider: PROVIDER,
            asn: rec.get(self.cols.asn).and_then(parse_asn),
            cc: rec.get(self.cols.cc).and_then(parse_country),
            content,
            thing,
        })
    }

    /// §3.3: the shared parser, the column's kind, and the import's own rule that `0.0.0.0`
    /// and `::` are not indicators.
    fn validate(&self, raw: &str) -> Result<Thing, String> {
        let thing = Thing::parse(raw).map_err(|e| e.message)?;
        if !self.kind.accepts(&thing) {
            return Err(format!("not {}", self.kind.describe()));
        }
        if matches!(thing.as_str(), "0.0.0.0" | "::") {
            return Err("the unspecified address is not an indicator".to_owned());
        }
        Ok(thing)
    }
}

/// At most 255 characters.
fn truncate_chars(s: &str) -> String {
    match s.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// A value shortened for a message.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
