//! Every file of the corpus through read and map (spec §7.1, §7.2): rows read, rows mapped,
//! distinct import keys (what a fresh feed would create) and skips, pinned per file; and one
//! fully checked row for each family.

use super::*;
use crate::domain::thing::Itype;

/// `(file, label, rule or "rejected", rows read, created, merged, skips)`, where created is
/// the number of distinct import keys and merged the other mapped rows. The directory totals
/// are those of §7.2; the exceptions there match row by row. opencti `report_type_<T>.json`
/// files are read with explicit type T.
const CORPUS: &[(&str, &str, &str, u64, usize, usize, &str)] = &[
    ("SOURCES.md", "unknown", "rejected", 0, 0, 0, ""),
    (
        "api/intelmq-reports-list.json",
        "intelmq",
        "generic",
        5,
        0,
        0,
        "bad_timestamp=5",
    ),
    (
        "intelmq-current/test_smb.csv",
        "test_smb",
        "generic",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-current/test_telnet.csv",
        "test_telnet",
        "generic",
        2,
        1,
        1,
        "",
    ),
    (
        "intelmq-legacy/blacklist.csv",
        "blacklist",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/botnet_drone.csv",
        "botnet_drone",
        "generic",
        102,
        102,
        0,
        "",
    ),
    (
        "intelmq-legacy/caida_ip_spoofer.csv",
        "caida_ip_spoofer",
        "generic",
        5,
        5,
        0,
        "",
    ),
    (
        "intelmq-legacy/chargen.csv",
        "chargen",
        "generic",
        93,
        82,
        11,
        "",
    ),
    (
        "intelmq-legacy/cisco_smart_install.csv",
        "cisco_smart_install",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/darknet.csv",
        "darknet",
        "generic",
        133,
        54,
        79,
        "",
    ),
    (
        "intelmq-legacy/ddos_amplification.csv",
        "ddos_amplification",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/drone.csv",
        "drone",
        "generic",
        93,
        93,
        0,
        "",
    ),
    (
        "intelmq-legacy/drone_brute_force.csv",
        "drone_brute_force",
        "generic",
        1,
        1,
        0,
        "",
    ),
    (
        "intelmq-legacy/honeypot_brute_force.csv",
        "honeypot_brute_force",
        "generic",
        6,
        6,
        0,
        "",
    ),
    (
        "intelmq-legacy/honeypot_ddos_amp.csv",
        "honeypot_ddos_amp",
        "generic",
        5,
        4,
        0,
        "invalid_value=1",
    ),
    (
        "intelmq-legacy/hp_http_scan.csv",
        "hp_http_scan",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/hp_ics_scan.csv",
        "hp_ics_scan",
        "generic",
        2,
        2,
        0,
        "",
    ),
    ("intelmq-legacy/ipmi.csv", "ipmi", "generic", 93, 80, 13, ""),
    (
        "intelmq-legacy/microsoft_sinkhole.csv",
        "microsoft_sinkhole",
        "generic",
        107,
        88,
        19,
        "",
    ),
    (
        "intelmq-legacy/netbios.csv",
        "netbios",
        "generic",
        93,
        79,
        14,
        "",
    ),
    (
        "intelmq-legacy/netis_router.csv",
        "netis_router",
        "generic",
        1,
        1,
        0,
        "",
    ),
    (
        "intelmq-legacy/outdated_dnssec_key.csv",
        "outdated_dnssec_key",
        "generic",
        2,
        2,
        0,
        "",
    ),
    ("intelmq-legacy/qotd.csv", "qotd", "generic", 93, 80, 13, ""),
    (
        "intelmq-legacy/scan6_ssl_poodle.csv",
        "scan6_ssl_poodle",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan6_telnet.csv",
        "scan6_telnet",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_caida.csv",
        "scan_caida",
        "generic",
        5,
        5,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_ldap.csv",
        "scan_ldap",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_log4shell_vulnerable.csv",
        "scan_log4shell_vulnerable",
        "generic",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_msrdpeudp.csv",
        "scan_msrdpeudp",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_sinkholedns.csv",
        "scan_sinkholedns",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/scan_smtp.csv",
        "scan_smtp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/sinkhole6_http.csv",
        "sinkhole6_http",
        "generic",
        3,
        1,
        2,
        "",
    ),
    (
        "intelmq-legacy/sinkhole_dns.csv",
        "sinkhole_dns",
        "generic",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-legacy/sinkhole_http_drone.csv",
        "sinkhole_http_drone",
        "generic",
        86,
        74,
        12,
        "",
    ),
    ("intelmq-legacy/snmp.csv", "snmp", "generic", 76, 67, 9, ""),
    (
        "intelmq-legacy/spam_url.csv",
        "spam_url",
        "url",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/blocklist.csv",
        "blocklist",
        "blocklist",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/compromised_website.csv",
        "compromised_website",
        "host",
        3,
        2,
        1,
        "",
    ),
    (
        "intelmq-testdata/device_id.csv",
        "device_id",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_ddos_participant.csv",
        "event4_ddos_participant",
        "event",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_honeypot_brute_force.csv",
        "event4_honeypot_brute_force",
        "event",
        6,
        6,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_honeypot_darknet.csv",
        "event4_honeypot_darknet",
        "event",
        8,
        8,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_honeypot_ddos.csv",
        "event4_honeypot_ddos",
        "event",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_honeypot_ddos_amp.csv",
        "event4_honeypot_ddos_amp",
        "victim",
        5,
        4,
        0,
        "invalid_value=1",
    ),
    (
        "intelmq-testdata/event4_honeypot_ddos_target.csv",
        "event4_honeypot_ddos_target",
        "victim",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_honeypot_http_scan.csv",
        "event4_honeypot_http_scan",
        "event",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_ip_spoofer.csv",
        "event4_ip_spoofer",
        "event",
        6,
        6,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_microsoft_sinkhole.csv",
        "event4_microsoft_sinkhole",
        "event",
        6,
        6,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_microsoft_sinkhole_http.csv",
        "event4_microsoft_sinkhole_http",
        "event",
        5,
        5,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_sinkhole.csv",
        "event4_sinkhole",
        "event",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_sinkhole_dns.csv",
        "event4_sinkhole_dns",
        "event",
        3,
        2,
        1,
        "",
    ),
    (
        "intelmq-testdata/event4_sinkhole_http.csv",
        "event4_sinkhole_http",
        "event",
        5,
        5,
        0,
        "",
    ),
    (
        "intelmq-testdata/event4_sinkhole_http_referer.csv",
        "event4_sinkhole_http_referer",
        "referer",
        5,
        5,
        0,
        "",
    ),
    (
        "intelmq-testdata/event6_sinkhole_http.csv",
        "event6_sinkhole_http",
        "event",
        3,
        2,
        1,
        "",
    ),
    (
        "intelmq-testdata/malware_url.csv",
        "malware_url",
        "url",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/phish_url.csv",
        "phish_url",
        "generic",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/population_http_proxy.csv",
        "population_http_proxy",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/sandbox_conn.csv",
        "sandbox_conn",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/sandbox_dns.csv",
        "sandbox_dns",
        "dns",
        3,
        2,
        1,
        "",
    ),
    (
        "intelmq-testdata/sandbox_url.csv",
        "sandbox_url",
        "url",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_adb.csv",
        "scan_adb",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_afp.csv",
        "scan_afp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_amqp.csv",
        "scan_amqp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ard.csv",
        "scan_ard",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_chargen.csv",
        "scan_chargen",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_cisco_smart_install.csv",
        "scan_cisco_smart_install",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_coap.csv",
        "scan_coap",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_couchdb.csv",
        "scan_couchdb",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_cwmp.csv",
        "scan_cwmp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_db2.csv",
        "scan_db2",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ddos_middlebox.csv",
        "scan_ddos_middlebox",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_dns.csv",
        "scan_dns",
        "host",
        100,
        83,
        17,
        "",
    ),
    (
        "intelmq-testdata/scan_docker.csv",
        "scan_docker",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_dvr_dhcpdiscover.csv",
        "scan_dvr_dhcpdiscover",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_elasticsearch.csv",
        "scan_elasticsearch",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_exchange.csv",
        "scan_exchange",
        "host",
        7,
        7,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ftp.csv",
        "scan_ftp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_hadoop.csv",
        "scan_hadoop",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_http.csv",
        "scan_http",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_http_proxy.csv",
        "scan_http_proxy",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_http_vulnerable.csv",
        "scan_http_vulnerable",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ics.csv",
        "scan_ics",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ipmi.csv",
        "scan_ipmi",
        "host",
        95,
        80,
        15,
        "",
    ),
    (
        "intelmq-testdata/scan_ipp.csv",
        "scan_ipp",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_isakmp.csv",
        "scan_isakmp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_kubernetes.csv",
        "scan_kubernetes",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ldap_tcp.csv",
        "scan_ldap_tcp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ldap_udp.csv",
        "scan_ldap_udp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mdns.csv",
        "scan_mdns",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_memcached.csv",
        "scan_memcached",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mongodb.csv",
        "scan_mongodb",
        "host",
        10,
        10,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mqtt.csv",
        "scan_mqtt",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mqtt_anon.csv",
        "scan_mqtt_anon",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mssql.csv",
        "scan_mssql",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_mysql.csv",
        "scan_mysql",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_nat_pmp.csv",
        "scan_nat_pmp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_netbios.csv",
        "scan_netbios",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_netis_router.csv",
        "scan_netis_router",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ntp.csv",
        "scan_ntp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ntpmonitor.csv",
        "scan_ntpmonitor",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_portmapper.csv",
        "scan_portmapper",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_postgres.csv",
        "scan_postgres",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_qotd.csv",
        "scan_qotd",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_quic.csv",
        "scan_quic",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_radmin.csv",
        "scan_radmin",
        "host",
        9,
        9,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_rdp.csv",
        "scan_rdp",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_rdpeudp.csv",
        "scan_rdpeudp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_redis.csv",
        "scan_redis",
        "host",
        93,
        80,
        13,
        "",
    ),
    (
        "intelmq-testdata/scan_rsync.csv",
        "scan_rsync",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_sip.csv",
        "scan_sip",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_slp.csv",
        "scan_slp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_smb.csv",
        "scan_smb",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_smtp_vulnerable.csv",
        "scan_smtp_vulnerable",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_snmp.csv",
        "scan_snmp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_socks.csv",
        "scan_socks",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ssdp.csv",
        "scan_ssdp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ssh.csv",
        "scan_ssh",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ssl.csv",
        "scan_ssl",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ssl_freak.csv",
        "scan_ssl_freak",
        "host",
        45,
        41,
        4,
        "",
    ),
    (
        "intelmq-testdata/scan_ssl_poodle.csv",
        "scan_ssl_poodle",
        "host",
        31,
        31,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_stun.csv",
        "scan_stun",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_synfulknock.csv",
        "scan_synfulknock",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_telnet.csv",
        "scan_telnet",
        "host",
        2,
        1,
        1,
        "",
    ),
    (
        "intelmq-testdata/scan_tftp.csv",
        "scan_tftp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ubiquiti.csv",
        "scan_ubiquiti",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_vnc.csv",
        "scan_vnc",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_ws_discovery.csv",
        "scan_ws_discovery",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/scan_xdmcp.csv",
        "scan_xdmcp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "intelmq-testdata/special.csv",
        "special",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "opencti-json/report_list.json",
        "report_list",
        "generic",
        12,
        0,
        0,
        "bad_timestamp=12",
    ),
    (
        "opencti-json/report_type_blocklist.json",
        "blocklist",
        "blocklist",
        5,
        5,
        0,
        "",
    ),
    (
        "opencti-json/report_type_device_id.json",
        "device_id",
        "host",
        20,
        20,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_cwmp.json",
        "scan_cwmp",
        "host",
        2,
        0,
        0,
        "invalid_value=2",
    ),
    (
        "opencti-json/report_type_scan_http.json",
        "scan_http",
        "host",
        4,
        0,
        0,
        "invalid_value=4",
    ),
    (
        "opencti-json/report_type_scan_ics.json",
        "scan_ics",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_ntp.json",
        "scan_ntp",
        "host",
        3,
        3,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_snmp.json",
        "scan_snmp",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_ssh.json",
        "scan_ssh",
        "host",
        2,
        2,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_ssl.json",
        "scan_ssl",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_ssl_freak.json",
        "scan_ssl_freak",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_ssl_poodle.json",
        "scan_ssl_poodle",
        "host",
        1,
        1,
        0,
        "",
    ),
    (
        "opencti-json/report_type_scan_vnc.json",
        "scan_vnc",
        "host",
        1,
        0,
        0,
        "invalid_value=1",
    ),
    (
        "opencti-json/subscriptions.json",
        "subscriptions",
        "rejected",
        0,
        0,
        0,
        "",
    ),
    ("schema/intelmq.json", "intelmq", "rejected", 0, 0, 0, ""),
    ("schema/reports.json", "reports", "rejected", 0, 0, 0, ""),
];

/// The file's explicit type: opencti row files are imported as a pull would (§7.1).
fn explicit_type(rel: &str) -> Option<&str> {
    rel.strip_prefix("opencti-json/report_type_")
        .and_then(|s| s.strip_suffix(".json"))
}

#[test]
fn every_corpus_file_maps_as_pinned() {
    let mut files = Vec::new();
    walk(&data_dir(), &mut files);
    let mut rels: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(data_dir())
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/")
        })
        .collect();
    rels.sort();
    let pinned: Vec<&str> = CORPUS.iter().map(|c| c.0).collect();
    assert_eq!(rels, pinned, "the corpus and the table list the same files");

    for &(rel, label, rule, rows, created, merged, skips) in CORPUS {
        let o = sample_as(rel, explicit_type(rel));
        assert_eq!(o.label, label, "{rel}");
        if rule == "rejected" {
            let e = o
                .rejected
                .as_ref()
                .unwrap_or_else(|| panic!("{rel} is rejected"));
            assert_eq!(e.code, FileErrorCode::UnreadableReport, "{rel}");
            continue;
        }
        assert!(o.rejected.is_none(), "{rel}: {:?}", o.rejected);
        assert_eq!(o.rule.map(Rule::as_str), Some(rule), "{rel}");
        assert_eq!(o.rows_read, rows, "{rel}: rows read");
        assert_eq!(o.mapped.len(), created + merged, "{rel}: rows mapped");
        assert_eq!(o.created(), created, "{rel}: distinct keys");
        let got: Vec<String> = o
            .skipped()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(got.join(","), skips, "{rel}: skips");
        assert!(!o.incomplete, "{rel}");
    }
}

#[test]
fn the_directory_totals_are_those_of_7_2() {
    // (directory prefix, files, rows, created, merged, skipped)
    for (dir, n, rows, created, merged, skipped) in [
        ("intelmq-testdata/", 93, 649, 594, 54, 1),
        ("intelmq-legacy/", 32, 1026, 853, 172, 1),
        ("intelmq-current/", 2, 5, 4, 1, 0),
        ("opencti-json/report_type_", 12, 42, 35, 0, 7),
    ] {
        let part: Vec<_> = CORPUS.iter().filter(|c| c.0.starts_with(dir)).collect();
        assert_eq!(part.len(), n, "{dir}");
        assert_eq!(part.iter().map(|c| c.3).sum::<u64>(), rows, "{dir}");
        assert_eq!(part.iter().map(|c| c.4).sum::<usize>(), created, "{dir}");
        assert_eq!(part.iter().map(|c| c.5).sum::<usize>(), merged, "{dir}");
        let skips = part.iter().map(|c| c.3 as usize - c.4 - c.5).sum::<usize>();
        assert_eq!(skips, skipped, "{dir}");
    }
}

#[test]
fn the_short_row_samples_warn_and_import_every_row() {
    for (rel, short) in [
        ("intelmq-testdata/event4_honeypot_ddos.csv", 3),
        ("intelmq-testdata/event4_microsoft_sinkhole.csv", 1),
        ("intelmq-testdata/scan_rdp.csv", 2),
        ("intelmq-testdata/scan_synfulknock.csv", 1),
        ("intelmq-legacy/microsoft_sinkhole.csv", 14),
        ("intelmq-legacy/scan6_ssl_poodle.csv", 1),
    ] {
        let o = sample(rel);
        assert_eq!(o.warnings.short_rows, short, "{rel}");
        assert_eq!(o.mapped.len() as u64, o.rows_read, "{rel}");
    }
}

#[test]
fn byte_identical_pairs_differ_only_by_label() {
    for (a, b) in [
        (
            "intelmq-current/test_smb.csv",
            "intelmq-testdata/scan_smb.csv",
        ),
        (
            "intelmq-legacy/scan_smtp.csv",
            "intelmq-testdata/scan_smtp_vulnerable.csv",
        ),
        (
            "intelmq-legacy/caida_ip_spoofer.csv",
            "intelmq-legacy/scan_caida.csv",
        ),
    ] {
        assert_eq!(sample_bytes(a), sample_bytes(b));
        let (x, y) = (sample(a), sample(b));
        assert_ne!(x.label, y.label);
        let things = |o: &Outcome| o.mapped.iter().map(|r| r.thing.clone()).collect::<Vec<_>>();
        assert_eq!(things(&x), things(&y));
        assert!(
            x.mapped
                .iter()
                .zip(&y.mapped)
                .all(|(p, q)| p.import_key != q.import_key)
        );
    }
}

/// The mapped row with this 1-based row number.
fn row(o: &Outcome, n: u64) -> &MappedRow {
    o.mapped.iter().find(|r| r.row == n).unwrap()
}

fn tags(r: &MappedRow) -> Vec<&str> {
    r.tags.iter().map(String::as_str).collect()
}

#[test]
fn a_host_row_is_mapped_in_full() {
    let o = sample("intelmq-testdata/scan_ssl.csv");
    let r = row(&o, 1);
    assert_eq!(
        (r.thing.as_str(), r.thing.itype()),
        ("96.60.0.0", Itype::Ipv4)
    );
    assert_eq!(r.portlist.as_deref(), Some("10443"));
    assert_eq!(r.protocol, None);
    assert_eq!(
        (r.firsttime, r.lasttime),
        (at("2022-01-10 00:01:42"), at("2022-01-10 00:01:42"))
    );
    assert_eq!(tags(r), ["shadowserver", "scan_ssl", "ssl", "vpn"]);
    assert_eq!(r.description, "Shadowserver Accessible-SSL");
    assert_eq!((r.asn, r.cc.as_deref()), (Some(4181), Some("US")));
    assert_eq!(r.provider, "shadowserver");
    assert_eq!(r.import_key, "shadowserver|scan_ssl|96.60.0.0|10443||");
    let c = content(r);
    assert_eq!(c["source"], "shadowserver");
    assert_eq!(c["report_type"], "scan_ssl");
    assert_eq!(c["row"]["tag"], "ssl,vpn");
    assert_eq!(c["row"]["port"], "10443");
    assert!(
        c["row"].get("subject_surname").is_none(),
        "empty members are omitted"
    );
    assert_eq!(o.indicator_column.as_deref(), Some("ip"));
}

#[test]
fn a_blocklist_network_row_is_mapped_in_full() {
    let o = sample("intelmq-testdata/blocklist.csv");
    let r = row(&o, 3);
    assert_eq!(
        (r.thing.as_str(), r.thing.itype()),
        ("198.123.245.0/24", Itype::Ipv4)
    );
    assert_eq!((r.portlist.as_deref(), r.protocol), (None, None));
    assert_eq!(r.lasttime, at("2019-09-04 07:00:19"));
    assert_eq!(tags(r), ["shadowserver", "blocklist"]);
    assert_eq!(r.description, "Shadowserver Blocklist: Malicious Host AA");
    assert_eq!((r.asn, r.cc.as_deref()), (Some(5678), Some("XX")));
    assert_eq!(r.import_key, "shadowserver|blocklist|198.123.245.0/24|||");
}

#[test]
fn an_event_row_takes_the_source_and_keys_on_the_family() {
    let o = sample("intelmq-testdata/event4_sinkhole.csv");
    let r = row(&o, 1);
    assert_eq!(r.thing.as_str(), "190.113.1.2");
    assert_eq!((r.portlist.as_deref(), r.protocol), (Some("4455"), Some(6)));
    assert_eq!(r.lasttime, at("2021-03-04 00:00:00"));
    assert_eq!(
        tags(r),
        ["shadowserver", "event4_sinkhole", "botnet", "victorygate.b"]
    );
    assert_eq!(
        r.description,
        "Shadowserver Sinkhole-Events IPv4: victorygate.b"
    );
    assert_eq!((r.asn, r.cc.as_deref()), (Some(12252), Some("PE")));
    assert_eq!(
        r.import_key,
        "shadowserver|event4_sinkhole|190.113.1.2|4455|6|victorygate.b"
    );

    // No dst_port in sinkhole DNS: no portlist; udp from the protocol column.
    let o = sample("intelmq-testdata/event4_sinkhole_dns.csv");
    let r = row(&o, 1);
    assert_eq!(
        (r.thing.as_str(), r.portlist.as_deref(), r.protocol),
        ("217.110.0.0", None, Some(17))
    );
    assert_eq!(
        r.import_key,
        "shadowserver|event4_sinkhole_dns|217.110.0.0||17|calypso"
    );
    // Its classification is "other": no category tag.
    assert_eq!(
        tags(r),
        [
            "shadowserver",
            "event4_sinkhole_dns",
            "msexchange",
            "calypso"
        ]
    );
}

#[test]
fn a_referer_row_takes_the_referer() {
    let o = sample("intelmq-testdata/event4_sinkhole_http_referer.csv");
    let r = row(&o, 1);
    assert_eq!(r.thing.as_str(), "178.162.203.211");
    assert_eq!((r.portlist.as_deref(), r.protocol), (Some("80"), Some(6)));
    assert_eq!(r.lasttime, at("2021-03-04 00:00:02"));
    assert_eq!(
        tags(r),
        [
            "shadowserver",
            "event4_sinkhole_http_referer",
            "botnet",
            "kovter"
        ]
    );
    assert_eq!((r.asn, r.cc.as_deref()), (Some(28753), Some("DE")));
    assert_eq!(
        r.import_key,
        "shadowserver|event4_sinkhole_http_referer|178.162.203.211|80|6|kovter"
    );
    assert_eq!(o.indicator_column.as_deref(), Some("http_referer_ip"));
}

#[test]
fn checklist_21_victim_rows_are_tagged_and_described_as_victims() {
    let o = sample("intelmq-testdata/event4_honeypot_ddos_amp.csv");
    let r = row(&o, 1);
    assert_eq!(r.thing.as_str(), "107.141.1.2");
    assert_eq!((r.portlist.as_deref(), r.protocol), (Some("389"), None));
    assert_eq!(r.lasttime, at("2021-03-28 00:00:02"));
    assert_eq!(
        tags(r),
        [
            "shadowserver",
            "event4_honeypot_ddos_amp",
            "victim",
            "ddos-amplification"
        ]
    );
    assert!(o.mapped.iter().all(|r| !r.tags.iter().any(|t| t == "ddos")));
    assert_eq!(
        r.description,
        "Shadowserver Honeypot-Amplification-DDoS-Events (victim): ddos-amplification"
    );
    assert_eq!((r.asn, r.cc.as_deref()), (Some(7018), Some("US")));
    assert_eq!(
        r.import_key,
        "shadowserver|event4_honeypot_ddos_amp|107.141.1.2|389||"
    );
    assert_eq!(o.skips[0].reason, SkipReason::InvalidValue);
    assert!(o.skips[0].message.contains("37.120.178.9.10"));

    let o = sample("intelmq-testdata/event4_honeypot_ddos_target.csv");
    let things: Vec<&str> = o.mapped.iter().map(|r| r.thing.as_str()).collect();
    assert_eq!(things, ["172.16.0.1", "172.16.0.2", "172.16.0.3"]);
    let r = row(&o, 2);
    assert_eq!(
        (r.portlist.as_deref(), r.asn, r.cc.as_deref()),
        (Some("43437"), Some(65534), Some("ZZ"))
    );
    assert_eq!(
        &r.tags[..3],
        ["shadowserver", "event4_honeypot_ddos_target", "victim"]
    );
    assert!(
        r.description
            .starts_with("Shadowserver Honeypot-DDoS-Target (victim): ")
    );
}

#[test]
fn a_url_row_is_mapped_in_full() {
    let o = sample("intelmq-testdata/malware_url.csv");
    let r = row(&o, 1);
    assert_eq!(
        (r.thing.as_str(), r.thing.itype()),
        ("http://41.86.0.0:50008/Mozi.m", Itype::Url)
    );
    assert_eq!((r.portlist.as_deref(), r.protocol), (None, None));
    assert_eq!(r.lasttime, at("2022-01-07 00:02:07"));
    assert_eq!(
        tags(r),
        [
            "shadowserver",
            "malware_url",
            "malware",
            "cve-2016-10372",
            "http"
        ]
    );
    assert_eq!(r.description, "Shadowserver Malware-URL");
    assert_eq!((r.asn, r.cc.as_deref()), (Some(37203), Some("LR")));
    assert_eq!(
        r.import_key,
        "shadowserver|malware_url|http://41.86.0.0:50008/Mozi.m|||"
    );
}

#[test]
fn a_dns_row_is_mapped_in_full() {
    let o = sample("intelmq-testdata/sandbox_dns.csv");
    let r = row(&o, 3);
    assert_eq!(
        (r.thing.as_str(), r.thing.itype()),
        ("client-office365-tas.msedge.net", Itype::Fqdn)
    );
    assert_eq!(
        (r.portlist.as_deref(), r.protocol, r.asn, r.cc.as_deref()),
        (None, None, None, None)
    );
    assert_eq!(r.lasttime, at("2022-01-10 00:00:20"));
    assert_eq!(tags(r), ["shadowserver", "sandbox_dns", "sandbox"]);
    assert_eq!(r.description, "Shadowserver Sandbox-DNS");
    assert_eq!(
        r.import_key,
        "shadowserver|sandbox_dns|client-office365-tas.msedge.net|||"
    );
}

#[test]
fn a_generic_row_is_mapped_in_full() {
    let o = sample("intelmq-testdata/phish_url.csv");
    let r = row(&o, 1);
    assert_eq!(r.thing.as_str(), "172.245.0.0");
    assert_eq!((r.portlist.as_deref(), r.protocol), (None, None));
    assert_eq!(r.lasttime, at("2022-02-01 08:00:07"));
    assert_eq!(
        tags(r),
        ["shadowserver", "phish_url", "unknown-report-type"]
    );
    assert_eq!(r.description, "Shadowserver phish_url");
    assert_eq!((r.asn, r.cc.as_deref()), (Some(64512), Some("US")));
    assert_eq!(r.import_key, "shadowserver|phish_url|172.245.0.0|||");
}

#[test]
fn an_opencti_json_row_is_mapped_in_full() {
    let o = sample_as("opencti-json/report_type_scan_ntp.json", Some("scan_ntp"));
    let r = row(&o, 1);
    assert_eq!(r.thing.itype(), Itype::Ipv4);
    assert_eq!(r.protocol, Some(17));
    assert!(r.tags.starts_with(&[
        "shadowserver".to_owned(),
        "scan_ntp".to_owned(),
        "vulnerable".to_owned()
    ]));
    let c = content(r);
    assert_eq!(c["report_type"], "scan_ntp");
    assert!(c["row"]["timestamp"].as_str().unwrap().ends_with('Z'));
}
