//! Who is looking at a page, as the pages need it: the signed-in user's name, the CSRF token
//! the sign-in and sign-out forms repeat (from the `fg_csrf` cookie, or a new one the answer
//! sets), and whether cookies get `Secure` (the server is reached over HTTPS).

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::auth::caller::Caller;
use crate::auth::session::{self, CSRF_COOKIE, SESSION_COOKIE, Secret};
use crate::error::ApiError;
use crate::state::AppState;

/// The visitor of one page.
pub struct Visitor {
    /// The signed-in user's name (`None`: anonymous).
    pub user: Option<String>,
    /// The CSRF token of the forms.
    pub csrf: Secret,
    /// The token is new: the answer sets its cookie.
    pub new_csrf: bool,
    /// Cookies carry `Secure`.
    pub secure: bool,
}

impl Visitor {
    /// The visitor of `req`, as the admission middleware identified it.
    pub fn of(req: &HttpRequest, caller: &Caller, state: &AppState) -> Result<Self, ApiError> {
        let (csrf, new_csrf) = match presented_csrf(req) {
            Some(s) => (s, false),
            None => (Secret::generate()?, true),
        };
        Ok(Visitor {
            user: caller.user().map(|u| u.name.clone()),
            csrf,
            new_csrf,
            secure: is_https(req, state),
        })
    }

    /// The `Set-Cookie` values this page's answer carries.
    pub fn cookies(&self) -> Vec<String> {
        if self.new_csrf {
            vec![self.cookie(CSRF_COOKIE, self.csrf.expose(), None)]
        } else {
            vec![]
        }
    }

    /// A cookie only this site's own requests carry, never readable by a script.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(secs) = max_age {
            c.push_str(&format!("; Max-Age={secs}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }

    /// The session cookie for a new session of `ttl_secs`.
    pub fn session_cookie(&self, id: &Secret, ttl_secs: i64) -> String {
        self.cookie(SESSION_COOKIE, id.expose(), Some(ttl_secs))
    }

    /// The session cookie's removal.
    pub fn session_removal(&self) -> String {
        self.cookie(SESSION_COOKIE, "", Some(0))
    }
}

fn cookie_header(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::COOKIE)?.to_str().ok()
}

/// The CSRF token of the request's cookie, when it holds one of our shape.
pub fn presented_csrf(req: &HttpRequest) -> Option<Secret> {
    Secret::parse(session::cookie(cookie_header(req)?, CSRF_COOKIE)?)
}

/// The session id of the request's cookie, when it holds one of our shape.
pub fn presented_session(req: &HttpRequest) -> Option<Secret> {
    Secret::parse(session::cookie(cookie_header(req)?, SESSION_COOKIE)?)
}

/// Whether the visitor reaches the server over HTTPS. feedgate never terminates TLS: either
/// the configured public URL is `https://`, or a trusted proxy (`--trusted-proxies`, as for
/// the client address) says so in `X-Forwarded-Proto`. Anyone else's header is not believed.
pub fn is_https(req: &HttpRequest, state: &AppState) -> bool {
    if let Some(public) = &state.settings.public_url {
        return public.to_ascii_lowercase().starts_with("https://");
    }
    let from_trusted = req.peer_addr().is_some_and(|p| {
        state
            .settings
            .trusted_proxies
            .iter()
            .any(|t| t.contains(p.ip()))
    });
    from_trusted
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}
