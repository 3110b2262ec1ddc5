//! Whole-feed exports (spec §6.5.6).

use serde_json::json;

use crate::helpers::*;

both_backends! {
    fn the_csv_export_has_the_documented_header_and_rows(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "ssh-scanners", false).assert_status(201);
        app.post_indicator(&alice, "alice", "ssh-scanners", &json!({"indicator": {"thing": "5.188.10.23", "tags": ["scanner", "ssh"],
            "portlist": "22", "protocol": "tcp", "firsttime": "2026-11-19T22:10:00Z", "lasttime": "2026-11-20T07:55:12Z",
            "description": "ssh password guessing, \"root\"", "provider": "honeypot-eu1"}})).assert_status(201);
        let res = app.request("GET", "/api/users/alice/feeds/ssh-scanners.csv", &[("Accept", "application/vnd.csirtg.v7")], None);
        res.assert_status(200);
        assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(res.header("content-disposition"), Some("attachment; filename=\"alice-ssh-scanners.csv\""));
        let lines: Vec<&str> = res.body.split("\r\n").collect();
        assert_eq!(lines[0], "id,indicator,itype,tags,portlist,portlist_src,protocol,firsttime,lasttime,count,description,provider,asn,asn_desc,cc,created_at,updated_at,user,feed,confidence,tlp,expires_at");
        assert!(lines[1].contains(",5.188.10.23,ipv4,\"scanner,ssh\",22,,tcp,2026-11-19T22:10:00Z,2026-11-20T07:55:12Z,1,\"ssh password guessing, \"\"root\"\"\",honeypot-eu1,,,,"), "{}", lines[1]);
        // No confidence, the public feed's TLP, and the default lifetime of an address (21 days).
        let (head, expires) = lines[1].rsplit_once(',').unwrap();
        assert!(head.ends_with(",alice,ssh-scanners,,clear"), "{}", lines[1]);
        let expires = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
        let lifetime = expires.signed_duration_since(chrono::Utc::now());
        assert!((lifetime - chrono::Duration::days(21)).num_seconds().abs() < 300, "{}", lines[1]);
        assert_eq!(lines.len(), 3, "header, one row, and the final CRLF");
    }

    fn the_json_export_streams_every_indicator_in_the_version(app) {
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "big", false).assert_status(201);
        for chunk in 0..3 {
            let items: Vec<_> = (0..1000).map(|i| json!({"indicator": format!("11.{chunk}.{}.{}", i / 256, i % 256)})).collect();
            app.send_as("POST", &alice, "/api/users/alice/feeds/big/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        }
        let v0 = app.get_as(&alice, "/api/users/alice/feeds/big.json").json();
        let list = v0.as_array().unwrap();
        assert_eq!(list.len(), 3000, "more than one streamed page");
        assert!(list[0]["indicator"]["thing"].is_string());
        assert!(list[0]["indicator"].get("comments").is_none());
        let mut ids: Vec<i64> = list.iter().map(|i| i["indicator"]["id"].as_i64().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3000);
        let v1 = app.get_v1(&alice, "/api/users/alice/feeds/big.json").json();
        assert!(v1[0]["indicator"].is_string());
        let anon = app.get("/api/users/alice/feeds/big.csv");
        assert_eq!(anon.body.split("\r\n").filter(|l| !l.is_empty()).count(), 26, "anonymous: header + 25 newest");
        app.request("GET", "/api/users/alice/feeds/big.json", &[("Accept", "application/vnd.csirtg.v2")], None).assert_error(406, "not_acceptable");
        app.get_as(&alice, "/api/users/alice/feeds/big.csv?limit=5").assert_error(400, "unknown_parameter");
    }

    fn concurrent_long_csv_exports_are_whole_and_identical(app) {
        // Each export past its first page reads on a connection of its own, two at a time;
        // the others read on the pool. All of them must carry every row once, in one order.
        let alice = app.user_with_token("alice");
        app.create_feed(&alice, "alice", "wide", false).assert_status(201);
        for chunk in 0..5 {
            let items: Vec<_> = (0..1000).map(|i| json!({"indicator": format!("11.{chunk}.{}.{}", i / 256, i % 256)})).collect();
            app.send_as("POST", &alice, "/api/users/alice/feeds/wide/indicators_bulk", &json!({"indicators": items})).assert_status(200);
        }
        let bodies: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| app.get_as(&alice, "/api/users/alice/feeds/wide.csv")))
                .collect();
            handles.into_iter().map(|h| {
                let res = h.join().unwrap();
                res.assert_status(200);
                res.body.clone()
            }).collect()
        });
        let lines: Vec<&str> = bodies[0].split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 5001, "header and every row");
        let mut ids: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 5000, "no row twice");
        for other in &bodies[1..] {
            assert_eq!(other, &bodies[0]);
        }
    }
}
