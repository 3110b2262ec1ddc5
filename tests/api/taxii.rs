//! TAXII 2.1 (issue 20): discovery, the API root and its collections, objects and manifests
//! paged by `next` and `added_after`, private feeds and the TLP rule, media types and TAXII
//! error messages; the index plan of a page; and the real `taxii2-client` paging through
//! 10,000 indicators.

use std::collections::HashSet;
use std::process::Command;

use base64::Engine;
use feedgate::domain::tlp::Tlp;
use feedgate::models::indicator::{AddedPage, Shown, explain_added};
use serde_json::{Value, json};

use crate::formats::{missing_unless_required, tools_python};
use crate::helpers::*;

const TAXII: &str = "application/taxii+json;version=2.1";
const ROOT: &str = "/taxii2/feeds/";

impl TestApp {
    /// A TAXII GET with the TAXII media type and the token (if any) as a Bearer.
    fn taxii(&self, token: Option<&str>, path: &str) -> TestResponse {
        let mut headers = vec![("Accept", TAXII.to_string())];
        if let Some(t) = token {
            headers.push(("Authorization", format!("Bearer {t}")));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.request("GET", path, &headers, None)
    }

    /// The collections `token` sees, by title.
    fn collections(&self, token: Option<&str>) -> Vec<Value> {
        let res = self.taxii(token, &format!("{ROOT}collections/"));
        let body = res.assert_status(200).json();
        body["collections"].as_array().cloned().unwrap_or_default()
    }

    /// The collection id of `title` as the admin sees it.
    fn collection_id(&self, title: &str) -> String {
        let all = self.collections(Some(&self.admin_token));
        let found = all.iter().find(|c| c["title"] == title);
        found.unwrap_or_else(|| panic!("{title} not in {all:?}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Posts `values` to `user/feed` in one bulk request.
    fn bulk(&self, token: &str, user: &str, feed: &str, items: Vec<Value>) {
        let path = format!("/api/users/{user}/feeds/{feed}/indicators_bulk");
        self.send_as("POST", token, &path, &json!({ "indicators": items }))
            .assert_status(200);
    }
}

/// Asserts a TAXII error message with this status.
fn assert_taxii_error(res: &TestResponse, status: u16) -> Value {
    res.assert_status(status);
    assert_eq!(res.header("content-type"), Some(TAXII), "{:?}", res.headers);
    let body = res.json();
    assert_eq!(body["http_status"], status.to_string(), "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(body["description"].is_string(), "{body}");
    body
}

/// The names (`name` is the value) of an envelope's objects.
fn names(envelope: &Value) -> Vec<String> {
    envelope["objects"]
        .as_array()
        .map(|objects| {
            objects
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

both_backends! {
    fn discovery_the_api_root_and_collections_have_their_taxii_shape(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "scanners", false).assert_status(201);
        app.send_as("PATCH", &alice, "/api/users/alice/feeds/scanners", &json!({"feed": {"description": "hosts that scan"}})).assert_status(200);
        app.create_feed(&bob, "bob", "phish", false).assert_status(201);
        app.create_feed(&bob, "bob", "secret", true).assert_status(201);

        let discovery = app.taxii(None, "/taxii2/");
        assert_eq!(discovery.assert_status(200).header("content-type"), Some(TAXII));
        let discovery = discovery.json();
        let root = format!("{}{ROOT}", app.base);
        assert_eq!(discovery["api_roots"], json!([root]));
        assert_eq!(discovery["default"], root);
        assert!(discovery["title"].is_string());

        let api_root = app.taxii(None, ROOT).assert_status(200).json();
        assert_eq!(api_root["versions"], json!([TAXII]));
        assert!(api_root["max_content_length"].as_u64().unwrap() > 0);

        let mut titles: Vec<String> = app.collections(Some(&alice)).iter().map(|c| c["title"].as_str().unwrap().to_string()).collect();
        titles.sort();
        assert_eq!(titles, ["alice/scanners", "bob/phish"], "another user's private feed is no collection");
        let mut own: Vec<String> = app.collections(Some(&bob)).iter().map(|c| c["title"].as_str().unwrap().to_string()).collect();
        own.sort();
        assert_eq!(own, ["alice/scanners", "bob/phish", "bob/secret"]);

        let scanners = app.collections(None).into_iter().find(|c| c["title"] == "alice/scanners").unwrap();
        assert_eq!(scanners["can_read"], true);
        assert_eq!(scanners["can_write"], false);
        assert_eq!(scanners["description"], "hosts that scan");
        assert_eq!(scanners["media_types"], json!(["application/stix+json;version=2.1"]));
        let id = scanners["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        // Stable: the same id on every listing, and the collection answers by it.
        assert_eq!(app.collection_id("alice/scanners"), id);
        let one = app.taxii(None, &format!("{ROOT}collections/{id}/")).assert_status(200).json();
        assert_eq!(one, scanners);
        // Without the trailing slash too.
        app.taxii(None, &format!("{ROOT}collections/{id}")).assert_status(200);
    }

    fn a_private_feed_is_404_to_others_and_served_to_its_owner_over_basic(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "private", true).assert_status(201);
        app.post_indicator(&alice, "alice", "private", &json!({"indicator": "198.51.100.7"})).assert_status(201);
        let id = app.collection_id("alice/private");
        for path in [format!("{ROOT}collections/{id}/"), format!("{ROOT}collections/{id}/objects/"), format!("{ROOT}collections/{id}/manifest/")] {
            assert_taxii_error(&app.taxii(Some(&bob), &path), 404);
            assert_taxii_error(&app.taxii(None, &path), 404);
        }
        // What TAXII clients send: HTTP Basic, any user name, the token as the password.
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("anyone:{alice}")));
        let res = app.request("GET", &format!("{ROOT}collections/{id}/objects/"), &[("Accept", TAXII), ("Authorization", &basic)], None);
        assert_eq!(names(&res.assert_status(200).json()), ["198.51.100.7"]);
        // A wrong token over Basic is 401 as a TAXII error asking for Basic.
        let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("x:fg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let res = app.request("GET", &format!("{ROOT}collections/"), &[("Accept", TAXII), ("Authorization", &wrong)], None);
        assert_taxii_error(&res, 401);
        assert_eq!(res.header("www-authenticate"), Some(r#"Basic realm="feedgate""#));
        // The same Basic form works on the API.
        app.request("GET", "/api/users/alice/feeds/private", &[("Authorization", &basic)], None).assert_status(200);
    }

    fn amber_and_red_indicators_are_served_to_the_owner_only(app) {
        let alice = app.user_with_token("alice");
        let bob = app.user_with_token("bob");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.bulk(&alice, "alice", "f", vec![
            json!({"indicator": "45.33.32.1"}),
            json!({"indicator": "45.33.32.2", "tlp": "amber"}),
            json!({"indicator": "45.33.32.3", "tlp": "green"}),
            json!({"indicator": "45.33.32.4", "tlp": "red"}),
        ]);
        let id = app.collection_id("alice/f");
        let path = format!("{ROOT}collections/{id}/objects/");
        // Public addresses: the export leaves documentation ranges out.
        let mut open = names(&app.taxii(Some(&bob), &path).assert_status(200).json());
        open.sort();
        assert_eq!(open, ["45.33.32.1", "45.33.32.3"]);
        assert_eq!(names(&app.taxii(None, &path).json()).len(), 2);
        let all = app.taxii(Some(&alice), &path).json();
        assert_eq!(names(&all).len(), 4);
        let amber = all["objects"].as_array().unwrap().iter().find(|o| o["name"] == "45.33.32.2").unwrap();
        assert_eq!(amber["object_marking_refs"], json!(["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]));
        // The same objects, ids included, as the owner's STIX export.
        let export = app.get_as(&alice, "/api/users/alice/feeds/f.stix").assert_status(200).json();
        let exported: HashSet<&str> = export["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "indicator").map(|o| o["id"].as_str().unwrap()).collect();
        let served: HashSet<&str> = all["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(served, exported);
        // One object by id: readable to the owner, 404 to others.
        let object = format!("{path}{}/", amber["id"].as_str().unwrap());
        assert_eq!(names(&app.taxii(Some(&alice), &object).assert_status(200).json()), ["45.33.32.2"]);
        assert_taxii_error(&app.taxii(Some(&bob), &object), 404);
    }

    fn other_media_types_are_406_and_taxii_ones_are_served(app) {
        for accept in ["application/json", "application/taxii+json;version=2.0", "text/html", "application/taxii+json;version=2.1;q=0"] {
            let res = app.request("GET", "/taxii2/", &[("Accept", accept)], None);
            let body = assert_taxii_error(&res, 406);
            assert_eq!(body["error_code"], "not_acceptable");
        }
        for accept in [TAXII, "application/taxii+json", "*/*", "application/json, application/taxii+json;version=2.1"] {
            let res = app.request("GET", "/taxii2/feeds/collections/", &[("Accept", accept)], None);
            assert_eq!(res.assert_status(200).header("content-type"), Some(TAXII), "{accept}");
        }
    }

    fn bad_added_after_next_and_collections_are_400_and_404(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.bulk(&alice, "alice", "f", (0..3).map(|i| json!({"indicator": format!("198.51.100.{i}")})).collect());
        let objects = format!("{ROOT}collections/{}/objects/", app.collection_id("alice/f"));
        for query in ["added_after=yesterday", "next=nonsense", "limit=0", "limit=x", "match[version]=newest", "colour=blue"] {
            assert_taxii_error(&app.taxii(None, &format!("{objects}?{query}")), 400);
        }
        // A `next` of other filters is refused.
        let page = app.taxii(None, &format!("{objects}?limit=1")).json();
        let next = page["next"].as_str().unwrap();
        assert_taxii_error(&app.taxii(None, &format!("{objects}?limit=1&added_after=2020-01-01T00:00:00Z&next={next}")), 400);
        app.taxii(None, &format!("{objects}?limit=1&next={next}")).assert_status(200);
        for bad in ["nonsense", "00000000-0000-4000-8000-000000000001", "3c5e1f0a-8b4d-4e21-9f6c-27d051a27e93"] {
            assert_taxii_error(&app.taxii(None, &format!("{ROOT}collections/{bad}/objects/")), 404);
            assert_taxii_error(&app.taxii(None, &format!("{ROOT}collections/{bad}/")), 404);
        }
        assert_taxii_error(&app.taxii(None, &format!("{objects}indicator--00000000-0000-4000-8000-000000000001/")), 404);
        assert_taxii_error(&app.taxii(None, "/taxii2/nothing/"), 404);
    }

    fn pages_by_next_and_added_after_have_no_gaps_or_duplicates(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        // Three batches ten seconds apart: three `date_added` times.
        for batch in 0..3 {
            app.bulk(&alice, "alice", "f", (0..5).map(|i| json!({"indicator": format!("198.51.100.{}", batch * 10 + i)})).collect());
            app.clock.advance(chrono::Duration::seconds(10));
        }
        let objects = format!("{ROOT}collections/{}/objects/", app.collection_id("alice/f"));
        let manifest = objects.replace("/objects/", "/manifest/");
        let walk = |first: &str| -> (Vec<String>, Vec<String>) {
            let (mut seen, mut added) = (Vec::new(), Vec::new());
            let mut url = first.to_string();
            loop {
                let res = app.taxii(None, &url);
                let page = res.assert_status(200).json();
                let entries = app.taxii(None, &url.replace("/objects/", "/manifest/")).json();
                let dates: Vec<String> = entries["objects"].as_array().map(|e| e.iter().map(|e| e["date_added"].as_str().unwrap().to_string()).collect()).unwrap_or_default();
                if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
                    assert_eq!(res.header("x-taxii-date-added-first"), Some(first.as_str()));
                    assert_eq!(res.header("x-taxii-date-added-last"), Some(last.as_str()));
                }
                seen.extend(names(&page));
                added.extend(dates);
                match page["more"].as_bool().unwrap() {
                    true => {
                        let next = page["next"].as_str().unwrap();
                        let base = first.split("next=").next().unwrap().trim_end_matches('&');
                        let sep = if base.contains('?') { '&' } else { '?' };
                        url = format!("{base}{sep}next={next}");
                    }
                    false => {
                        assert!(page.get("next").is_none());
                        return (seen, added);
                    }
                }
            }
        };
        let (all, added) = walk(&format!("{objects}?limit=4"));
        let expected: Vec<String> = (0..3).flat_map(|b| (0..5).map(move |i| format!("198.51.100.{}", b * 10 + i))).collect();
        assert_eq!(all, expected, "oldest first, each once");
        let mut sorted = added.clone();
        sorted.sort();
        assert_eq!(added, sorted);
        // `added_after` the first batch's time: exactly the two later batches, paged.
        let after = enc(&added[4]);
        let (later, _) = walk(&format!("{objects}?limit=3&added_after={after}"));
        assert_eq!(later, expected[5..]);
        // A re-submission is a new version: it moves after the others, and the manifest says so.
        app.post_indicator(&alice, "alice", "f", &json!({"indicator": "198.51.100.0", "description": "again"})).assert_status(200);
        let (moved, _) = walk(&format!("{objects}?limit=4&added_after={}", enc(&added[14])));
        assert_eq!(moved, ["198.51.100.0"]);
        let entry = &app.taxii(None, &format!("{manifest}?added_after={}", enc(&added[14]))).json()["objects"][0];
        assert_eq!(entry["media_type"], "application/stix+json;version=2.1");
        assert!(entry["id"].as_str().unwrap().starts_with("indicator--"));
        // `match[id]`, `match[type]` and `match[version]`.
        let ids: Vec<String> = app.taxii(None, &format!("{objects}?limit=3")).json()["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
        let matched = app.taxii(None, &format!("{objects}?match[id]={},{}", ids[0], ids[2])).json();
        assert_eq!(names(&matched), [expected[1].clone(), expected[3].clone()]);
        assert!(app.taxii(None, &format!("{objects}?match[type]=malware")).json().get("objects").is_none());
        assert_eq!(names(&app.taxii(None, &format!("{objects}?match[type]=indicator&match[version]=last&limit=2")).json()).len(), 2);
        let version = entry["version"].as_str().unwrap();
        assert_eq!(names(&app.taxii(None, &format!("{objects}?match[version]={}", enc(version))).json()), ["198.51.100.0"]);
    }

    fn an_expired_indicator_is_not_served(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        let soon = (app.clock.now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        app.bulk(&alice, "alice", "f", vec![json!({"indicator": "198.51.100.1", "expires_at": soon}), json!({"indicator": "198.51.100.2"})]);
        let objects = format!("{ROOT}collections/{}/objects/", app.collection_id("alice/f"));
        assert_eq!(names(&app.taxii(None, &objects).json()).len(), 2);
        app.clock.advance(chrono::Duration::hours(2));
        assert_eq!(names(&app.taxii(None, &objects).json()), ["198.51.100.2"]);
    }

    fn a_page_at_any_depth_is_one_range_of_the_added_index(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "f", false).assert_status(201);
        app.bulk(&alice, "alice", "f", (0..40).map(|i| json!({"indicator": format!("203.0.113.{i}")})).collect());
        let mut conn = app.pool.get().unwrap();
        let now = app.clock.now();
        let open = Shown { live_at: Some(now), tlps: Some(feedgate::domain::tlp::TlpSet::OPEN), ..Default::default() };
        for (after, added_after) in [(None, None), (Some((now, 20)), None), (None, Some(now)), (Some((now, 20)), Some(now))] {
            let p = AddedPage { feed_id: 1, added_after, after, ids: None, limit: 101, shown: open.clone(), default_tlp: Tlp::Clear };
            let plan = explain_added(&mut conn, &p).unwrap();
            assert!(plan.contains("indicators_feed_added"), "{plan}");
            if app.db.url.starts_with("sqlite") {
                assert!(!plan.contains("SCAN indicators"), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "sorted by the index, not afterwards: {plan}");
            } else {
                assert!(!plan.contains("Seq Scan on indicators"), "{plan}");
                assert!(!plan.contains("Sort"), "sorted by the index, not afterwards: {plan}");
            }
        }
    }

    fn the_taxii2_client_pages_through_ten_thousand_indicators(app) {
        let Some(python) = tools_python() else { return };
        let has_client = Command::new(&python).args(["-c", "import taxii2client.v21"]).status().unwrap().success();
        if missing_unless_required(has_client.then_some(python.clone()), "taxii2-client (pip install taxii2-client)").is_none() {
            return;
        }
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "many", true).assert_status(201);
        for chunk in 0..4 {
            let items: Vec<Value> = (0..2500).map(|i| json!({"indicator": format!("{:032x}", 0xfeed_0000_u64 + chunk * 2500 + i)})).collect();
            app.bulk(&alice, "alice", "many", items);
            app.clock.advance(chrono::Duration::seconds(5));
        }
        let script = r#"
import json, sys
from taxii2client.v21 import Server, as_pages
url, token, title = sys.argv[1], sys.argv[2], sys.argv[3]
server = Server(url, user="taxii-user", password=token)
root = server.api_roots[0]
collection = next(c for c in root.collections if c.title == title)
assert collection.can_read and not collection.can_write
ids, pages, first = set(), 0, None
for envelope in as_pages(collection.get_objects, per_request=1000, added_after="2000-01-01T00:00:00Z"):
    pages += 1
    objects = envelope.get("objects", [])
    if first is None:
        first = objects[:50]
    for o in objects:
        assert o["type"] == "indicator" and o["spec_version"] == "2.1", o
        ids.add(o["id"])
try:
    from stix2validator import validate_string, ValidationOptions
    bundle = {"type": "bundle", "id": "bundle--" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, "objects": first}
    result = validate_string(json.dumps(bundle), ValidationOptions(version="2.1"))
    valid = result.is_valid
except ImportError:
    valid = None
print(json.dumps({"distinct": len(ids), "pages": pages, "valid": valid, "title": collection.title}))
"#;
        let out = Command::new(&python).arg("-c").arg(script).arg(format!("{}/taxii2/", app.base)).arg(&alice).arg("alice/many").output().unwrap();
        assert!(out.status.success(), "taxii2-client: {}", String::from_utf8_lossy(&out.stderr));
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(seen["distinct"], 10_000, "{seen}");
        assert!(seen["pages"].as_u64().unwrap() >= 10, "{seen}");
        assert_ne!(seen["valid"], false, "a page's objects are valid STIX 2.1: {seen}");
    }
}
