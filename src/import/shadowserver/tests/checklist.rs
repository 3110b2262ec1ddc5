//! The edge-case checklist of spec §7.3, items about reading and mapping (1–12, 15, 17–21;
//! 13 in part), on inputs derived from the samples. Items about the database, HTTP and the
//! ledger (13, 14, 16, 22–26) belong to the writer's tests.

use std::io::Write as _;

use proptest::prelude::*;

use super::*;
use crate::domain::thing::Itype;

/// Rewrites a CSV file record by record (the header included) with `f`.
fn rewrite(bytes: &[u8], mut f: impl FnMut(usize, &mut Vec<String>)) -> Vec<u8> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for (i, rec) in r.records().enumerate() {
        let mut cells: Vec<String> = rec.unwrap().iter().map(str::to_owned).collect();
        f(i, &mut cells);
        w.write_record(&cells).unwrap();
    }
    w.into_inner().unwrap()
}

/// The single file of a plain input.
fn one(bytes: &[u8], name: &str) -> Outcome {
    let mut all = run_bytes(bytes, name, None);
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

fn keys(o: &Outcome) -> Vec<&str> {
    o.mapped.iter().map(|r| r.import_key.as_str()).collect()
}

fn things(o: &Outcome) -> Vec<&str> {
    o.mapped.iter().map(|r| r.thing.as_str()).collect()
}

/// The indicator fields of every mapped row, without the stored copy.
fn fields(o: &Outcome) -> Vec<String> {
    o.mapped
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:?} {} {} {:?} {} {:?} {:?}",
                r.import_key,
                r.thing,
                r.portlist,
                r.protocol,
                r.firsttime,
                r.lasttime,
                r.tags,
                r.description,
                r.asn,
                r.cc
            )
        })
        .collect()
}

#[test]
fn checklist_1_a_bom_gives_the_same_indicators() {
    let plain = sample_bytes("intelmq-testdata/blocklist.csv");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(&plain);
    let (a, b) = (
        one(&plain, "blocklist.csv"),
        one(&with_bom, "blocklist.csv"),
    );
    assert_eq!(b.mapped.len(), 3);
    assert_eq!(a.mapped, b.mapped);
    assert_eq!(b.warnings.bom_removed, 1);
    assert_eq!(a.warnings.bom_removed, 0);
}

#[test]
fn checklist_2_line_endings_never_change_the_rows() {
    let lf = sample_bytes("intelmq-testdata/scan_dns.csv");
    let text = String::from_utf8(lf.clone()).unwrap();
    let variants = [
        text.replace('\n', "\r\n"),
        text.replace('\n', "\r"),
        text.trim_end_matches('\n').to_owned(),
        format!("{text}\n\n\n"),
    ];
    let base = one(&lf, "scan_dns.csv");
    for v in &variants {
        let o = one(v.as_bytes(), "scan_dns.csv");
        assert_eq!((o.rows_read, o.mapped.len(), o.created()), (100, 100, 83));
        assert_eq!(keys(&o), keys(&base));
    }
}

#[test]
fn checklist_3_quoted_values_are_stored_exactly() {
    let text = "timestamp,ip,port,sector,banner\n\
        2024-01-04 08:04:37,192.0.2.1,\"23\",\"Communications, Service Provider\",\"say \"\"hi\"\"\r\nlogin:\"\n\
        2024-01-04 08:04:38,192.0.2.1,23,x,y\n";
    let o = one(text.as_bytes(), "scan_telnet.csv");
    assert_eq!(o.mapped.len(), 2);
    let c = content(&o.mapped[0]);
    assert_eq!(c["row"]["sector"], "Communications, Service Provider");
    assert_eq!(c["row"]["banner"], "say \"hi\"\r\nlogin:");
    assert_eq!(c["row"]["port"], content(&o.mapped[1])["row"]["port"]);
    assert_eq!(o.mapped[0].import_key, o.mapped[1].import_key);
    assert_eq!(o.created(), 1);
}

#[test]
fn checklist_4_a_long_row_keeps_its_surplus_cells() {
    let mut bytes = sample_bytes("intelmq-testdata/blocklist.csv");
    bytes.extend_from_slice(
        b"\"2019-09-04 07:00:19\",\"198.51.100.7\",,,,5678,\"XX\",,,,,,,\"extra1\",\" extra2 \"\n",
    );
    let o = one(&bytes, "blocklist.csv");
    assert_eq!(o.mapped.len(), 4);
    assert_eq!(o.warnings.long_rows, 1);
    let c = content(&o.mapped[3]);
    assert_eq!(c["_extra"], serde_json::json!(["extra1", "extra2"]));
    assert!(content(&o.mapped[0]).get("_extra").is_none());
}

#[test]
fn checklist_5_header_drift_changes_nothing() {
    let bytes = sample_bytes("intelmq-testdata/scan_ssl.csv");
    let base = one(&bytes, "scan_ssl.csv");

    let permuted = rewrite(&bytes, |_, cells| cells.reverse());
    let o = one(&permuted, "scan_ssl.csv");
    assert_eq!(fields(&o), fields(&base));
    for (a, b) in o.mapped.iter().zip(&base.mapped) {
        assert_eq!(content(a)["row"], content(b)["row"]);
    }

    let shouting = rewrite(&bytes, |i, cells| {
        if i == 0 {
            for c in cells.iter_mut() {
                *c = format!("  {} ", c.to_uppercase());
            }
        }
    });
    assert_eq!(one(&shouting, "scan_ssl.csv").mapped, base.mapped);

    let added = rewrite(&bytes, |i, cells| {
        cells.insert(
            3,
            if i == 0 {
                "brand_new".into()
            } else {
                format!("new{i}")
            },
        )
    });
    let o = one(&added, "scan_ssl.csv");
    assert_eq!(fields(&o), fields(&base));
    assert_eq!(content(&o.mapped[0])["row"]["brand_new"], "new1");

    let o = sample("intelmq-legacy/caida_ip_spoofer.csv");
    let row = content(&o.mapped[0]);
    assert!(row["row"].get("type").is_some() && row["row"].get("type_2").is_some());
}

#[test]
fn checklist_6_a_missing_identifier_skips_rows() {
    let bytes = sample_bytes("intelmq-testdata/scan_http.csv");
    let col = rewrite(&bytes, |_, _| {});
    let header: Vec<String> = String::from_utf8(col)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let ip = header.iter().position(|h| h == "ip").unwrap();

    let without = rewrite(&bytes, |_, cells| {
        cells.remove(ip);
    });
    let o = one(&without, "scan_http.csv");
    assert_eq!(o.rows_read, 2);
    assert_eq!(o.skipped(), BTreeMap::from([("no_indicator_column", 2)]));
    assert_eq!(o.indicator_column, None);

    let empty = rewrite(&bytes, |i, cells| {
        if i == 1 {
            cells[ip] = "  ".into();
        }
    });
    let o = one(&empty, "scan_http.csv");
    assert_eq!(o.skipped(), BTreeMap::from([("missing_value", 1)]));
    assert_eq!(o.mapped.len(), 1);

    let o = one(b"timestamp,foo\n2024-01-04 00:00:00,bar\n", "mystery.csv");
    assert_eq!((o.label.as_str(), o.rule), ("mystery", Some(Rule::Generic)));
    assert_eq!(o.skipped(), BTreeMap::from([("no_indicator_column", 1)]));
}

/// A blocklist-shaped file with one row per value of `ip`.
fn blocklist_rows(values: &[&str], name: &str) -> Outcome {
    let mut text = String::from("timestamp,ip,port,asn\n");
    for v in values {
        text.push_str(&format!("2024-01-04 08:04:37,{v},80,64500\n"));
    }
    one(text.as_bytes(), name)
}

#[test]
fn checklist_7_addresses_are_validated_and_normalised() {
    let bad = [
        "0.0.0.0",
        "::",
        "123.456.789.0",
        "37.120.178.9.10",
        "fe80::1%eth0",
        "example.org",
    ];
    for name in ["blocklist.csv", "scan_ssl.csv"] {
        let o = blocklist_rows(&bad, name);
        assert_eq!(
            o.skipped(),
            BTreeMap::from([("invalid_value", bad.len())]),
            "{name}"
        );
    }
    let o = blocklist_rows(
        &[
            "2001:DB8::1",
            "::ffff:192.0.2.1",
            "198.123.245.0/24",
            "fe80::1",
        ],
        "blocklist.csv",
    );
    assert_eq!(
        things(&o),
        ["2001:db8::1", "192.0.2.1", "198.123.245.0/24", "fe80::1"]
    );
    assert_eq!(o.mapped[0].thing.itype(), Itype::Ipv6);
    assert_eq!(o.mapped[1].thing.itype(), Itype::Ipv4);
    // A network is an indicator only where the family says "address or CIDR".
    let o = blocklist_rows(&["198.123.245.0/24"], "scan_ssl.csv");
    assert_eq!(o.skipped(), BTreeMap::from([("invalid_value", 1)]));
    // The legacy sample with a link-local IPv6 address.
    let o = sample("intelmq-legacy/outdated_dnssec_key.csv");
    assert!(things(&o).contains(&"fe80::1"));
}

#[test]
fn checklist_8_asn_values() {
    let text = "timestamp,ip,asn\n\
        2024-01-04 00:00:00,192.0.2.1,0\n\
        2024-01-04 00:00:00,192.0.2.2,\n\
        2024-01-04 00:00:00,192.0.2.3,AS64500\n\
        2024-01-04 00:00:00,192.0.2.4,as64500\n\
        2024-01-04 00:00:00,192.0.2.5,abc\n";
    let o = one(text.as_bytes(), "scan_ssl.csv");
    let asns: Vec<Option<i64>> = o.mapped.iter().map(|r| r.asn).collect();
    assert_eq!(asns, [None, None, Some(64500), Some(64500), None]);
}

#[test]
fn checklist_9_timestamps() {
    let good = [
        ("2024-01-04 08:04:37", "2024-01-04 08:04:37"),
        ("2024-01-04 08:04:37Z", "2024-01-04 08:04:37"),
        ("2024-01-04 08:04:37 UTC", "2024-01-04 08:04:37"),
        ("2024-01-04T08:04:37+02:00", "2024-01-04 06:04:37"),
        ("2024-01-04 08:04:37+0000", "2024-01-04 08:04:37"),
        ("2024-01-04 08:04:37.123456", "2024-01-04 08:04:37"),
    ];
    let bad = [
        "",
        "yesterday",
        "2024-01-04",
        "2024-02-30 00:00:00",
        "2026-01-03 00:00:01",
    ];
    let mut text = String::from("timestamp,ip\n");
    for (i, (ts, _)) in good.iter().enumerate() {
        text.push_str(&format!("\"{ts}\",192.0.2.{}\n", i + 1));
    }
    for ts in bad {
        text.push_str(&format!("\"{ts}\",198.51.100.1\n"));
    }
    let o = one(text.as_bytes(), "scan_ssl.csv");
    let times: Vec<NaiveDateTime> = o.mapped.iter().map(|r| r.lasttime).collect();
    let want: Vec<NaiveDateTime> = good.iter().map(|(_, t)| at(t)).collect();
    assert_eq!(times, want);
    assert!(o.mapped.iter().all(|r| r.firsttime == r.lasttime));
    assert_eq!(o.skipped(), BTreeMap::from([("bad_timestamp", bad.len())]));
}

#[test]
fn special_rows_start_at_a_valid_earlier_first_seen_time() {
    let text = "timestamp,ip,first_seen_time\n\
        2024-01-04 00:00:00,192.0.2.1,2023-12-01 10:00:00\n\
        2024-01-04 00:00:00,192.0.2.2,2024-02-01 10:00:00\n\
        2024-01-04 00:00:00,192.0.2.3,last week\n";
    let o = one(text.as_bytes(), "special.csv");
    let first: Vec<NaiveDateTime> = o.mapped.iter().map(|r| r.firsttime).collect();
    assert_eq!(
        first,
        [
            at("2023-12-01 10:00:00"),
            at("2024-01-04 00:00:00"),
            at("2024-01-04 00:00:00")
        ]
    );
    assert!(
        o.mapped
            .iter()
            .all(|r| r.lasttime == at("2024-01-04 00:00:00"))
    );
}

#[test]
fn checklist_10_protocols() {
    let values = ["tcp", "TCP", "udp", "icmp", "6", "17", "1", "", "http"];
    let mut text = String::from("timestamp,ip,protocol\n");
    for (i, p) in values.iter().enumerate() {
        text.push_str(&format!("2024-01-04 00:00:00,192.0.2.{},{p}\n", i + 1));
    }
    let o = one(text.as_bytes(), "scan_ssl.csv");
    let got: Vec<Option<i64>> = o.mapped.iter().map(|r| r.protocol).collect();
    assert_eq!(
        got,
        [
            Some(6),
            Some(6),
            Some(17),
            Some(1),
            Some(6),
            Some(17),
            Some(1),
            None,
            None
        ]
    );

    for (rel, want) in [
        ("intelmq-testdata/scan_smb.csv", 6),
        ("intelmq-testdata/scan_vnc.csv", 6),
        ("intelmq-testdata/scan_hadoop.csv", 6),
        ("intelmq-testdata/scan_ipmi.csv", 17),
    ] {
        let o = sample(rel);
        assert!(o.mapped.iter().all(|r| r.protocol == Some(want)), "{rel}");
    }
    // The fixed transport belongs to the known type, not to the columns.
    let o = sample("intelmq-current/test_smb.csv");
    assert!(o.mapped.iter().all(|r| r.protocol.is_none()));
    // URL and domain things never carry a protocol.
    let o = sample("intelmq-testdata/sandbox_url.csv");
    assert!(
        o.mapped
            .iter()
            .all(|r| r.protocol.is_none() && r.portlist.is_none())
    );
}

#[test]
fn checklist_10_the_22_empty_and_2_http_protocols_of_the_csv_samples_give_none() {
    let (mut empty, mut http) = (0, 0);
    let mut files = Vec::new();
    walk(&data_dir(), &mut files);
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
    {
        let rel = path
            .strip_prefix(data_dir())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = sample_bytes(&rel);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&bytes[..]);
        let header = reader.headers().unwrap().clone();
        let Some(col) = header.iter().position(|h| h == "protocol") else {
            continue;
        };
        for rec in reader.records() {
            match rec.unwrap().get(col).unwrap_or_default() {
                "" => empty += 1,
                "http" if rel.starts_with("intelmq-legacy/") => http += 1,
                _ => {}
            }
        }
        for r in sample(&rel).mapped {
            let raw = content(&r)["row"].get("protocol").cloned();
            if raw.is_none() || raw.as_ref().is_some_and(|p| p == "http") {
                assert_eq!(r.protocol, None, "{rel} row {}", r.row);
            }
        }
    }
    assert_eq!((empty, http), (22, 2));
}

#[test]
fn checklist_11_tags() {
    let a = one(
        &sample_bytes("intelmq-testdata/scan_ssl.csv"),
        "scan_ssl.csv",
    );
    let semi = rewrite(
        &sample_bytes("intelmq-testdata/scan_ssl.csv"),
        |_, cells| {
            for c in cells.iter_mut() {
                if c == "ssl,vpn" {
                    *c = "ssl;vpn".into();
                }
            }
        },
    );
    let b = one(&semi, "scan_ssl.csv");
    assert_eq!(a.mapped[0].tags, b.mapped[0].tags);
    assert_eq!(a.mapped[0].tags[2..], ["ssl", "vpn"]);

    let long = "x".repeat(70);
    let many: Vec<String> = (0..12)
        .map(|i| format!("t{i:02}{}", "y".repeat(20)))
        .collect();
    let text = format!(
        "timestamp,ip,tag,infection\n\
         2024-01-04 00:00:00,192.0.2.1,\"CVE-2016-10372;ssl,SSL;{long};a/b\",ssl\n\
         2024-01-04 00:00:00,192.0.2.2,\"{}\",\n",
        many.join(";")
    );
    let o = one(text.as_bytes(), "scan_ssl.csv");
    assert_eq!(
        o.mapped[0].tags,
        ["shadowserver", "scan_ssl", "cve-2016-10372", "ssl"]
    );
    let t = &o.mapped[1].tags;
    assert!(t.join(",").chars().count() <= 255);
    assert!(t.len() < 14);
    let dropped_second = 14 - t.len() as u64;
    assert_eq!(o.warnings.tags_dropped, 2 + dropped_second);
}

#[test]
fn descriptions_are_cut_at_255_characters() {
    let text = format!(
        "timestamp,src_ip,infection\n2024-01-04 00:00:00,192.0.2.1,{}\n",
        "é".repeat(300)
    );
    let o = one(text.as_bytes(), "event4_sinkhole.csv");
    assert_eq!(o.mapped[0].description.chars().count(), 255);
    assert!(
        o.mapped[0]
            .description
            .starts_with("Shadowserver Sinkhole-Events IPv4: éé")
    );
}

/// A zip archive of `(path, content)` members; a path ending in `/` is a directory.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, body) in members {
        if path.ends_with('/') {
            w.add_directory(*path, opts).unwrap();
        } else {
            w.start_file(*path, opts).unwrap();
            w.write_all(body).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn checklist_12_types_from_explicit_list_entry_and_zip_names() {
    let bytes = sample_bytes("intelmq-testdata/scan_ics.csv");
    let archive = zip_of(&[("Export (1).csv", &bytes)]);
    let o = run_bytes(&archive, "2020-04-03-scan_ics-sample.csv.zip", None);
    assert_eq!(
        (o[0].label.as_str(), o[0].rule),
        ("scan_ics", Some(Rule::Host))
    );
    let c = content(&o[0].mapped[0]);
    assert_eq!(c["report_date"], "2020-04-03");

    let o = run_bytes(&bytes, "scan_ics.csv", Some("scan_ssl"));
    assert_eq!(o[0].label, "scan_ssl");

    let mut opts = ImportOptions::new(now());
    opts.list_entry_type = Some("scan_snmp".into());
    opts.report_date = chrono::NaiveDate::from_ymd_opt(2024, 1, 4);
    let o = run_with(&bytes, "2020-04-03-scan_ics.csv", &opts).unwrap();
    assert_eq!(o[0].label, "scan_snmp");
    assert_eq!(content(&o[0].mapped[0])["report_date"], "2024-01-04");
}

#[test]
fn checklist_13_a_renamed_copy_has_the_same_hash_label_and_keys() {
    let bytes = sample_bytes("intelmq-testdata/scan_dns.csv");
    let opts = ImportOptions::new(now());
    let a = open_report(Cursor::new(&bytes), "scan_dns.csv", &opts).unwrap();
    let b = open_report(Cursor::new(&bytes), "2024-01-04-scan_dns-copy.csv", &opts).unwrap();
    let (fa, fb) = (&a.files()[0], &b.files()[0]);
    assert_eq!(fa.sha256, fb.sha256);
    assert_eq!(fa.sha256.as_ref().unwrap().len(), 64);
    assert_eq!(fa.report_type, fb.report_type);
    assert_ne!(fa.name, fb.name);
    let (x, y) = (one(&bytes, &fa.name), one(&bytes, &fb.name));
    assert_eq!(keys(&x), keys(&y));
    assert_eq!(x.created(), 83);
}

#[test]
fn a_hash_computed_on_another_thread_equals_the_opening_pass() {
    let bytes = sample_bytes("intelmq-testdata/scan_dns.csv");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan_dns.csv");
    std::fs::write(&path, &bytes).unwrap();
    let hashed = open_report(
        Cursor::new(&bytes),
        "scan_dns.csv",
        &ImportOptions::new(now()),
    )
    .unwrap()
    .files()[0]
        .sha256
        .clone()
        .unwrap();

    let mut opts = ImportOptions::new(now());
    opts.pending_sha256 = Some(PendingHash::of_file(&path));
    let report = open_report(std::fs::File::open(&path).unwrap(), "scan_dns.csv", &opts).unwrap();
    let facts = &report.files()[0];
    assert_eq!(facts.sha256, None, "opening only sniffs");
    assert_eq!(facts.size, Some(bytes.len() as u64));
    assert_eq!(
        report.pending_sha256(0).unwrap().wait(),
        Ok(hashed.as_str())
    );

    let gone = PendingHash::of_file(&dir.path().join("missing.csv"));
    assert!(gone.wait().is_err());
}

#[test]
fn checklist_15_an_oversize_record_stops_the_file_and_keeps_earlier_rows() {
    let mut bytes = sample_bytes("intelmq-testdata/blocklist.csv");
    bytes.extend_from_slice(b"\"2019-09-04 07:00:19\",\"198.51.100.9\",\"unterminated");
    bytes.extend(std::iter::repeat_n(b'x', (1 << 20) + 4096));
    bytes.extend_from_slice(b"\n\"2019-09-04 07:00:19\",\"198.51.100.10\"\n");
    let o = one(&bytes, "blocklist.csv");
    assert!(o.incomplete);
    assert_eq!(o.rows_read, 4);
    assert_eq!(o.mapped.len(), 3);
    assert_eq!(o.skipped(), BTreeMap::from([("malformed_row", 1)]));
}

#[test]
fn checklist_17_invalid_utf8_and_nul_bytes_in_a_banner() {
    let text = String::from_utf8(sample_bytes("intelmq-testdata/scan_telnet.csv")).unwrap();
    let header_end = text.find('\n').unwrap() + 1;
    let mut bytes = text.as_bytes()[..header_end].to_vec();
    for line in text[header_end..].lines() {
        // The banner is the last column; put junk at its start.
        let (head, banner) = line.rsplit_once(',').unwrap();
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(b",\"\xFF\xFEx\0y");
        bytes.extend_from_slice(banner.trim_matches('"').as_bytes());
        bytes.extend_from_slice(b"\"\n");
    }
    let o = one(&bytes, "scan_telnet.csv");
    assert_eq!(o.mapped.len(), 2);
    let banner = content(&o.mapped[0])["row"]["banner"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(banner.starts_with("\u{FFFD}\u{FFFD}xy"), "{banner:?}");
    assert_eq!(o.warnings.invalid_utf8_rows, 2);
    assert_eq!(o.warnings.nul_bytes_removed, 2);
}

#[test]
fn checklist_18_json_arrays_ndjson_and_pretty_streams_map_alike() {
    let bytes = sample_bytes("opencti-json/report_type_blocklist.json");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
    let ndjson: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let pretty: String = rows
        .iter()
        .map(|r| serde_json::to_string_pretty(r).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let a = run_bytes(&bytes, "a.json", Some("blocklist"))
        .pop()
        .unwrap();
    let n = run_bytes(ndjson.as_bytes(), "a.ndjson", Some("blocklist"))
        .pop()
        .unwrap();
    let p = run_bytes(pretty.as_bytes(), "a.json", Some("blocklist"))
        .pop()
        .unwrap();
    assert_eq!(a.mapped.len(), 5);
    assert_eq!(a.mapped, n.mapped);
    assert_eq!(a.mapped, p.mapped);
}

#[test]
fn checklist_18_null_tag_arrays_strings_and_cut_arrays() {
    let text = br#"[
        {"timestamp": "2024-01-04T08:04:37Z", "ip": "192.0.2.1", "port": 443, "asn": null,
         "tag": ["ssl", "vpn"]},
        "oops",
        {"timestamp": "2024-01-04T08:04:38Z", "ip": "192.0.2.2", "port": "443"}
    ]"#;
    let o = one(text, "scan_ssl.json");
    assert_eq!(o.rows_read, 3);
    assert_eq!(o.skipped(), BTreeMap::from([("malformed_row", 1)]));
    let r = &o.mapped[0];
    assert_eq!(r.tags, ["shadowserver", "scan_ssl", "ssl", "vpn"]);
    assert_eq!(r.asn, None);
    assert!(content(r)["row"].get("asn").is_none());
    assert_eq!(content(r)["row"]["tag"], "ssl;vpn");
    assert_eq!(o.mapped[0].portlist, o.mapped[1].portlist);

    let cut = br#"[{"timestamp": "2024-01-04T08:04:37Z", "ip": "192.0.2.1"},
                  {"timestamp": "2024-01-04T08:04:37Z", "ip": "192.0.2.2"},
                  {"timestamp": "2024-01-04T08:0"#;
    let o = one(cut, "scan_ssl.json");
    assert!(o.incomplete);
    assert_eq!((o.mapped.len(), o.rows_read), (2, 3));
    assert_eq!(o.skipped(), BTreeMap::from([("malformed_row", 1)]));
}

#[test]
fn checklist_19_empty_inputs() {
    for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\xEF\xBB\xBF \r\n\t "] {
        let o = one(bytes, "scan_dns.csv");
        assert_eq!(
            o.rejected.unwrap().code,
            FileErrorCode::EmptyReport,
            "{bytes:?}"
        );
    }
    for (bytes, name) in [
        (&b"\"timestamp\",\"ip\"\n"[..], "scan_dns.csv"),
        (b"[]", "scan_dns.json"),
        (b" [\n] \n", "scan_dns.json"),
    ] {
        let o = one(bytes, name);
        assert!(o.rejected.is_none(), "{name}");
        assert_eq!(o.rows_read, 0);
    }
}

#[test]
fn gzip_and_broken_zip_inputs_are_unreadable() {
    let o = one(b"\x1f\x8b\x08\x00rest", "scan_dns.csv.gz");
    let e = o.rejected.unwrap();
    assert_eq!(e.code, FileErrorCode::UnreadableReport);
    assert!(e.message.contains("decompress"));
    let o = one(b"PK\x03\x04 not really a zip", "x.zip");
    assert_eq!(o.rejected.unwrap().code, FileErrorCode::UnreadableReport);
}

#[test]
fn checklist_20_zip_archives() {
    let csv = sample_bytes("intelmq-testdata/blocklist.csv");
    let plain = one(&csv, "blocklist.csv");

    // One member: the member is the file, hashed over its inflated bytes.
    let archive = zip_of(&[("blocklist.csv", &csv)]);
    let opts = ImportOptions::new(now());
    let report = open_report(Cursor::new(&archive), "blocklist.csv.zip", &opts).unwrap();
    let facts = &report.files()[0];
    assert_eq!(facts.name, "blocklist.csv");
    assert_eq!(facts.format, Some(Format::Csv));
    let raw = open_report(Cursor::new(&csv), "blocklist.csv", &opts).unwrap();
    assert_eq!(facts.sha256, raw.files()[0].sha256);
    let o = run_bytes(&archive, "blocklist.csv.zip", None);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].mapped, plain.mapped);

    // Ignored: a directory, __MACOSX entries, hidden files, other extensions.
    let archive = zip_of(&[
        ("reports/", b""),
        ("__MACOSX/reports/._blocklist.csv", b"junk"),
        ("reports/.hidden.csv", b"junk"),
        ("reports/readme.txt", b"hello"),
        ("reports/2024-01-04-blocklist.CSV", &csv),
        ("reports/scan_dns.json", b"[]"),
    ]);
    let o = run_bytes(&archive, "x.zip", None);
    assert_eq!(o.len(), 2);
    assert_eq!(
        o[0].mapped,
        plain
            .mapped
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.content.text = r.content.text.replacen(
                    r#""report_type":"blocklist","#,
                    r#""report_type":"blocklist","report_date":"2024-01-04","#,
                    1,
                );
                r
            })
            .collect::<Vec<_>>()
    );
    assert_eq!((o[1].label.as_str(), o[1].rows_read), ("scan_dns", 0));

    // An encrypted member is rejected; the others still import.
    let mut archive = zip_of(&[("blocklist.csv", &csv), ("2024-01-04-blocklist.csv", &csv)]);
    set_encrypted_flag(&mut archive, 1);
    let o = run_bytes(&archive, "x.zip", None);
    assert_eq!(o[0].mapped.len(), 3);
    assert!(
        o[1].rejected
            .as_ref()
            .unwrap()
            .message
            .contains("encrypted")
    );

    // Past the inflated-size limit the whole archive is refused.
    let mut small = ImportOptions::new(now());
    small.max_unzipped_bytes = (csv.len() * 2 - 1) as u64;
    let archive = zip_of(&[("a.csv", &csv), ("b.csv", &csv)]);
    assert!(matches!(
        run_with(&archive, "x.zip", &small),
        Err(ImportError::UnzippedTooLarge { .. })
    ));
    small.max_unzipped_bytes = (csv.len() * 2) as u64;
    assert!(run_with(&archive, "x.zip", &small).is_ok());

    // Past the member limit (HTTP) the whole archive is refused before any member is read;
    // only importable members count.
    let mut few = ImportOptions::new(now());
    few.max_zip_members = Some(1);
    let archive = zip_of(&[("a.csv", &csv), ("readme.txt", b"hi"), ("b.csv", &csv)]);
    assert!(matches!(
        run_with(&archive, "x.zip", &few),
        Err(ImportError::TooManyMembers {
            members: 2,
            limit: 1
        })
    ));
    few.max_zip_members = Some(2);
    assert_eq!(run_with(&archive, "x.zip", &few).unwrap().len(), 2);

    // No importable member: one rejected entry for the archive.
    for archive in [zip_of(&[]), zip_of(&[("readme.txt", b"hi")])] {
        let o = run_bytes(&archive, "x.zip", None);
        assert_eq!(o.len(), 1);
        assert_eq!(
            o[0].rejected.as_ref().unwrap().code,
            FileErrorCode::UnreadableReport
        );
    }

    // A nested archive is not opened.
    let inner = zip_of(&[("blocklist.csv", &csv)]);
    let o = run_bytes(&zip_of(&[("inner.csv", &inner)]), "x.zip", None);
    assert!(o[0].rejected.as_ref().unwrap().message.contains("nested"));
}

/// Sets the "encrypted" flag of member `index` in its local and central headers.
fn set_encrypted_flag(archive: &mut [u8], index: usize) {
    for (sig, flag_offset) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
        let at = (0..archive.len() - 4)
            .filter(|i| &archive[*i..*i + 4] == sig)
            .nth(index)
            .unwrap();
        archive[at + flag_offset] |= 1;
    }
}

#[test]
fn checklist_21_ransomware_victims_and_compromised_accounts() {
    let text = "timestamp,entity_name,website,geo,ransomware\n\
        2024-01-04 00:00:00,Example Org,example.org,de,lockbit\n\
        2024-01-04 00:00:00,Example Org,https://Example.org/,de,lockbit\n";
    let o = one(text.as_bytes(), "ransomware_victim.csv");
    let r = &o.mapped[0];
    assert_eq!(
        (r.thing.as_str(), r.thing.itype()),
        ("example.org", Itype::Fqdn)
    );
    assert_eq!(r.tags, ["shadowserver", "ransomware_victim", "victim"]);
    assert_eq!(r.description, "Shadowserver Ransomware-victim (victim)");
    assert_eq!((r.asn, r.cc.as_deref()), (None, Some("DE")));
    assert_eq!(
        r.import_key,
        "shadowserver|ransomware_victim|example.org|||"
    );
    assert_eq!(o.mapped[1].thing.as_str(), "https://example.org");

    let text = "timestamp,email,infection,source_url\n\
        2024-01-04 00:00:00,someone@example.org,stealer,https://paste.example/x\n";
    let o = one(text.as_bytes(), "compromised_account.csv");
    assert!(o.mapped.is_empty());
    assert_eq!(o.skipped(), BTreeMap::from([("personal_data", 1)]));
    assert!(!o.skips[0].message.contains("someone"));
}

#[test]
fn batches_of_seven_give_the_same_rows() {
    let bytes = sample_bytes("intelmq-testdata/scan_dns.csv");
    let opts = ImportOptions::new(now());
    let mut report = open_report(Cursor::new(&bytes), "scan_dns.csv", &opts).unwrap();
    let mut rows = report.rows(0).unwrap();
    let mut batched = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let mut batch = Vec::new();
        let n = rows.next_batch(7, &mut batch);
        if n == 0 {
            break;
        }
        sizes.push(n);
        batched.extend(batch);
    }
    assert_eq!(sizes.len(), 15);
    assert!(sizes[..14].iter().all(|n| *n == 7));
    assert_eq!(rows.bytes_read(), bytes.len() as u64);
    let whole: Vec<_> = {
        let mut r = open_report(Cursor::new(&bytes), "scan_dns.csv", &opts).unwrap();
        r.rows(0).unwrap().collect()
    };
    assert_eq!(batched, whole);
}

#[test]
fn a_summary_built_from_the_engine_keeps_the_identity() {
    let bytes = sample_bytes("intelmq-testdata/event4_honeypot_ddos_amp.csv");
    let opts = ImportOptions::new(now());
    let mut report =
        open_report(Cursor::new(&bytes), "event4_honeypot_ddos_amp.csv", &opts).unwrap();
    let facts = report.files()[0].clone();
    let mut file = FileSummary::for_file(&facts);
    let mut rows = report.rows(0).unwrap();
    let mut seen = HashSet::new();
    for item in rows.by_ref() {
        match item {
            Ok(r) if seen.insert(r.import_key.clone()) => file.indicators_created += 1,
            Ok(_) => file.indicators_unchanged += 1,
            Err(skip) => file.record_skip(&skip),
        }
    }
    file.finish_reading(&rows);
    let mut summary = Summary::new();
    summary.push_file(file);
    assert!(summary.is_consistent());
    let v = serde_json::to_value(&summary).unwrap();
    assert_eq!(v["rows_read"], 5);
    assert_eq!(v["indicators_created"], 4);
    assert_eq!(v["rows_skipped"], serde_json::json!({"invalid_value": 1}));
    assert_eq!(v["files"][0]["format"], "csv");
    assert_eq!(v["files"][0]["rule"], "victim");
    assert_eq!(v["files"][0]["indicator_column"], "src_ip");
    assert_eq!(v["files"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(v["errors_sample"][0]["row"], 5);
}

/// Runs arbitrary bytes through open and every row; nothing may panic.
fn exhaust(bytes: &[u8], name: &str) {
    let opts = ImportOptions::new(now());
    let Ok(mut report) = open_report(Cursor::new(bytes), name, &opts) else {
        return;
    };
    for i in 0..report.files().len() {
        if let Ok(rows) = report.rows(i) {
            let n = rows.count();
            assert!(n <= bytes.len() + 1);
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        prefix in prop::sample::select(vec![
            &b""[..], b"timestamp,ip,port\n", b"[", b"[{\"timestamp\":\"2024-01-04 00:00:00\",\"ip\":",
            b"{\"timestamp\":", b"\xEF\xBB\xBF", b"PK\x03\x04", b"PK\x05\x06",
        ]),
        name in prop::sample::select(vec!["scan_ssl.csv", "blocklist.json", "x.zip", ""]),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&body);
        exhaust(&bytes, name);
    }

    #[test]
    fn arbitrary_csv_cells_never_panic(
        cells in proptest::collection::vec("[ -~\u{80}-\u{10FFFF}]{0,12}", 0..12),
    ) {
        let mut text = String::from("timestamp,ip,port,protocol,asn,geo,tag\n");
        text.push_str(&cells.join(","));
        text.push('\n');
        exhaust(text.as_bytes(), "scan_ssl.csv");
        exhaust(text.as_bytes(), "event4_sinkhole.csv");
        exhaust(text.as_bytes(), "mystery.csv");
    }
}

#[test]
fn a_row_limit_yields_that_many_rows_and_says_whether_more_followed() {
    let csv = "timestamp,ip\n2024-01-04 08:00:00,192.0.2.1\n\
               2024-01-04 08:00:00,192.0.2.2\n2024-01-04 08:00:00,192.0.2.3\n";
    for (limit, yielded, cut) in [(0, 0, true), (2, 2, true), (3, 3, false), (10, 3, false)] {
        let opts = ImportOptions::new(now());
        let mut report = open_report(Cursor::new(csv.as_bytes()), "blocklist.csv", &opts).unwrap();
        let mut rows = report.rows(0).unwrap();
        rows.limit_rows(limit);
        let n = rows.by_ref().count() as u64;
        assert_eq!(
            (n, rows.rows_read(), rows.was_cut()),
            (yielded, yielded, cut),
            "limit {limit}"
        );
    }
}
