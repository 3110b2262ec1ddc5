//! The admission middleware, before routing (spec §1.4 steps 1–4): `/api/health` and
//! `/metrics` pass untouched; then the burst limit of the presented token or the address (no
//! database work); then one blocking call that resolves the token and charges the day's
//! request to the user, or to the address for anonymous callers and failed credentials. A
//! spent budget is 429 (even for bad credentials); bad credentials are then 401. A counter
//! that cannot be updated refuses the request (503): limits fail closed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::auth::cache::may_change_credentials;
use crate::auth::cache::{Resolved, TokenCache};
use crate::auth::caller::{BasicCredentials, Caller};
use crate::auth::header::{Presented, presented_for};
use crate::auth::resolve::{accepts_basic, accepts_session, authenticate, is_unmetered};
use crate::auth::session;
use crate::auth::token::PlainToken;
use crate::clock::Clock;
use crate::db::{self, Db, DbConnection};
use crate::domain::hex::hex;
use crate::domain::limit::Limit;
use crate::domain::proxy::ProxyNet;
use crate::error::ApiError;
use crate::limits::address::client_address;
use crate::limits::burst::Burst;
use crate::limits::daily::Pending;
use crate::limits::daily::{self, Admission, DailyState};
use crate::metrics::Metrics;
use crate::models::daily::{address_subject, user_subject};

/// What the admission middleware works with, registered as app data of its own by the
/// application (which shares the same limiters, memory and database with the handlers).
pub struct Gate {
    pub db: Db,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub burst: Arc<Burst>,
    pub pending: Arc<Pending>,
    pub tokens: Arc<TokenCache>,
    pub trusted_proxies: Vec<ProxyNet>,
    /// The default daily limit of users without an override.
    pub requests_per_day: Limit,
    /// The daily budget of each anonymous address.
    pub anon_requests_per_day: Limit,
}

/// What the blocking call decided.
enum Outcome {
    Admitted(Caller, Option<DailyState>),
    /// Credentials failed (charged to the address, which still had budget).
    Rejected(ApiError, Option<DailyState>),
}

/// The middleware.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_unmetered(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let Some(state) = req.app_data::<web::Data<Gate>>().cloned() else {
        return Ok(req.error_response(ApiError::Internal(anyhow::anyhow!(
            "admission gate missing"
        ))));
    };
    let text = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{0}"))
    };
    let basic_ok = accepts_basic(req.path());
    let found = presented_for(
        text(header::AUTHORIZATION),
        text(header::HeaderName::from_static("x-api-key")),
        basic_ok,
    );
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let address = client_address(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        &state.trusted_proxies,
    );

    let now = state.clock.now();
    // The token's hash, computed once: the key of the gateway's memory and of the database.
    let token_hash = match &found {
        Presented::Token(text) => PlainToken::parse(text).and_then(|p| token_key(&p)),
        _ => None,
    };
    // A web page without credentials may carry a sign-in session's cookie: its id's hash is
    // remembered like a token's (both are SHA-256 of 32 random bytes, so they never collide).
    let session = match &found {
        Presented::None if accepts_session(req.path()) => session_key(&req),
        _ => None,
    };
    let key_hash = token_hash.or(session);
    // Burst: a token this gateway knows has a budget of its own; anything else (anonymous,
    // Basic, and tokens not yet resolved, junk included) spends its address's.
    // One look at the gateway's memory serves both the burst key and the admission below.
    let cached = key_hash.and_then(|hash| state.tokens.get(&hash, now).map(|r| (hash, r)));
    let known = cached.as_ref().map(|(hash, _)| *hash);
    let burst_key = match known {
        Some(hash) => burst_key_of(&hash),
        None => format!("a:{address}"),
    };
    if let Err(wait) = state.burst.check(&burst_key) {
        state.metrics.rate_limited("burst");
        return Ok(req.error_response(ApiError::BurstLimited { retry_after: wait }));
    }

    let in_memory = match &found {
        Presented::Token(_) => cached.and_then(|(_, resolved)| from_memory(&state, resolved, now)),
        Presented::None if session.is_some() => {
            cached.and_then(|(_, resolved)| from_memory(&state, resolved, now))
        }
        Presented::None => anonymous_from_memory(&state, &address, now),
        _ => None,
    };
    let outcome = match in_memory {
        Some(outcome) => Ok(outcome),
        None => {
            let st = state.clone();
            state
                .db
                .run(move |c| {
                    let presented = Credentials {
                        found,
                        token_hash,
                        session,
                    };
                    decide(c, &st, presented, &address, basic_ok, now)
                })
                .await
        }
    };
    // Only a request by an identified caller that succeeded can have changed a credential
    // (an anonymous `POST /api` cannot): only such a request forgets the tokens.
    let forgets = may_change_credentials(req.method(), req.path());
    match outcome {
        Err(e) => Ok(req.error_response(fail_closed(e))),
        Ok(Outcome::Rejected(err, headers)) => {
            if matches!(err, ApiError::RateLimited { .. }) {
                state
                    .metrics
                    .rate_limited(if req.headers().get(header::AUTHORIZATION).is_some() {
                        "daily"
                    } else {
                        "anonymous"
                    });
            }
            let mut res = req.error_response(err);
            if let Some(h) = headers {
                h.write(res.headers_mut());
            }
            Ok(res)
        }
        Ok(Outcome::Admitted(caller, headers)) => {
            // A token seen for the first time spent its address's burst; once it proved valid
            // the request counts in its own bucket too, so that bucket holds from its first
            // request on (junk never gets a bucket: the limiter's memory stays bounded).
            if let (Caller::User(_), Some(hash), None) = (&caller, key_hash, known) {
                let _ = state.burst.check(&burst_key_of(&hash));
            }
            let identified = !matches!(caller, Caller::Anonymous { .. });
            req.extensions_mut().insert(caller);
            let res = next.call(req).await;
            let succeeded = res.as_ref().is_ok_and(|r| r.status().is_success());
            if forgets && identified && succeeded {
                // Before the answer leaves: a token revoked or a user changed through this
                // gateway must not be admitted from memory afterwards.
                state.tokens.forget_all();
                state.metrics.token_memory_forgotten();
            }
            let mut res = res?.map_into_boxed_body();
            if let Some(h) = headers {
                h.write(res.headers_mut());
            }
            Ok(res)
        }
    }
}

/// A counter that cannot be read or updated refuses the request: 503 `database_unavailable`
/// (spec §4.1), whatever the database said.
fn fail_closed(e: ApiError) -> ApiError {
    match e {
        ApiError::Internal(inner) | ApiError::Unavailable(inner) => ApiError::Unavailable(inner),
        ApiError::DatabaseBusy | ApiError::QueryTimeout => {
            ApiError::Unavailable(anyhow::anyhow!("the request counter could not be updated"))
        }
        other => other,
    }
}

fn refused(state: DailyState, now: chrono::NaiveDateTime) -> ApiError {
    ApiError::RateLimited {
        limit: state.limit,
        reset: state.reset,
        retry_after: Duration::from_secs(state.retry_after(now) as u64),
    }
}

/// What a request presented: its credential header, a token's hash, and a sign-in session's
/// hash (a web page without credentials).
struct Credentials {
    found: Presented,
    token_hash: Option<[u8; 32]>,
    session: Option<[u8; 32]>,
}

/// Resolves the credentials and charges the request, in one connection checkout.
fn decide(
    c: &mut DbConnection,
    state: &Gate,
    presented: Credentials,
    address: &str,
    basic_ok: bool,
    now: chrono::NaiveDateTime,
) -> Result<Outcome, ApiError> {
    let Credentials {
        found,
        token_hash,
        session,
    } = presented;
    let anon_limit = state.anon_requests_per_day;
    let charge_address = |c: &mut DbConnection| {
        daily::charge(
            c,
            &address_subject(address),
            anon_limit,
            now,
            &state.pending,
        )
    };
    // Failed credentials are charged to the address: a spent budget answers 429 first.
    let reject = |c: &mut DbConnection, err: ApiError| -> Result<Outcome, ApiError> {
        match charge_address(c)? {
            Admission::Refused(s) => Ok(Outcome::Rejected(refused(s, now), Some(s))),
            Admission::Admitted(s) => Ok(Outcome::Rejected(err, s)),
        }
    };
    // A session that ended (signed out, expired, its token revoked) is no error on a page:
    // the visitor reads as anonymous.
    if let (Presented::None, Some(hash)) = (&found, session) {
        let generation = state.tokens.generation();
        match session::resolve(c, &hash, now) {
            Ok(resolved) => return charge_user(c, state, hash, resolved, generation, now),
            Err(ApiError::InvalidToken | ApiError::TokenExpired | ApiError::AccountDisabled) => {}
            Err(other) => return Err(other),
        }
    }
    match found {
        Presented::None => match charge_address(c)? {
            Admission::Refused(s) => Ok(Outcome::Rejected(refused(s, now), Some(s))),
            Admission::Admitted(s) => Ok(Outcome::Admitted(
                Caller::Anonymous {
                    ip: address.to_string(),
                },
                s,
            )),
        },
        Presented::Basic { username, password } if basic_ok => match charge_address(c)? {
            Admission::Refused(s) => Ok(Outcome::Rejected(refused(s, now), Some(s))),
            Admission::Admitted(s) => Ok(Outcome::Admitted(
                Caller::Basic(BasicCredentials { username, password }),
                s,
            )),
        },
        Presented::Basic { .. } | Presented::Unsupported => {
            reject(c, ApiError::UnsupportedAuthScheme)
        }
        Presented::Conflicting => reject(c, ApiError::ConflictingCredentials),
        Presented::Token(_) => {
            // No hash: the text is not a token at all.
            let Some(hash) = token_hash else {
                return reject(c, ApiError::InvalidToken);
            };
            let generation = state.tokens.generation();
            let resolved = match authenticate(c, &hash, now) {
                Ok(found) => found,
                Err(
                    e @ (ApiError::InvalidToken
                    | ApiError::TokenExpired
                    | ApiError::AccountDisabled),
                ) => return reject(c, e),
                Err(other) => return Err(other),
            };
            charge_user(c, state, hash, resolved, generation, now)
        }
    }
}

/// Remembers what the database said of a token (or session) under `hash` and charges the
/// request to its user.
fn charge_user(
    c: &mut DbConnection,
    state: &Gate,
    hash: [u8; 32],
    resolved: Resolved,
    generation: u64,
    now: chrono::NaiveDateTime,
) -> Result<Outcome, ApiError> {
    let limit = Limit::effective(resolved.requests_per_day, state.requests_per_day);
    let subject = user_subject(resolved.user.id);
    let user = resolved.user.clone();
    state.tokens.put(hash, resolved, generation);
    match daily::charge(c, &subject, limit, now, &state.pending)? {
        Admission::Refused(s) => Ok(Outcome::Rejected(refused(s, now), Some(s))),
        Admission::Admitted(s) => Ok(Outcome::Admitted(Caller::User(user), s)),
    }
}

/// The hash of the sign-in session id in the request's cookie, when it holds one of our shape.
fn session_key(req: &ServiceRequest) -> Option<[u8; 32]> {
    let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
    session::Secret::parse(session::cookie(header, session::SESSION_COOKIE)?).map(|s| s.hash())
}

/// Admits or refuses a token holder without the database: the token is in the gateway's
/// memory (`auth::cache`) and the day's charge can be served in memory (unlimited, or from
/// a lease). `None` sends the request to [`decide`].
fn from_memory(state: &Gate, resolved: Resolved, now: chrono::NaiveDateTime) -> Option<Outcome> {
    let limit = Limit::effective(resolved.requests_per_day, state.requests_per_day);
    let subject = user_subject(resolved.user.id);
    Some(match charge_and_renew(state, subject, limit, now)? {
        Admission::Refused(s) => Outcome::Rejected(refused(s, now), Some(s)),
        Admission::Admitted(s) => Outcome::Admitted(Caller::User(resolved.user), s),
    })
}

/// Admits or refuses an anonymous request from its address's lease, as [`from_memory`] does
/// for tokens: an anonymous search costs no trip to the database either.
fn anonymous_from_memory(
    state: &Gate,
    address: &str,
    now: chrono::NaiveDateTime,
) -> Option<Outcome> {
    let limit = state.anon_requests_per_day;
    Some(
        match charge_and_renew(state, address_subject(address), limit, now)? {
            Admission::Refused(s) => Outcome::Rejected(refused(s, now), Some(s)),
            Admission::Admitted(s) => Outcome::Admitted(
                Caller::Anonymous {
                    ip: address.to_string(),
                },
                s,
            ),
        },
    )
}

/// Charges the request in memory and, when the subject's lease runs low, renews it in the
/// background (`daily::renew`), so the requests after it are served from memory too.
fn charge_and_renew(
    state: &Gate,
    subject: String,
    limit: Limit,
    now: chrono::NaiveDateTime,
) -> Option<Admission> {
    let admission = daily::charge_in_memory(&subject, limit, now, &state.pending)?;
    if let (Admission::Admitted(Some(_)), Some(n)) = (&admission, limit.0)
        && state.pending.renewal_due(&subject, now.date())
    {
        let (db, pending) = (state.db.clone(), state.pending.clone());
        actix_web::rt::spawn(async move {
            let renewal = db
                .run(move |c| {
                    daily::renew(c, &subject, n, now, &pending).map_err(db::RunError::from)
                })
                .await;
            // Nothing waits for it: the lease's end is counted as before if it failed.
            if let Err(e) = renewal {
                tracing::warn!(error = %e, "renewing a request lease failed");
            }
        });
    }
    Some(admission)
}

/// A known token's burst bucket: its hash's first 8 bytes are enough to tell tokens apart.
fn burst_key_of(hash: &[u8; 32]) -> String {
    format!("t:{}", hex(&hash[..8]))
}

/// A token's SHA-256 as a fixed-size key (always 32 bytes).
fn token_key(plain: &PlainToken) -> Option<[u8; 32]> {
    <[u8; 32]>::try_from(plain.hash().0).ok()
}
