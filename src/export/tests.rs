use chrono::NaiveDateTime;

use super::*;

pub(crate) fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

pub(crate) fn feed() -> FeedInfo<'static> {
    FeedInfo {
        id: 3,
        owner: "alice",
        name: "scanners",
        description: Some("hosts that scan"),
        url: "http://127.0.0.1:8080/api/users/alice/feeds/scanners",
        generated: at("2026-12-07 10:00:00"),
    }
}

/// One value of every type, plus the hostile ones.
pub(crate) const VALUES: [&str; 12] = [
    "192.0.2.1",
    "198.51.100.0/24",
    "2001:db8::1",
    "2001:db8::/48",
    "example.com",
    "http://example.com/a;b\"c|d?x=1",
    "https://login.example.net",
    "abuse@example.org",
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "xn--bcher-kva.example",
];

/// Renders every value of [`VALUES`] (parsed) in `format`; also returns how many it left out.
pub(crate) fn render(format: Format) -> (String, usize) {
    render_with(format, false)
}

/// [`render`], with every member a terse format does not show changed when `other`.
fn render_with(format: Format, other: bool) -> (String, usize) {
    let feed = feed();
    let things: Vec<Thing> = VALUES.iter().map(|v| Thing::parse(v).unwrap()).collect();
    let mut writer = Writer::new(format);
    let mut out = String::new();
    writer.head(&feed, &mut out);
    let mut left_out = 0;
    for (i, thing) in things.iter().enumerate() {
        let item = Item {
            id: i as i64 + 1,
            thing,
            tags: "scanner, \"quoted\",tab\there",
            description: Some("line one\nline\ttwo \"q\""),
            firsttime: Some(at("2026-12-01 00:00:00")),
            lasttime: Some(at("2026-12-06 00:00:00")),
            created_at: at("2026-12-01 00:00:01"),
            updated_at: at("2026-12-06 00:00:02"),
            confidence: Some(7.5),
            tlp: if i % 2 == 0 {
                Tlp::Clear
            } else {
                Tlp::AmberStrict
            },
            expires_at: Some(at("2026-12-28 00:00:00")),
        };
        let item = if other {
            Item {
                firsttime: None,
                lasttime: None,
                created_at: at("2020-01-01 00:00:00"),
                updated_at: at("2020-01-01 00:00:00"),
                confidence: None,
                tlp: Tlp::Red,
                expires_at: None,
                ..item
            }
        } else {
            item
        };
        if !writer.item(&feed, &item, &mut out) {
            left_out += 1;
        }
    }
    writer.tail(&mut out);
    (out, left_out)
}

#[test]
fn txt_is_one_value_per_line() {
    let (out, left_out) = render(Format::Txt);
    assert_eq!(left_out, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, VALUES);
}

#[test]
fn zeek_lines_have_five_tab_separated_fields_of_valid_types() {
    let (out, left_out) = render(Format::Zeek);
    assert_eq!(left_out, 0);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), VALUES.len());
    for row in &rows {
        assert_eq!(row.len(), 5, "{row:?}");
        assert!(
            [
                "Intel::ADDR",
                "Intel::SUBNET",
                "Intel::DOMAIN",
                "Intel::URL",
                "Intel::EMAIL",
                "Intel::FILE_HASH"
            ]
            .contains(&row[1])
        );
        assert_eq!(row[2], "feedgate:alice/scanners");
    }
    assert_eq!(rows[1][1], "Intel::SUBNET");
    assert_eq!(
        rows[5][0], "example.com/a;b\"c|d?x=1",
        "URLs lose their scheme"
    );
    assert_eq!(rows[0][3], "line one line two \"q\"");
}

#[test]
fn suricata_rules_escape_content_and_keep_sids_per_indicator() {
    let (out, left_out) = render(Format::Suricata);
    // The e-mail address and the three hashes have no rule.
    assert_eq!(left_out, 4);
    let rules: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rules.len(), VALUES.len() - 4);
    assert!(rules[0].starts_with(
        "alert ip any any <> [192.0.2.1] any (msg:\"feedgate alice/scanners 192.0.2.1\";"
    ));
    assert!(
        rules[0].ends_with("sid:1000000001; rev:1;)"),
        "{}",
        rules[0]
    );
    assert!(rules[4].contains("dns.query; dotprefix; content:\".example.com\"; nocase; endswith;"));
    let url = rules[5];
    assert!(
        url.contains("http.host; content:\"example.com\"; nocase; startswith; endswith;"),
        "{url}"
    );
    assert!(
        url.contains("http.uri; content:\"/a|3B|b|22|c|7C|d?x=1\"; startswith;"),
        "{url}"
    );
    assert!(
        url.contains("msg:\"feedgate alice/scanners http://example.com/a\\;b\\\"c|d?x=1\""),
        "{url}"
    );
    assert!(
        !rules[6].contains("http.uri"),
        "a bare host has no path rule"
    );
}

#[test]
fn rpz_holds_domains_with_their_subdomains_and_address_triggers() {
    let (out, left_out) = render(Format::Rpz);
    // The URLs, the e-mail address and the hashes have no DNS form.
    assert_eq!(left_out, 6);
    assert!(out.contains("$TTL 300\n@ SOA localhost. hostmaster.localhost. "));
    for line in [
        "32.1.2.0.192.rpz-ip CNAME .",
        "24.0.100.51.198.rpz-ip CNAME .",
        "128.1.zz.db8.2001.rpz-ip CNAME .",
        "48.zz.db8.2001.rpz-ip CNAME .",
        "example.com CNAME .",
        "*.example.com CNAME .",
        "*.xn--bcher-kva.example CNAME .",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
}

#[test]
fn stix_is_one_bundle_with_stable_ids_and_tlp_markings() {
    let (out, left_out) = render(Format::Stix);
    assert_eq!(left_out, 0);
    let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let objects = bundle["objects"].as_array().unwrap();
    let indicators: Vec<_> = objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .collect();
    assert_eq!(indicators.len(), VALUES.len());
    let first = indicators[0];
    assert_eq!(first["pattern"], "[ipv4-addr:value = '192.0.2.1']");
    assert_eq!(first["confidence"], 75);
    assert_eq!(first["valid_until"], "2026-12-28T00:00:00.000Z");
    assert_eq!(
        first["object_marking_refs"][0],
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
    );
    assert_eq!(
        indicators[1]["object_marking_refs"][0],
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "AMBER+STRICT is AMBER in TLP 1.0"
    );
    assert_eq!(
        indicators[10]["pattern"],
        format!("[file:hashes.'SHA-256' = '{}']", VALUES[10])
    );
    assert_eq!(
        indicators[0]["labels"],
        serde_json::json!(["scanner", "\"quoted\"", "tab\there"])
    );
    // The same indicator renders with the same id on the next download.
    let (again, _) = render(Format::Stix);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["objects"][4]["id"], objects[4]["id"]);
    let id = first["id"].as_str().unwrap();
    assert_eq!(id.len(), "indicator--".len() + 36);
    assert_eq!(
        &id["indicator--".len() + 14..][..1],
        "4",
        "shaped as a version 4 UUID"
    );
}

#[test]
fn stix_valid_from_precedes_an_earlier_expiry() {
    let feed = feed();
    let thing = Thing::parse("example.com").unwrap();
    let mut writer = Writer::new(Format::Stix);
    let mut out = String::new();
    writer.head(&feed, &mut out);
    writer.item(
        &feed,
        &Item {
            id: 1,
            thing: &thing,
            tags: "",
            description: None,
            firsttime: Some(at("2026-12-01 00:00:00")),
            lasttime: None,
            created_at: at("2026-12-01 00:00:00"),
            updated_at: at("2026-12-01 00:00:00"),
            confidence: None,
            tlp: Tlp::Red,
            expires_at: Some(at("2026-01-01 00:00:00")),
        },
        &mut out,
    );
    writer.tail(&mut out);
    let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
    let indicator = &bundle["objects"][4];
    assert_eq!(indicator["valid_from"], "2025-12-31T23:59:59.999Z");
    assert_eq!(indicator["valid_until"], "2026-01-01T00:00:00.000Z");
    assert!(indicator.get("labels").is_none());
    assert!(indicator.get("confidence").is_none());
}

#[test]
fn misp_is_one_event_with_an_attribute_per_indicator() {
    let (out, left_out) = render(Format::Misp);
    assert_eq!(left_out, 0);
    let event: serde_json::Value = serde_json::from_str(&out).unwrap();
    let event = &event["Event"];
    assert_eq!(event["info"], "feedgate alice/scanners");
    assert_eq!(event["date"], "2026-12-07");
    let attributes = event["Attribute"].as_array().unwrap();
    assert_eq!(attributes.len(), VALUES.len());
    let types: Vec<&str> = attributes
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ip-dst",
            "ip-dst",
            "ip-dst",
            "ip-dst",
            "domain",
            "url",
            "url",
            "email-src",
            "md5",
            "sha1",
            "sha256",
            "domain"
        ]
    );
    assert_eq!(attributes[1]["Tag"][0]["name"], "tlp:amber+strict");
    assert_eq!(attributes[0]["to_ids"], true);
}

#[test]
fn format_names_round_trip() {
    for format in Format::ALL {
        assert_eq!(Format::from_name(format.name()), Some(format));
    }
    assert_eq!(Format::from_name("csv"), None);
}

#[test]
fn terse_formats_show_nothing_but_what_they_read() {
    for format in Format::ALL {
        let same = render_with(format, false) == render_with(format, true);
        assert_eq!(same, format.terse(), "{}", format.name());
    }
}

#[test]
fn stix_ids_carry_their_row_and_refuse_other_shapes() {
    use super::stix;
    let id = stix::indicator_id(42, "example.com");
    assert_eq!(stix::indicator_id(42, "example.com"), id, "stable");
    assert_eq!(stix::indicator_key(&id), Some(42));
    let other = stix::indicator_id(42, "example.net");
    assert_ne!(other[..20], id[..20], "the first half depends on the value");
    assert_eq!(&id["indicator--".len() + 14..][..1], "4");
    assert_eq!(stix::indicator_key("indicator--not-a-uuid"), None);
    assert_eq!(
        stix::indicator_key(&id.replace("indicator--", "malware--")),
        None
    );
    assert_eq!(stix::collection_key(&stix::collection_id(7)), Some(7));
    assert_ne!(stix::collection_id(7), stix::collection_id(8));
}

#[test]
fn timestamps_read_like_chronos_format() {
    for t in [
        "2026-12-07 08:00:00",
        "2026-01-02 03:04:05.123456",
        "1999-12-31 23:59:59.999999999",
    ] {
        let t = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(
            super::timestamp(t),
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
    }
}
