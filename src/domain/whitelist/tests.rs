use super::*;

fn thing(raw: &str) -> Thing {
    Thing::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// The source name and entry that whitelist `raw`, if any.
fn check(list: &Whitelist, raw: &str) -> Option<(String, String)> {
    list.check(&thing(raw))
        .map(|hit| (hit.source.name.clone(), hit.entry))
}

fn warninglist(json: &str) -> Whitelist {
    let mut builder = Builder::new();
    let list = parse_warninglist(json).unwrap();
    assert_eq!(builder.add_warninglist(&list), 0);
    builder.build().unwrap()
}

#[test]
fn special_blocks_hold_private_reserved_and_documentation_space() {
    let list = Whitelist::special();
    for (raw, block) in [
        ("10.1.2.3", "10.0.0.0/8"),
        ("192.168.0.0/16", "192.168.0.0/16"),
        ("192.168.7.0/24", "192.168.0.0/16"),
        ("172.20.1.1", "172.16.0.0/12"),
        ("100.64.1.1", "100.64.0.0/10"),
        ("127.0.0.1", "127.0.0.0/8"),
        ("169.254.1.1", "169.254.0.0/16"),
        ("192.0.2.5", "192.0.2.0/24"),
        ("198.51.100.1", "198.51.100.0/24"),
        ("203.0.113.9", "203.0.113.0/24"),
        ("198.18.0.1", "198.18.0.0/15"),
        ("224.0.0.251", "224.0.0.0/4"),
        ("255.255.255.255", "240.0.0.0/4"),
        ("0.1.2.3", "0.0.0.0/8"),
        ("::1", "::1/128"),
        ("2001:db8::1", "2001:db8::/32"),
        ("2001:db8:1::/48", "2001:db8::/32"),
        ("fd00::1", "fc00::/7"),
        ("fe80::1", "fe80::/10"),
        ("ff02::1", "ff00::/8"),
        ("http://127.0.0.1/admin", "127.0.0.0/8"),
        ("http://[::1]:8080/", "::1/128"),
        ("http://10.0.0.1/x", "10.0.0.0/8"),
    ] {
        let (source, entry) = check(&list, raw).unwrap_or_else(|| panic!("{raw} passed"));
        assert_eq!(source, "special-purpose addresses", "{raw}");
        assert_eq!(entry, block, "{raw}");
    }
    for raw in [
        "8.8.8.8",
        "1.1.1.0/24",
        "11.0.0.1",
        "100.128.0.1",
        "172.32.0.1",
        "2606:4700::1111",
        "example.com",
        "http://example.com/10.0.0.1",
        "abuse@example.com",
        "d41d8cd98f00b204e9800998ecf8427e",
    ] {
        assert_eq!(check(&list, raw), None, "{raw}");
    }
    // A network only partly inside a block is not whitelisted by it.
    assert_eq!(check(&list, "172.0.0.0/8"), None);
}

#[test]
fn address_lists_hold_addresses_and_networks_inside_them() {
    let list = warninglist(
        r#"{"name": "resolvers", "type": "cidr", "matching_attributes": ["ip-dst"],
            "list": ["8.8.8.8/32", "8.8.4.0/24", "2001:4860:4860::8888", "not an address"]}"#,
    );
    assert_eq!(
        check(&list, "8.8.8.8"),
        Some(("resolvers".into(), "8.8.8.8/32".into()))
    );
    assert_eq!(
        check(&list, "8.8.4.0/25"),
        Some(("resolvers".into(), "8.8.4.0/24".into()))
    );
    assert!(check(&list, "2001:4860:4860::8888").is_some());
    assert_eq!(check(&list, "8.8.8.9"), None);
    assert_eq!(check(&list, "8.8.0.0/16"), None);
}

#[test]
fn host_names_hold_their_subdomains_and_url_hosts_only_where_the_list_says() {
    let list = warninglist(
        r#"{"name": "tops", "type": "hostname", "matching_attributes": ["domain", "url"],
            "list": ["example.com", ".bmw.de", "EXAMPLE.org.", "bücher.de"]}"#,
    );
    for (raw, entry) in [
        ("example.com", "example.com"),
        ("www.example.com", "example.com"),
        ("a.b.c.example.com", "example.com"),
        ("bmw.de", "bmw.de"),
        ("shop.bmw.de", "bmw.de"),
        ("mail.example.org", "example.org"),
        ("http://cdn.example.com/path?q=1", "example.com"),
        ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),
    ] {
        assert_eq!(
            check(&list, raw),
            Some(("tops".into(), entry.into())),
            "{raw}"
        );
    }
    for raw in ["badexample.com", "example.com.evil.net", "user@example.com"] {
        assert_eq!(check(&list, raw), None, "{raw}");
    }
    let domains_only = warninglist(
        r#"{"name": "d", "type": "hostname", "matching_attributes": ["domain"], "list": ["example.com"]}"#,
    );
    assert!(check(&domains_only, "www.example.com").is_some());
    assert_eq!(check(&domains_only, "http://www.example.com/"), None);
}

#[test]
fn exact_entries_match_whole_values_only() {
    let list = warninglist(
        r#"{"name": "fp", "type": "string",
            "matching_attributes": ["md5", "url", "domain"],
            "list": ["D41D8CD98F00B204E9800998ECF8427E", "http://example.com/Path", "example.net"]}"#,
    );
    assert!(check(&list, "d41d8cd98f00b204e9800998ecf8427e").is_some());
    assert!(check(&list, "http://example.com/Path").is_some());
    assert!(check(&list, "example.net").is_some());
    assert_eq!(check(&list, "http://example.com/Path2"), None);
    assert_eq!(check(&list, "www.example.net"), None);
}

#[test]
fn substrings_and_patterns_apply_to_their_classes() {
    let list = warninglist(
        r#"{"name": "disposable", "type": "substring", "matching_attributes": ["email-src"],
            "list": ["0-mail.com", "guerrillamail"]}"#,
    );
    assert_eq!(
        check(&list, "someone@guerrillamail.org"),
        Some(("disposable".into(), "guerrillamail".into()))
    );
    assert_eq!(
        check(&list, "guerrillamail.org"),
        None,
        "a domain is not an e-mail"
    );
    let list = warninglist(
        r#"{"name": "contacts", "type": "regex", "matching_attributes": ["email-dst"],
            "list": ["/^(security|noc|soc|abuse)\\@.*\\..*$/i"]}"#,
    );
    assert!(check(&list, "abuse@example.com").is_some());
    assert!(check(&list, "ABUSE@example.com").is_some());
    assert_eq!(check(&list, "alice@example.com"), None);
}

#[test]
fn an_entry_in_two_sources_is_found_through_the_one_that_applies() {
    let mut builder = Builder::new();
    let hashes = builder.source("hashes", Origin::Warninglist, Classes::HASH);
    let domains = builder.source("domains", Origin::Warninglist, Classes::DOMAIN);
    builder
        .add(hashes, EntryKind::Exact, "example.com")
        .unwrap();
    builder
        .add(domains, EntryKind::Exact, "example.com")
        .unwrap();
    let list = builder.build().unwrap();
    assert_eq!(
        check(&list, "example.com"),
        Some(("domains".into(), "example.com".into()))
    );
}

#[test]
fn whitelist_feed_values_match_by_their_type() {
    let mut builder = Builder::new();
    let feed = builder.source("alice/allow", Origin::Feed(7), Classes::ALL);
    for raw in [
        "8.8.8.0/24",
        "example.com",
        "http://example.net/a",
        "abuse@example.org",
    ] {
        builder.add_thing(feed, &thing(raw));
    }
    let list = builder.build().unwrap();
    let hit = list.check(&thing("8.8.8.8")).unwrap();
    assert_eq!(hit.source.origin, Origin::Feed(7));
    assert_eq!(hit.entry, "8.8.8.0/24");
    assert!(check(&list, "www.example.com").is_some());
    assert!(check(&list, "http://example.net/a").is_some());
    assert_eq!(check(&list, "http://example.net/b"), None);
    assert!(check(&list, "abuse@example.org").is_some());
    assert_eq!(check(&list, "8.8.9.1"), None);
}

#[test]
fn bad_entries_are_counted_and_skipped() {
    let mut builder = Builder::new();
    let list = parse_warninglist(
        r#"{"name": "h", "type": "hostname", "list": ["ok.example", "", "a/b", "  "]}"#,
    )
    .unwrap();
    assert_eq!(builder.add_warninglist(&list), 3);
    let list = builder.build().unwrap();
    assert!(check(&list, "ok.example").is_some());
    let mut builder = Builder::new();
    let s = builder.source("r", Origin::Warninglist, Classes::ALL);
    builder.add(s, EntryKind::Regex, "/x/q").unwrap_err();
    builder.add(s, EntryKind::Regex, "(unclosed").unwrap();
    assert!(builder.build().is_err());
}
