//! The diesel table definitions, written by hand so both backends share one portable schema
//! (only BigInt, Text, Binary, Bool and Timestamp columns). Keep in step with `migrations/`.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        disabled -> Bool,
        requests_per_day -> Nullable<BigInt>,
        max_private_feeds -> Nullable<BigInt>,
        max_public_feeds -> Nullable<BigInt>,
        max_indicators -> Nullable<BigInt>,
        private_feed_count -> BigInt,
        public_feed_count -> BigInt,
        indicator_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Binary,
        prefix -> Text,
        name -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    server_meta (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feeds (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        private -> Bool,
        license_name -> Text,
        license_url -> Nullable<Text>,
        indicator_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        kind -> Text,
        global -> Bool,
        max_prefix -> Nullable<Integer>,
        max_prefix6 -> Nullable<Integer>,
        lifetimes -> Nullable<Text>,
        version -> BigInt,
        changes_pruned_seq -> BigInt,
    }
}

diesel::table! {
    indicators (id) {
        id -> BigInt,
        feed_id -> BigInt,
        user_id -> BigInt,
        value -> Text,
        itype -> Text,
        ip_lo -> Nullable<Binary>,
        ip_hi -> Nullable<Binary>,
        host_rev -> Nullable<Binary>,
        portlist -> Nullable<Text>,
        portlist_src -> Nullable<Text>,
        protocol -> Nullable<BigInt>,
        firsttime -> Nullable<Timestamp>,
        lasttime -> Nullable<Timestamp>,
        effective_at -> Timestamp,
        count -> BigInt,
        description -> Nullable<Text>,
        content -> Nullable<Text>,
        provider -> Nullable<Text>,
        asn -> Nullable<BigInt>,
        asn_desc -> Nullable<Text>,
        cc -> Nullable<Text>,
        tags -> Text,
        import_key -> Nullable<Text>,
        comments_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        attachments_count -> BigInt,
        content_header -> Nullable<BigInt>,
        confidence -> Nullable<Double>,
        tlp -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
    }

}

diesel::table! {
    comments (id) {
        id -> BigInt,
        indicator_id -> BigInt,
        user_id -> BigInt,
        text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        indicator_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        filesize -> BigInt,
        sha1 -> Text,
        sha256 -> Text,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    daily_usage (subject, day) {
        subject -> Text,
        day -> Date,
        used -> BigInt,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> BigInt,
        session_hash -> Binary,
        token_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(web_sessions -> api_tokens (token_id));
diesel::joinable!(feeds -> users (user_id));
diesel::joinable!(indicators -> feeds (feed_id));
diesel::joinable!(comments -> indicators (indicator_id));
diesel::joinable!(comments -> users (user_id));
diesel::joinable!(attachments -> indicators (indicator_id));
diesel::table! {
    indicator_changes (seq) {
        seq -> BigInt,
        feed_id -> BigInt,
        indicator_id -> BigInt,
        op -> SmallInt,
        tlp -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::joinable!(indicator_changes -> feeds (feed_id));
diesel::allow_tables_to_appear_in_same_query!(
    indicator_changes,
    users,
    api_tokens,
    server_meta,
    feeds,
    indicators,
    comments,
    attachments,
    daily_usage,
    web_sessions
);

diesel::table! {
    import_files (id) {
        id -> BigInt,
        feed_id -> BigInt,
        name -> Text,
        sha256 -> Text,
        report_type -> Text,
        state -> Text,
        rows_read -> BigInt,
        rows_skipped -> Text,
        indicators_created -> BigInt,
        summary -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        source -> Text,
        started_by -> Nullable<Text>,
        report_date -> Nullable<Date>,
        indicators_updated -> BigInt,
        indicators_unchanged -> BigInt,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_reports (id) {
        id -> BigInt,
        feed_id -> BigInt,
        report_id -> Text,
        file_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(import_files -> feeds (feed_id));
diesel::joinable!(import_reports -> import_files (file_id));
diesel::allow_tables_to_appear_in_same_query!(import_files, import_reports, feeds);

diesel::table! {
    shadowserver_schedules (id) {
        id -> BigInt,
        feed_id -> BigInt,
        reports -> Text,
        types -> Text,
        interval_hours -> Integer,
        days_back -> Integer,
        enabled -> Bool,
        next_run_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    shadowserver_runs (id) {
        id -> BigInt,
        schedule_id -> BigInt,
        kind -> Text,
        state -> Text,
        lease_owner -> Text,
        lease_expires_at -> Timestamp,
        attempts -> Integer,
        date_from -> Date,
        date_to -> Date,
        reports_listed -> BigInt,
        reports_imported -> BigInt,
        reports_skipped -> BigInt,
        reports_failed -> BigInt,
        rows_read -> BigInt,
        errors -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(shadowserver_schedules -> feeds (feed_id));
diesel::joinable!(shadowserver_runs -> shadowserver_schedules (schedule_id));
diesel::allow_tables_to_appear_in_same_query!(shadowserver_schedules, shadowserver_runs, feeds);
diesel::allow_tables_to_appear_in_same_query!(shadowserver_schedules, users);

diesel::table! {
    content_headers (id) {
        id -> BigInt,
        digest -> Text,
        names -> Text,
    }
}

diesel::table! {
    ip_prefixes (bits) {
        bits -> BigInt,
    }
}
