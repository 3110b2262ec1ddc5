//! Reads credentials from request headers: `Authorization: Token token=T` (also `token="T"`),
//! `Token T`, `Bearer T`, `X-Api-Key: T`, and `Basic`: a user name and password on the token
//! route (the caller middleware decides), elsewhere a token as the password under any user
//! name (what TAXII clients send; a password not shaped like a token stays an unsupported
//! scheme there). Pure functions over header text, so every form is
//! unit-tested.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What a request presented, before any lookup.
#[derive(PartialEq, Eq)]
pub enum Presented {
    /// No credentials at all.
    None,
    /// A token string (not yet checked for shape).
    Token(String),
    /// HTTP Basic user name and password.
    Basic { username: String, password: String },
    /// An Authorization header we cannot read (unknown scheme, bad Basic encoding).
    Unsupported,
    /// `Authorization` and `X-Api-Key` carry different tokens.
    Conflicting,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Presented::None => "None",
            Presented::Token(_) => "Token(<redacted>)",
            Presented::Basic { .. } => "Basic(<redacted>)",
            Presented::Unsupported => "Unsupported",
            Presented::Conflicting => "Conflicting",
        };
        f.write_str(kind)
    }
}

/// Combines the two credential headers (their raw values, if present), reading `Basic` as a
/// user name and password.
pub fn presented(authorization: Option<&str>, api_key: Option<&str>) -> Presented {
    presented_for(authorization, api_key, true)
}

/// Combines the two credential headers; `Basic` is a user name and password when
/// `basic_login`, else the token it carries as its password (the user name is ignored), when
/// that password is shaped like one of our tokens.
pub fn presented_for(
    authorization: Option<&str>,
    api_key: Option<&str>,
    basic_login: bool,
) -> Presented {
    let from_auth = authorization
        .map(parse_authorization)
        .map(|found| match found {
            Presented::Basic { password, .. } if !basic_login => {
                match crate::auth::token::PlainToken::parse(&password) {
                    Some(_) => Presented::Token(password),
                    None => Presented::Unsupported,
                }
            }
            other => other,
        });
    let from_key = api_key.map(|k| k.trim().to_string());
    match (from_auth, from_key) {
        (None, None) => Presented::None,
        (None, Some(key)) => Presented::Token(key),
        (Some(auth), None) => auth,
        (Some(Presented::Token(a)), Some(key)) if a == key => Presented::Token(a),
        (Some(_), Some(_)) => Presented::Conflicting,
    }
}

/// Parses one `Authorization` header value.
pub fn parse_authorization(value: &str) -> Presented {
    let value = value.trim();
    let (scheme, rest) = match value.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r.trim()),
        None => (value, ""),
    };
    if scheme.eq_ignore_ascii_case("token") {
        // `Token token=T`, `Token token="T"`, or bare `Token T`.
        let token = match rest.split_once('=') {
            Some((key, v)) if key.trim().eq_ignore_ascii_case("token") => {
                v.trim().trim_matches('"').to_string()
            }
            _ => rest.to_string(),
        };
        return Presented::Token(token);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Presented::Token(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        return match decoded.as_deref().and_then(|s| s.split_once(':')) {
            Some((user, pass)) => Presented::Basic {
                username: user.to_string(),
                password: pass.to_string(),
            },
            None => Presented::Unsupported,
        };
    }
    Presented::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: &str = "fg_mRD0oOpERZ8o_4dFX2mHaCnDjeuT9ZCsHpemZmYaW2c";

    fn token(s: &str) -> Presented {
        Presented::Token(s.to_string())
    }

    #[test]
    fn the_original_form_is_read() {
        assert_eq!(presented(Some(&format!("Token token={T}")), None), token(T));
        assert_eq!(
            presented(Some(&format!("Token token=\"{T}\"")), None),
            token(T)
        );
        assert_eq!(
            presented(Some(&format!("token  TOKEN={T}")), None),
            token(T)
        );
    }

    #[test]
    fn the_bare_token_form_is_read() {
        assert_eq!(presented(Some(&format!("Token {T}")), None), token(T));
    }

    #[test]
    fn the_bearer_form_is_read() {
        assert_eq!(presented(Some(&format!("Bearer {T}")), None), token(T));
        assert_eq!(presented(Some(&format!("bearer {T}")), None), token(T));
    }

    #[test]
    fn the_api_key_header_is_read() {
        assert_eq!(presented(None, Some(T)), token(T));
        assert_eq!(presented(Some(&format!("Token {T}")), Some(T)), token(T));
    }

    #[test]
    fn two_different_tokens_conflict() {
        assert_eq!(
            presented(Some("Token token=a"), Some("b")),
            Presented::Conflicting
        );
    }

    #[test]
    fn the_sdk_none_token_is_a_token_not_anonymous() {
        assert_eq!(presented(Some("Token token=None"), None), token("None"));
    }

    #[test]
    fn basic_and_unknown_schemes() {
        let basic = format!("Basic {}", STANDARD.encode("alice:correct horse battery"));
        assert_eq!(
            presented(Some(&basic), None),
            Presented::Basic {
                username: "alice".into(),
                password: "correct horse battery".into()
            }
        );
        assert_eq!(presented(Some("Basic !!!"), None), Presented::Unsupported);
        // Anywhere but the token route the password is a token, whatever the user name.
        assert_eq!(
            presented_for(Some(&basic), None, false),
            Presented::Unsupported
        );
        let taxii = format!("Basic {}", STANDARD.encode(format!("x:{T}")));
        assert_eq!(presented_for(Some(&taxii), Some(T), false), token(T));
        assert_eq!(
            presented_for(Some("Basic !!!"), None, false),
            Presented::Unsupported
        );
        assert_eq!(presented(Some("Digest x"), None), Presented::Unsupported);
        assert_eq!(presented(None, None), Presented::None);
    }

    proptest! {
        #[test]
        fn no_header_value_panics(a in ".*", k in proptest::option::of(".*")) {
            let _ = presented(Some(&a), k.as_deref());
        }
    }
}
