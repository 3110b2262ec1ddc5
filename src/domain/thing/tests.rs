use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::ip::network_address;
use super::*;

fn ok(raw: &str) -> (Itype, String) {
    let t = Thing::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
    (t.itype(), t.as_str().to_owned())
}

fn code(raw: &str) -> &'static str {
    match Thing::parse(raw) {
        Ok(t) => panic!("{raw:?} was accepted as {:?} {:?}", t.itype(), t.as_str()),
        Err(e) => e.code,
    }
}

#[test]
fn every_good_row_of_the_spec_table_normalises() {
    let h40 = "A".repeat(40);
    let h64 = "b".repeat(64);
    let h128 = "C0".repeat(64);
    let table: &[(&str, Itype, &str)] = &[
        ("198.51.100.23", Itype::Ipv4, "198.51.100.23"),
        ("  198.51.100.23\t", Itype::Ipv4, "198.51.100.23"),
        ("203.0.113.9/32", Itype::Ipv4, "203.0.113.9"),
        ("192.168.10.4", Itype::Ipv4, "192.168.10.4"),
        ("2001:DB8:0:0:0:0:0:1", Itype::Ipv6, "2001:db8::1"),
        ("[2001:db8::1]", Itype::Ipv6, "2001:db8::1"),
        ("2001:DB8:AA:0::/48", Itype::Ipv6, "2001:db8:aa::/48"),
        ("::ffff:198.51.100.23", Itype::Ipv4, "198.51.100.23"),
        ("::ffff:198.51.100.0/120", Itype::Ipv4, "198.51.100.0/24"),
        ("EXAMPLE.com.", Itype::Fqdn, "example.com"),
        (
            "Login-Verify.Example.NET",
            Itype::Fqdn,
            "login-verify.example.net",
        ),
        ("mail.corp.internal", Itype::Fqdn, "mail.corp.internal"),
        ("_dmarc.example.org", Itype::Fqdn, "_dmarc.example.org"),
        ("bücher.example", Itype::Fqdn, "xn--bcher-kva.example"),
        (
            "HTTP://Login.Example.NET/Account?ID=7#top",
            Itype::Url,
            "http://login.example.net/Account?ID=7",
        ),
        ("https://example.org/", Itype::Url, "https://example.org"),
        (
            "https://example.org/dl/",
            Itype::Url,
            "https://example.org/dl",
        ),
        (
            "example.org/dl/payload.exe",
            Itype::Url,
            "http://example.org/dl/payload.exe",
        ),
        (
            "198.51.100.23:8080/gate.php",
            Itype::Url,
            "http://198.51.100.23:8080/gate.php",
        ),
        (
            "http://[2001:db8::5]/x",
            Itype::Url,
            "http://[2001:db8::5]/x",
        ),
        (
            "Abuse.Desk@Example.org",
            Itype::Email,
            "abuse.desk@example.org",
        ),
        (
            "mailto:abuse@example.org",
            Itype::Email,
            "abuse@example.org",
        ),
        (
            "MAILTO:abuse@example.org",
            Itype::Email,
            "abuse@example.org",
        ),
        (
            "D41D8CD98F00B204E9800998ECF8427E",
            Itype::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (&h40, Itype::Sha1, &"a".repeat(40)),
        (&h64, Itype::Sha256, &h64),
        (&h128, Itype::Sha512, &"c0".repeat(64)),
    ];
    for (raw, itype, want) in table {
        assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
    }
}

#[test]
fn every_bad_row_of_the_spec_table_is_refused_with_its_code() {
    let table: &[(&str, &str)] = &[
        ("198.51.100.77/24", "invalid_indicator"),
        ("10.0.0.0/7", "cidr_too_broad"),
        ("1.2.3", "invalid_indicator"),
        ("999.10.10.10", "invalid_indicator"),
        ("010.1.2.3", "invalid_indicator"),
        ("2001:db8::/31", "cidr_too_broad"),
        ("fe80::1%eth0", "invalid_indicator"),
        ("localhost", "invalid_indicator"),
        ("*.example.org", "invalid_indicator"),
        ("-bad.example.org", "invalid_indicator"),
        ("hxxp://example.org/", "invalid_indicator"),
        ("example.org:8080", "invalid_indicator"),
        ("root@localhost", "invalid_indicator"),
        ("AS64500", "invalid_indicator"),
        ("", "empty"),
        ("   ", "empty"),
    ];
    for (raw, want) in table {
        assert_eq!(code(raw), *want, "{raw:?}");
    }
    assert_eq!(code(&"a".repeat(33)), "invalid_indicator");
}

#[test]
fn host_bits_set_names_the_network_to_send() {
    let err = Thing::parse("198.51.100.77/24").unwrap_err();
    assert!(err.message.contains("198.51.100.0/24"), "{}", err.message);
    let err = Thing::parse("2001:db8::1/32").unwrap_err();
    assert!(err.message.contains("2001:db8::/32"), "{}", err.message);
    let err = Thing::parse("::ffff:198.51.100.77/120").unwrap_err();
    assert!(err.message.contains("198.51.100.0/24"), "{}", err.message);
}

#[test]
fn more_addresses_and_networks() {
    let good: &[(&str, Itype, &str)] = &[
        ("10.0.0.0/8", Itype::Ipv4, "10.0.0.0/8"),
        ("0.0.0.0", Itype::Ipv4, "0.0.0.0"),
        ("255.255.255.255", Itype::Ipv4, "255.255.255.255"),
        ("2001:db8::/32", Itype::Ipv6, "2001:db8::/32"),
        ("[2001:db8::]/32", Itype::Ipv6, "2001:db8::/32"),
        ("2001:db8::1/128", Itype::Ipv6, "2001:db8::1"),
        ("::ffff:10.0.0.0/104", Itype::Ipv4, "10.0.0.0/8"),
        ("::ffff:c633:6417", Itype::Ipv4, "198.51.100.23"),
        // IPv4-compatible addresses are deprecated and stay IPv6.
        ("::198.51.100.23", Itype::Ipv6, "::c633:6417"),
        ("1:0:0:0:0:0:0:2", Itype::Ipv6, "1::2"),
        ("FE80::1", Itype::Ipv6, "fe80::1"),
        ("224.0.0.1", Itype::Ipv4, "224.0.0.1"),
    ];
    for (raw, itype, want) in good {
        assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
    }
    let bad: &[(&str, &str)] = &[
        ("1.2.3.4/33", "invalid_indicator"),
        ("1.2.3.0/024", "invalid_indicator"),
        ("1.2.3.4/0", "cidr_too_broad"),
        ("2001:db8::/129", "invalid_indicator"),
        ("::/0", "cidr_too_broad"),
        ("::ffff:0:0/96", "cidr_too_broad"),
        ("1.2.3.04", "invalid_indicator"),
        ("1.2.3.4.5", "invalid_indicator"),
        ("[1.2.3.4]", "invalid_indicator"),
        ("2001:db8::g", "invalid_indicator"),
        ("fe80::1%25eth0/64", "invalid_indicator"),
    ];
    for (raw, want) in bad {
        assert_eq!(code(raw), *want, "{raw:?}");
    }
}

#[test]
fn more_names_urls_and_emails() {
    let good: &[(&str, Itype, &str)] = &[
        ("a.b", Itype::Fqdn, "a.b"),
        (
            "xn--bcher-kva.example",
            Itype::Fqdn,
            "xn--bcher-kva.example",
        ),
        ("BÜCHER.example", Itype::Fqdn, "xn--bcher-kva.example"),
        ("1.2.3.com", Itype::Fqdn, "1.2.3.com"),
        ("a-b.c_d.example", Itype::Fqdn, "a-b.c_d.example"),
        (
            "ftp://Files.Example.org/pub/",
            Itype::Url,
            "ftp://files.example.org/pub",
        ),
        (
            "https://example.org/dl//",
            Itype::Url,
            "https://example.org/dl",
        ),
        (
            "https://example.org/?q=1",
            Itype::Url,
            "https://example.org?q=1",
        ),
        (
            "https://example.org/dl/?q=A",
            Itype::Url,
            "https://example.org/dl/?q=A",
        ),
        (
            "https://example.org.:443/X",
            Itype::Url,
            "https://example.org:443/X",
        ),
        (
            "https://User:PW@Example.org/",
            Itype::Url,
            "https://User:PW@example.org",
        ),
        (
            "http://bücher.example/ä",
            Itype::Url,
            "http://xn--bcher-kva.example/ä",
        ),
        (
            "http://[::ffff:1.2.3.4]:81",
            Itype::Url,
            "http://[::ffff:1.2.3.4]:81",
        ),
        ("http://198.51.100.23", Itype::Url, "http://198.51.100.23"),
        (
            "example.org/r?u=http://evil.example/",
            Itype::Url,
            "http://example.org/r?u=http://evil.example/",
        ),
        ("example.org:8080/", Itype::Url, "http://example.org:8080"),
        ("x@mail.example.net", Itype::Email, "x@mail.example.net"),
        ("a.b+c@EXAMPLE.net.", Itype::Email, "a.b+c@example.net"),
        (
            "o'hara@bücher.example",
            Itype::Email,
            "o'hara@xn--bcher-kva.example",
        ),
    ];
    for (raw, itype, want) in good {
        assert_eq!(ok(raw), (*itype, (*want).to_owned()), "{raw:?}");
    }
    let long_label = format!("{}.example", "a".repeat(64));
    let bad: &[&str] = &[
        "example",
        "example.123",
        "example.c_m",
        "bad-.example.org",
        "a..example",
        ".example.org",
        "example.org..",
        &long_label,
        "exa mple.org",
        "example.org\u{0}",
        "gopher://example.org/",
        "http://",
        "http:///x",
        "http://example.org:0/",
        "http://example.org:65536/",
        "http://example.org:/",
        "http://999.1.1.1/",
        "http://[2001:db8::1/",
        "http://[fe80::1%25eth0]/",
        "http://localhost/",
        "user@example.org/x",
        "[2001:db8::1]/x",
        "example.org?x=/y",
        "a@b@example.org",
        ".a@example.org",
        "a.@example.org",
        "a..b@example.org",
        "a(b)@example.org",
        "@example.org",
        "mailto:",
    ];
    for raw in bad {
        assert_eq!(code(raw), "invalid_indicator", "{raw:?}");
    }
}

#[test]
fn lengths_are_limited() {
    let label = "a".repeat(63);
    // Well-formed labels, but 255 characters: not a domain name (at most 253).
    assert_eq!(code(&[label.as_str(); 4].join(".")), "invalid_indicator");
    // Longer than any value may be.
    assert_eq!(code(&[label.as_str(); 5].join(".")), "too_long");
    let name = format!("{}example", "a.".repeat(123));
    assert_eq!(name.len(), 253);
    assert_eq!(ok(&name).0, Itype::Fqdn);
    assert_eq!(ok(&format!("{name}.")).1, name);
    assert_eq!(code(&format!("b.{name}")), "invalid_indicator");
    let url = format!("http://example.org/{}", "x".repeat(236));
    assert_eq!(url.len(), 255);
    assert_eq!(ok(&url).1, url);
    assert_eq!(code(&format!("{url}y")), "too_long");
}

#[test]
fn ip_ranges_are_16_byte_and_ipv4_is_mapped() {
    let t = Thing::parse("198.51.100.0/24").unwrap();
    let (lo, hi) = t.ip_range().unwrap();
    let v4 = |a: [u8; 4]| u128::from(Ipv4Addr::from(a).to_ipv6_mapped()).to_be_bytes();
    assert_eq!(lo, v4([198, 51, 100, 0]));
    assert_eq!(hi, v4([198, 51, 100, 255]));
    assert_eq!(t.prefix_len(), Some(24));

    let t = Thing::parse("198.51.100.23").unwrap();
    assert_eq!(
        t.ip_range().unwrap(),
        (v4([198, 51, 100, 23]), v4([198, 51, 100, 23]))
    );
    assert_eq!(t.prefix_len(), None);

    let t = Thing::parse("2001:db8::/32").unwrap();
    let (lo, hi) = t.ip_range().unwrap();
    assert_eq!(
        Ipv6Addr::from(lo),
        "2001:db8::".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        Ipv6Addr::from(hi),
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
            .parse::<Ipv6Addr>()
            .unwrap()
    );
    assert_eq!(t.prefix_len(), Some(32));
    assert_eq!(Thing::parse("example.org").unwrap().ip_range(), None);
}

#[test]
fn enclosing_networks_list_each_possible_network_start_once() {
    let addr = u128::from(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()).to_be_bytes();
    let starts = enclosing_networks(addr, true, |_| true);
    let v4: Vec<Ipv4Addr> = starts
        .iter()
        .map(|s| Ipv6Addr::from(*s).to_ipv4_mapped().unwrap())
        .collect();
    assert_eq!(v4, [Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(10, 0, 0, 1)]);

    let addr = u128::from(Ipv4Addr::new(255, 255, 255, 255).to_ipv6_mapped()).to_be_bytes();
    assert_eq!(enclosing_networks(addr, true, |_| true).len(), 25);
    assert_eq!(enclosing_networks([0xff; 16], false, |_| true).len(), 97);
    assert_eq!(enclosing_networks([0; 16], false, |_| true), [[0; 16]]);
}

#[test]
fn hosts_and_reversed_hosts() {
    let rev = |raw: &str| {
        Thing::parse(raw)
            .unwrap()
            .host_rev()
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(rev("www.example.com").as_deref(), Some("com.example.www."));
    assert_eq!(
        rev("https://User@Login.Example.net:8443/x").as_deref(),
        Some("net.example.login.")
    );
    assert_eq!(rev("billing@Example.net").as_deref(), Some("net.example."));
    assert_eq!(rev("http://198.51.100.23/x"), None);
    assert_eq!(rev("http://[2001:db8::5]/x"), None);
    assert_eq!(rev("198.51.100.23"), None);
    assert_eq!(rev(&"a".repeat(32)), None);

    let host = |raw: &str| Thing::parse(raw).unwrap().host().map(str::to_owned);
    assert_eq!(
        host("http://[2001:db8::5]:80/x").as_deref(),
        Some("2001:db8::5")
    );
    assert_eq!(
        host("198.51.100.23:8080/gate.php").as_deref(),
        Some("198.51.100.23")
    );
    assert_eq!(host("a@b.example").as_deref(), Some("b.example"));
    assert_eq!(host("2001:db8::5"), None);
}

#[test]
fn itype_names_round_trip() {
    for t in Itype::ALL {
        assert_eq!(Itype::parse_name(t.as_str()), Some(t));
        assert_eq!(Itype::parse_name(&t.as_str().to_uppercase()), Some(t));
        assert_eq!(t.to_string(), t.as_str());
    }
    assert_eq!(Itype::parse_name("domain"), None);
    assert_eq!(Itype::parse_name(""), None);
}

fn assert_idempotent(raw: &str) -> Result<(), TestCaseError> {
    if let Ok(t) = Thing::parse(raw) {
        let again = Thing::parse(t.as_str());
        prop_assert_eq!(again.as_ref(), Ok(&t), "{:?} -> {:?}", raw, t.as_str());
        prop_assert_eq!(t.to_string(), t.as_str());
    }
    Ok(())
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9_-]{0,8}[a-z0-9])?"
}

fn fqdn() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..4), "[a-z][a-z0-9]{1,5}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_normalising_is_idempotent(s in "\\PC{0,60}") {
        assert_idempotent(&s)?;
    }

    #[test]
    fn indicator_like_text_normalises_idempotently(
        s in "(mailto:|[hH][tT][tT][pP][sS]?://|[fF][tT][pP]://)?[a-zA-Z0-9äü.:/@?#%_\\[\\]-]{0,40}"
    ) {
        assert_idempotent(&s)?;
    }

    #[test]
    fn ipv4_addresses_and_networks_round_trip(a in any::<Ipv4Addr>(), p in 8u8..=32) {
        let plain = a.to_string();
        prop_assert_eq!(ok(&plain), (Itype::Ipv4, plain.clone()));
        let net = network_address(IpAddr::V4(a), p);
        let text = if p == 32 { net.to_string() } else { format!("{net}/{p}") };
        let t = Thing::parse(&text).unwrap();
        prop_assert_eq!(t.as_str(), text.as_str());
        let (lo, hi) = t.ip_range().unwrap();
        let addr = u128::from(a.to_ipv6_mapped());
        prop_assert!(u128::from_be_bytes(lo) <= addr && addr <= u128::from_be_bytes(hi));
        prop_assert!(enclosing_networks(addr.to_be_bytes(), true, |_| true).contains(&lo));
    }

    #[test]
    fn ipv6_addresses_and_networks_round_trip(a in any::<Ipv6Addr>(), p in 32u8..=128) {
        // IPv4-mapped addresses become IPv4: move them out of ::ffff:0:0/96.
        let a = match a.to_ipv4_mapped() {
            Some(_) => Ipv6Addr::from(u128::from(a) | 1 << 127),
            None => a,
        };
        let plain = a.to_string();
        prop_assert_eq!(ok(&plain), (Itype::Ipv6, plain.clone()));
        prop_assert_eq!(ok(&format!("[{plain}]")), (Itype::Ipv6, plain.clone()));
        let net = network_address(IpAddr::V6(a), p);
        let text = if p == 128 { net.to_string() } else { format!("{net}/{p}") };
        let t = Thing::parse(&text).unwrap();
        prop_assert_eq!(t.as_str(), text.as_str());
        let (lo, hi) = t.ip_range().unwrap();
        let addr = u128::from(a);
        prop_assert!(u128::from_be_bytes(lo) <= addr && addr <= u128::from_be_bytes(hi));
        prop_assert!(enclosing_networks(addr.to_be_bytes(), false, |_| true).contains(&lo));
    }

    #[test]
    fn names_urls_and_emails_round_trip(
        name in fqdn(),
        local in "[a-z0-9!#$%&'*+=?^_`{|}~-]{1,10}(\\.[a-z0-9_-]{1,5})?",
        path in "(/[a-zA-Z0-9._~%-]{1,8}){0,3}",
        query in "(\\?[a-zA-Z0-9=&/:]{0,10})?",
    ) {
        prop_assert_eq!(ok(&name), (Itype::Fqdn, name.clone()));
        prop_assert_eq!(ok(&name.to_uppercase()), (Itype::Fqdn, name.clone()));
        let email = format!("{local}@{name}");
        prop_assert_eq!(ok(&email), (Itype::Email, email.clone()));
        let url = format!("https://{name}{path}{query}");
        prop_assert_eq!(ok(&url), (Itype::Url, url.clone()));
        let rev = Thing::parse(&url).unwrap().host_rev().unwrap();
        let mut labels: Vec<&str> = name.split('.').collect();
        labels.reverse();
        prop_assert_eq!(rev, format!("{}.", labels.join(".")).into_bytes());
    }

    #[test]
    fn hashes_round_trip(h in "([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})") {
        let t = Thing::parse(&h.to_uppercase()).unwrap();
        prop_assert!(t.itype().is_hash());
        prop_assert_eq!(t.as_str(), h.as_str());
    }
}
