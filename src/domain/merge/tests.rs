use super::*;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn seen<'a>(first: &str, last: &str, tags: &'a [String]) -> Sighting<'a> {
    Sighting {
        firsttime: Some(t(first)),
        lasttime: Some(t(last)),
        tags,
    }
}

fn stored(first: &str, last: &str, count: i64, tags: &str) -> Sightings {
    Sightings {
        firsttime: Some(t(first)),
        lasttime: Some(t(last)),
        count,
        tags: tags.to_string(),
    }
}

/// `n` distinct ASCII tags of ten characters: `n * 11 - 1` joined.
fn ten_char_tags(prefix: char, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:09}")).collect()
}

const BOTH: [Rule; 2] = [Rule::Api, Rule::Import];

// --- both rules ---

#[test]
fn a_first_submission_has_count_one_its_times_and_its_tags() {
    let list = tags(&["scanner", "ssh"]);
    for rule in BOTH {
        let s =
            Sightings::first(&seen("2026-11-19 22:10", "2026-11-20 07:55", &list), rule).unwrap();
        assert_eq!(
            s,
            stored("2026-11-19 22:10", "2026-11-20 07:55", 1, "scanner,ssh"),
            "{rule:?}"
        );
    }
}

#[test]
fn firsttime_becomes_the_earlier_and_lasttime_the_later() {
    for rule in BOTH {
        let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 1, "");
        s.merge(&seen("2026-11-12 00:00", "2026-11-18 00:00", &[]), rule)
            .unwrap();
        assert_eq!(s.firsttime, Some(t("2026-11-10 00:00")), "{rule:?}");
        assert_eq!(s.lasttime, Some(t("2026-11-20 00:00")), "{rule:?}");
        s.merge(&seen("2026-11-01 00:00", "2026-11-30 00:00", &[]), rule)
            .unwrap();
        assert_eq!(s.firsttime, Some(t("2026-11-01 00:00")), "{rule:?}");
        assert_eq!(s.lasttime, Some(t("2026-11-30 00:00")), "{rule:?}");
    }
}

#[test]
fn the_times_do_not_depend_on_the_order_of_the_submissions() {
    let rows = [
        ("2026-11-05 00:00", "2026-11-06 00:00"),
        ("2026-11-01 00:00", "2026-11-02 00:00"),
        ("2026-11-03 00:00", "2026-11-09 00:00"),
    ];
    for rule in BOTH {
        let mut forward = Sightings::first(&seen(rows[0].0, rows[0].1, &[]), rule).unwrap();
        for (f, l) in &rows[1..] {
            forward.merge(&seen(f, l, &[]), rule).unwrap();
        }
        let mut backward = Sightings::first(&seen(rows[2].0, rows[2].1, &[]), rule).unwrap();
        for (f, l) in rows[..2].iter().rev() {
            backward.merge(&seen(f, l, &[]), rule).unwrap();
        }
        assert_eq!(
            (forward.firsttime, forward.lasttime),
            (Some(t("2026-11-01 00:00")), Some(t("2026-11-09 00:00"))),
            "{rule:?}"
        );
        assert_eq!(
            (backward.firsttime, backward.lasttime),
            (forward.firsttime, forward.lasttime),
            "{rule:?}"
        );
    }
}

#[test]
fn tags_keep_the_stored_order_and_append_new_ones_in_submitted_order() {
    let list = tags(&["ssh", "brute", "scanner", "telnet"]);
    for rule in BOTH {
        let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 1, "scanner,ssh");
        s.merge(&seen("2026-11-10 00:00", "2026-11-20 00:00", &list), rule)
            .unwrap();
        assert_eq!(s.tags, "scanner,ssh,brute,telnet", "{rule:?}");
    }
}

#[test]
fn effective_at_is_the_last_time_else_the_creation_time() {
    let created = t("2026-11-19 22:10");
    let mut s = Sightings::default();
    assert_eq!(s.effective_at(created), created);
    s.lasttime = Some(t("2026-11-20 07:55"));
    assert_eq!(s.effective_at(created), t("2026-11-20 07:55"));
}

// --- API (csirtg-v0 §6.6.1) ---

#[test]
fn api_every_submission_counts_and_is_an_update_of_each_given_field() {
    let mut s = stored("2026-11-19 22:10", "2026-11-19 22:10", 1, "scanner");
    for count in 2..=3 {
        // The same sighting again: nothing widens, and it still counts.
        let merged = s
            .merge(
                &seen("2026-11-19 22:10", "2026-11-19 22:10", &[]),
                Rule::Api,
            )
            .unwrap();
        assert_eq!(
            merged,
            Merged {
                outcome: Outcome::Updated,
                details: Details::EachGiven
            }
        );
        assert_eq!(s.count, count);
    }
}

#[test]
fn api_a_missing_time_on_either_side_is_ignored() {
    let mut s = Sightings {
        count: 1,
        ..Sightings::default()
    };
    s.merge(&Sighting::default(), Rule::Api).unwrap();
    assert_eq!((s.firsttime, s.lasttime), (None, None));
    s.merge(
        &seen("2026-11-19 22:10", "2026-11-20 07:55", &[]),
        Rule::Api,
    )
    .unwrap();
    assert_eq!(
        (s.firsttime, s.lasttime),
        (Some(t("2026-11-19 22:10")), Some(t("2026-11-20 07:55")))
    );
    s.merge(&Sighting::default(), Rule::Api).unwrap();
    assert_eq!(
        (s.firsttime, s.lasttime),
        (Some(t("2026-11-19 22:10")), Some(t("2026-11-20 07:55")))
    );
    assert_eq!(s.count, 4);
}

#[test]
fn api_a_first_submission_with_tags_over_255_characters_is_too_long() {
    let list = ten_char_tags('a', 24); // 263 characters joined
    let e = Sightings::first(
        &Sighting {
            tags: &list,
            ..Sighting::default()
        },
        Rule::Api,
    )
    .unwrap_err();
    assert_eq!(e.code, "too_long");
    let list = ten_char_tags('a', 23); // 252
    assert!(
        Sightings::first(
            &Sighting {
                tags: &list,
                ..Sighting::default()
            },
            Rule::Api
        )
        .is_ok()
    );
}

#[test]
fn api_merged_tags_over_255_characters_are_too_long_and_change_nothing() {
    let stored_tags = ten_char_tags('a', 20).join(","); // 219
    let before = stored("2026-11-10 00:00", "2026-11-20 00:00", 5, &stored_tags);
    let mut s = before.clone();
    let more = ten_char_tags('b', 4); // + 44 = 263
    let e = s
        .merge(
            &seen("2026-11-01 00:00", "2026-11-30 00:00", &more),
            Rule::Api,
        )
        .unwrap_err();
    assert_eq!(e.code, "too_long");
    assert_eq!(s, before);
    // Tags already stored cost nothing: 3 new ones fit (252).
    let mut fits = ten_char_tags('b', 3);
    fits.insert(0, "a000000000".into());
    s.merge(
        &Sighting {
            tags: &fits,
            ..Sighting::default()
        },
        Rule::Api,
    )
    .unwrap();
    assert_eq!(s.tags.len(), 252);
}

#[test]
fn api_the_tag_limit_counts_characters_not_bytes() {
    // 100 two-byte characters joined: 255 characters, 455 bytes.
    let list = vec!["ä".repeat(100), "ö".repeat(100), "ü".repeat(53)];
    let s = Sightings::first(
        &Sighting {
            tags: &list,
            ..Sighting::default()
        },
        Rule::Api,
    )
    .unwrap();
    assert_eq!(s.tags.chars().count(), 255);
    let mut s = s;
    let e = s
        .merge(
            &Sighting {
                tags: &tags(&["x"]),
                ..Sighting::default()
            },
            Rule::Api,
        )
        .unwrap_err();
    assert_eq!(e.code, "too_long");
}

#[test]
fn api_a_given_field_replaces_the_stored_one_and_a_missing_one_keeps_it() {
    let mut description = Some("ssh password guessing".to_string());
    replace_given(&mut description, None);
    assert_eq!(description.as_deref(), Some("ssh password guessing"));
    replace_given(&mut description, Some(&"telnet".to_string()));
    assert_eq!(description.as_deref(), Some("telnet"));
    let mut protocol = None;
    replace_given(&mut protocol, Some(&6));
    assert_eq!(protocol, Some(6));
}

#[test]
fn api_a_comment_fits_below_1000_comments() {
    assert!(comment_fits(0));
    assert!(comment_fits(MAX_COMMENTS - 1));
    assert!(!comment_fits(MAX_COMMENTS));
}

#[test]
fn api_an_attachment_is_added_unless_its_sha256_is_there_and_at_most_20() {
    let stored: Vec<String> = (0..19).map(|i| format!("{i:064x}")).collect();
    let iter = || stored.iter().map(String::as_str);
    assert_eq!(attachment_added(iter(), &stored[3]), Ok(false));
    assert_eq!(attachment_added(iter(), "new"), Ok(true));
    let mut full = stored.clone();
    full.push("twentieth".into());
    let iter = || full.iter().map(String::as_str);
    assert_eq!(attachment_added(iter(), "twentieth"), Ok(false));
    assert_eq!(
        attachment_added(iter(), "new").unwrap_err().code,
        "too_many_attachments"
    );
}

// --- import (shadowserver §4.2) ---

#[test]
fn import_a_row_that_moves_firsttime_earlier_counts_and_keeps_the_details() {
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 1, "shadowserver");
    let merged = s
        .merge(
            &seen("2026-11-05 00:00", "2026-11-06 00:00", &[]),
            Rule::Import,
        )
        .unwrap();
    assert_eq!(
        merged,
        Merged {
            outcome: Outcome::Updated,
            details: Details::Kept
        }
    );
    assert_eq!(s.count, 2);
    assert_eq!(s.firsttime, Some(t("2026-11-05 00:00")));
}

#[test]
fn import_a_row_that_moves_lasttime_later_counts_and_brings_its_details() {
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 1, "shadowserver");
    let merged = s
        .merge(
            &seen("2026-11-21 00:00", "2026-11-21 00:00", &[]),
            Rule::Import,
        )
        .unwrap();
    assert_eq!(
        merged,
        Merged {
            outcome: Outcome::Updated,
            details: Details::All
        }
    );
    assert_eq!(s.count, 2);
    assert_eq!(s.lasttime, Some(t("2026-11-21 00:00")));
}

#[test]
fn import_a_row_that_widens_both_ends_counts_once() {
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 3, "");
    let merged = s
        .merge(
            &seen("2026-11-01 00:00", "2026-11-30 00:00", &[]),
            Rule::Import,
        )
        .unwrap();
    assert_eq!(merged.details, Details::All);
    assert_eq!(s.count, 4);
}

#[test]
fn import_a_row_inside_the_span_with_known_tags_is_unchanged() {
    let list = tags(&["shadowserver", "scan_dns"]);
    let before = stored(
        "2026-11-10 00:00",
        "2026-11-20 00:00",
        2,
        "shadowserver,scan_dns",
    );
    let mut s = before.clone();
    for (f, l) in [
        ("2026-11-10 00:00", "2026-11-20 00:00"),
        ("2026-11-12 00:00", "2026-11-15 00:00"),
    ] {
        let merged = s.merge(&seen(f, l, &list), Rule::Import).unwrap();
        assert_eq!(
            merged,
            Merged {
                outcome: Outcome::Unchanged,
                details: Details::Kept
            }
        );
    }
    assert_eq!(s, before);
}

#[test]
fn import_a_new_tag_alone_is_an_update_without_a_count() {
    let list = tags(&["shadowserver", "vulnerable"]);
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 2, "shadowserver");
    let merged = s
        .merge(
            &seen("2026-11-12 00:00", "2026-11-15 00:00", &list),
            Rule::Import,
        )
        .unwrap();
    assert_eq!(
        merged,
        Merged {
            outcome: Outcome::Updated,
            details: Details::Kept
        }
    );
    assert_eq!(s.count, 2);
    assert_eq!(s.tags, "shadowserver,vulnerable");
}

#[test]
fn import_applying_a_row_twice_changes_nothing_the_second_time() {
    let list = tags(&["shadowserver", "scan_dns", "vulnerable"]);
    let row = seen("2026-11-01 00:00", "2026-11-30 00:00", &list);
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 2, "shadowserver");
    assert_eq!(
        s.merge(&row, Rule::Import).unwrap().outcome,
        Outcome::Updated
    );
    let after_once = s.clone();
    assert_eq!(
        s.merge(&row, Rule::Import).unwrap().outcome,
        Outcome::Unchanged
    );
    assert_eq!(s, after_once);
}

#[test]
fn import_tags_that_do_not_fit_are_left_out_and_the_others_appended() {
    let stored_tags = ten_char_tags('a', 22).join(","); // 241
    let mut s = stored("2026-11-10 00:00", "2026-11-20 00:00", 1, &stored_tags);
    let mut more = ten_char_tags('b', 2); // the first fits (252), the second would not
    more.push("c".into()); // fits after it (254)
    let merged = s
        .merge(
            &seen("2026-11-12 00:00", "2026-11-15 00:00", &more),
            Rule::Import,
        )
        .unwrap();
    assert_eq!(merged.outcome, Outcome::Updated);
    assert_eq!(s.tags, format!("{stored_tags},b000000000,c"));
    let first = Sightings::first(
        &seen(
            "2026-11-12 00:00",
            "2026-11-15 00:00",
            &ten_char_tags('a', 30),
        ),
        Rule::Import,
    )
    .unwrap();
    assert_eq!(first.tags, stored_tags.clone() + ",a000000022");
}

#[test]
fn import_tags_are_appended_once_within_the_budget() {
    let mut s = stored(
        "2026-11-10 00:00",
        "2026-11-20 00:00",
        1,
        "shadowserver,scan_dns",
    );
    let inside = |tags| seen("2026-11-12 00:00", "2026-11-15 00:00", tags);
    let known = tags(&["scan_dns", "shadowserver"]);
    let merged = s.merge(&inside(&known), Rule::Import).unwrap();
    assert_eq!(merged.outcome, Outcome::Unchanged);
    let new = tags(&["vulnerable"]);
    let merged = s.merge(&inside(&new), Rule::Import).unwrap();
    assert_eq!(merged.outcome, Outcome::Updated);
    assert_eq!(s.tags, "shadowserver,scan_dns,vulnerable");
    let long = vec!["x".repeat(240)];
    let merged = s.merge(&inside(&long), Rule::Import).unwrap();
    assert_eq!(merged.outcome, Outcome::Unchanged);
    let two = tags(&["a", "b"]);
    let first = Sightings::first(&inside(&two), Rule::Import).unwrap();
    assert_eq!(first.tags, "a,b");
}

#[test]
fn import_the_tag_budget_counts_bytes() {
    // 150 characters in 300 bytes: the second does not fit although 255 characters would.
    let list = vec!["ä".repeat(100), "ö".repeat(50)];
    let s = Sightings::first(
        &Sighting {
            tags: &list,
            ..Sighting::default()
        },
        Rule::Import,
    )
    .unwrap();
    assert_eq!(s.tags, list[0]);
}
