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

diesel::joinable!(api_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, api_tokens, server_meta);
