use std::collections::{BTreeMap, BTreeSet};

use diesel::query_builder::{QueryBuilder, QueryFragment};

use super::*;
use crate::db::sql::Keyed;

/// A search statement's SQL text on each backend (binds not included), as `search` runs it
/// under a [`Keyed`] key.
fn texts(m: &Match, f: &Filters, limit: i64) -> (String, String) {
    let q = Keyed::<_, ()>::new(page_rows_query!(m, f, limit));
    let mut sqlite = diesel::sqlite::SqliteQueryBuilder::new();
    q.to_sql(&mut sqlite, &diesel::sqlite::Sqlite).unwrap();
    let q = Keyed::<_, ()>::new(page_rows_query!(m, f, limit));
    let mut pg = diesel::pg::PgQueryBuilder::default();
    q.to_sql(&mut pg, &diesel::pg::Pg).unwrap();
    (sqlite.finish(), pg.finish())
}

fn address(starts: usize, last_byte: u8, v4: bool) -> Match {
    let mut addr = [0u8; 16];
    addr[15] = last_byte;
    Match::Address {
        starts: (0..starts)
            .map(|i| vec![u8::try_from(i).unwrap(); 16])
            .collect(),
        addr,
        v4,
    }
}

#[test]
fn each_shape_key_stands_for_exactly_one_statement_text() {
    // `Keyed` finds a prepared statement by its key's type alone: two texts under one key
    // would run one text's statement with the other's binds.
    let mut matches = Vec::new();
    for starts in [1, 2, 3, 4, 8, 16] {
        for (last_byte, v4) in [(1, true), (200, true), (7, false)] {
            matches.push(address(starts, last_byte, v4));
        }
    }
    matches.push(Match::Exact("http://example.com/a".into()));
    matches.push(Match::Exact("0123456789abcdef".into()));
    matches.push(Match::Network {
        lo: vec![0; 16],
        hi: vec![1; 16],
    });
    matches.push(Match::Host {
        from: b"com.example.".to_vec(),
        to: b"com.example/".to_vec(),
    });
    matches.push(Match::Asn(vec![64500]));
    matches.push(Match::Asn(vec![64500, 64501]));
    matches.push(Match::Cc(vec!["DE".into()]));
    let viewers = [
        Viewer::Anonymous,
        Viewer::User(1),
        Viewer::User(42),
        Viewer::Admin(1),
        Viewer::Admin(9),
    ];
    let mut by_key: BTreeMap<(u8, u8), BTreeSet<(String, String)>> = BTreeMap::new();
    for m in &matches {
        for viewer in viewers {
            // Live rows only (the default), at two times: the time is bound, not written.
            let live = |day: u32| Filters {
                viewer,
                shown: Shown {
                    live_at: chrono::NaiveDate::from_ymd_opt(2026, 12, day)
                        .and_then(|d| d.and_hms_opt(0, 0, 0)),
                    ..Shown::default()
                },
                ..Filters::default()
            };
            let filtered = Filters {
                tags: vec!["x".into()],
                ..live(1)
            };
            let with_expired = Filters {
                viewer,
                ..Filters::default()
            };
            let confident = Filters {
                shown: Shown {
                    min_confidence: Some(5.0),
                    ..live(1).shown
                },
                ..live(1)
            };
            let operator = |shown: Shown| Filters {
                shown: Shown {
                    live_at: live(1).shown.live_at,
                    ..shown
                },
                ..live(1)
            };
            let by_asn = operator(Shown {
                asns: vec![64500],
                ..Shown::default()
            });
            let by_cc = operator(Shown {
                ccs: vec!["DE".into(), "FR".into()],
                ..Shown::default()
            });
            let by_provider = operator(Shown {
                provider: Some("shadowserver".into()),
                ..Shown::default()
            });
            for f in [
                &live(1),
                &live(2),
                &filtered,
                &with_expired,
                &confident,
                &by_asn,
                &by_cc,
                &by_provider,
            ] {
                for limit in [1, 2, 25, 26, 32, 33, 101] {
                    if let Some(key) = shape(m, f, limit) {
                        by_key.entry(key).or_default().insert(texts(m, f, limit));
                    }
                }
            }
        }
    }
    let every_key: BTreeSet<(u8, u8)> =
        (0..=4).flat_map(|m| (0..=2).map(move |v| (m, v))).collect();
    assert_eq!(by_key.keys().copied().collect::<BTreeSet<_>>(), every_key);
    for (key, texts) in &by_key {
        assert_eq!(
            texts.len(),
            1,
            "shape {key:?} has {} texts: {texts:#?}",
            texts.len()
        );
    }
    let distinct: BTreeSet<_> = by_key.values().flatten().collect();
    assert_eq!(distinct.len(), by_key.len(), "two shapes share a text");
}
