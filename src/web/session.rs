//! Signing in and out of the web pages: `GET /signin` shows the form where a visitor pastes a
//! token, `POST /signin` checks it and starts a session (`auth::session`: a random id in an
//! HttpOnly, SameSite=Strict cookie, `Secure` over HTTPS; only its hash in the database),
//! `POST /signout` ends it. Both forms carry the CSRF token of the `fg_csrf` cookie (double
//! submit), checked here before anything else: a form posted from another site is refused.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use crate::api::query::{NoParams, QueryPairs};
use crate::auth::caller::Caller;
use crate::auth::session::{self, SESSION_TTL, Secret};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::layout;
use crate::web::visitor::{Visitor, presented_csrf, presented_session};

/// The largest sign-in or sign-out form body: a token and a CSRF token fit many times over.
const MAX_FORM_BYTES: usize = 4096;

/// GET /signin: 200, the sign-in form.
pub async fn show_signin_page(
    state: web::Data<AppState>,
    caller: Caller,
    _: NoParams,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let visitor = Visitor::of(&req, &caller, &state)?;
    Ok(signin_form(&visitor, StatusCode::OK, None))
}

fn signin_form(visitor: &Visitor, status: StatusCode, problem: Option<&str>) -> HttpResponse {
    let body = html! {
        @if let Some(p) = problem { div class="error" role="alert" { p { (p) } } }
        p { "Paste one of your API tokens to also see your own private feeds. The token is checked once and not kept in your browser: a session cookie stands for it until you sign out, for 12 hours at most." }
        form method="post" action="/signin" {
            input type="hidden" name="csrf" value=(visitor.csrf.expose());
            p {
                label for="token" { "API token" } br;
                input id="token" type="password" name="token" autocomplete="off" required size="50" maxlength="128";
            }
            button type="submit" { "Sign in" }
        }
    };
    layout::respond(
        status,
        Some(visitor),
        layout::page("Sign in", Some(visitor), body),
    )
}

/// The fields of a posted form (`application/x-www-form-urlencoded`, the encoding of a
/// query string); 413 when the body is too large, 400 when it is not a form.
fn form_fields(body: &[u8]) -> Result<QueryPairs, ApiError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_FORM_BYTES,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::InvalidParameter {
        parameter: String::new(),
        message: "the form is not UTF-8".into(),
    })?;
    QueryPairs::parse(text)
}

/// The double-submit check: the form's `csrf` must be the `fg_csrf` cookie's token; 403
/// otherwise (a form from another site cannot read the cookie, nor set it).
fn check_csrf(req: &HttpRequest, fields: &QueryPairs) -> Result<(), ApiError> {
    let cookie = presented_csrf(req);
    let form = fields.value("csrf");
    match (cookie, form) {
        (Some(c), Some(f)) if c.matches(f) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "the form's CSRF token is missing or does not match: reload the page and try again",
        )),
    }
}

/// A posted form whose CSRF token checked out, and its visitor.
fn checked_form(
    req: &HttpRequest,
    caller: &Caller,
    state: &AppState,
    body: &[u8],
) -> Result<(QueryPairs, Visitor), ApiError> {
    let fields = form_fields(body)?;
    check_csrf(req, &fields)?;
    Ok((fields, Visitor::of(req, caller, state)?))
}

/// POST /signin: 303 to `/` with the session cookie; 403 without the CSRF token; 401 with
/// the form again when the token is not valid (unknown, revoked, expired, user disabled).
pub async fn sign_in(
    state: web::Data<AppState>,
    caller: Caller,
    _: NoParams,
    body: web::Bytes,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (fields, visitor) = checked_form(&req, &caller, &state, &body)?;
    let token = fields.value("token").unwrap_or_default().to_string();
    let id = Secret::generate()?;
    let hash = id.hash();
    let now = state.clock.now();
    let signed_in = state
        .db
        .write(move |c| session::sign_in(c, &token, &hash, now))
        .await;
    match signed_in {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .insert_header((
                header::SET_COOKIE,
                visitor.session_cookie(&id, SESSION_TTL.num_seconds()),
            ))
            .finish()),
        Err(ApiError::InvalidToken | ApiError::TokenExpired | ApiError::AccountDisabled) => {
            Ok(signin_form(
                &visitor,
                StatusCode::UNAUTHORIZED,
                Some(
                    "That token is not valid (unknown, revoked or expired), or its account is disabled.",
                ),
            ))
        }
        Err(other) => Err(other),
    }
}

/// POST /signout: 303 to `/`, the session ended and its cookie removed; 403 without the CSRF
/// token.
pub async fn sign_out(
    state: web::Data<AppState>,
    caller: Caller,
    _: NoParams,
    body: web::Bytes,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (_, visitor) = checked_form(&req, &caller, &state, &body)?;
    if let Some(id) = presented_session(&req) {
        let hash = id.hash();
        state.db.write(move |c| session::sign_out(c, &hash)).await?;
        // This gateway forgets it at once (others within their memory's second).
        state.tokens.forget_all();
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .insert_header((header::SET_COOKIE, visitor.session_removal()))
        .finish())
}
