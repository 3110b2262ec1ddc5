//! `GET /api/users/{user}/feeds/{feed}/stream` (issue 20): the feed's change log as
//! Server-Sent Events, one event per change (`id` = seq, `event` = op, `data` = the v1
//! indicator, or `{seq, op, id}` for deletes and expiries), a comment as heartbeat when idle.
//!
//! A stream starts after `Last-Event-ID` (or `since`), replaying from the change log, else
//! after the feed's latest change; then it waits on the gateway's `change_log::Watch`, which
//! notices writes made through any gateway within `--stream-poll-millis`, and reads the new
//! changes with `api::changes::load_page`, the same rules as `GET …/changes`. Each stream
//! holds a slot (`limits::streams`) and costs one request against the daily limit; access is
//! checked when it opens.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::api::changes::{ChangePage, EntryJson, load_page, parse_seq, start};
use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::query::QueryPairs;
use crate::api::urls;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::change_log::Following;
use crate::domain::viewer::Viewer;
use crate::error::ApiError;
use crate::limits::streams::StreamSlot;
use crate::models::change;
use crate::models::feed::FeedRow;
use crate::state::AppState;

/// Changes read per look.
const PAGE: i64 = 500;

/// GET …/stream: 200 `text/event-stream`; 400 (`since`, `Last-Event-ID`), 404, 410
/// `changes_expired`, 429 `too_many_streams`.
pub async fn stream_changes(
    state: web::Data<AppState>,
    caller: Caller,
    query: QueryPairs,
    path: web::Path<FeedPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = query.only(&["since"])?;
    let last_event = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{fffd}").trim().to_owned())
        .filter(|v| !v.is_empty());
    let since = match (&last_event, params.get("since")) {
        (Some(id), _) => Some(parse_seq("Last-Event-ID", id)?),
        (None, Some(s)) => Some(parse_seq("since", s)?),
        (None, None) => None,
    };
    let holder = match &caller {
        Caller::Anonymous { ip } => format!("address:{ip}"),
        other => format!("user:{}", other.user().map_or(0, |u| u.id)),
    };
    let slot = state.streams.take(holder)?;
    let viewer = access::viewer(&caller);
    let path = path.into_inner();
    let (owner, feed) = state
        .db
        .read(move |c| visible_feed(c, &path, &caller))
        .await?;
    // Followed before the start is read: a change committed in between moves the version.
    let following = state.change_watch.follow(feed.id);
    let feed_id = feed.id;
    let after = match since {
        Some(_) => start(&feed, since)?,
        None => {
            state
                .db
                .read(move |c| Ok::<_, ApiError>(change::last_of_feed(c, feed_id)?))
                .await?
        }
    };
    let stream = Stream {
        state: state.clone(),
        base: urls::base(&req, &state),
        heartbeat: Duration::from_secs(state.settings.stream_heartbeat_secs.max(1)),
        owner: owner.username,
        feed,
        viewer,
        after,
        seen: None,
        read_now: true,
        out: VecDeque::from([Bytes::from_static(
            b"retry: 2000\n: feedgate change stream\n\n",
        )]),
        following,
        _slot: slot,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Proxies (nginx) would otherwise hold the events back.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// One open stream.
struct Stream {
    state: web::Data<AppState>,
    base: String,
    heartbeat: Duration,
    owner: String,
    feed: FeedRow,
    viewer: Viewer,
    /// The last seq read.
    after: i64,
    /// The feed's version when the stream last read.
    seen: Option<i64>,
    /// Whether to read before waiting again.
    read_now: bool,
    /// Text ready to send.
    out: VecDeque<Bytes>,
    following: Following,
    _slot: StreamSlot,
}

impl Stream {
    /// The next piece of the body; `None` ends the stream (the server stopping, or the
    /// database failing, after which the client resumes with `Last-Event-ID`).
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                return Some(chunk);
            }
            if self.read_now {
                self.read_now = false;
                let page = self.read().await?;
                self.after = page.next;
                self.read_now = page.more;
                let text = events(&page, &self.base);
                if !text.is_empty() {
                    self.out.push_back(text);
                }
                continue;
            }
            match actix_web::rt::time::timeout(self.heartbeat, self.following.versions.changed())
                .await
            {
                Err(_) => return Some(Bytes::from_static(b": heartbeat\n\n")),
                Ok(Err(_)) => return None,
                Ok(Ok(())) => {
                    let version = self.following.version();
                    if version != self.seen {
                        self.seen = version;
                        self.read_now = true;
                    }
                }
            }
        }
    }

    async fn read(&self) -> Option<ChangePage> {
        let (feed, owner, viewer, after) = (
            self.feed.clone(),
            self.owner.clone(),
            self.viewer,
            self.after,
        );
        let max_bytes = self.state.settings.max_page_bytes;
        let read = self
            .state
            .db
            .read(move |c| load_page(c, &feed, &owner, viewer, after, (PAGE, max_bytes)))
            .await;
        match read {
            Ok(page) => Some(page),
            Err(e) => {
                tracing::warn!(error = %e, feed = self.feed.id, "a change stream could not read; it ends");
                None
            }
        }
    }
}

/// The page's changes as events (empty when it shows none).
fn events(page: &ChangePage, base: &str) -> Bytes {
    let mut text = String::new();
    for entry in &page.entries {
        let json = EntryJson { entry, page, base };
        let data = match json.indicator() {
            Some(indicator) => serde_json::to_string(&indicator),
            None => serde_json::to_string(&json),
        };
        let Ok(data) = data else { continue };
        text.push_str(&format!(
            "id: {}\nevent: {}\ndata: {data}\n\n",
            entry.seq,
            entry.op.as_str()
        ));
    }
    Bytes::from(text)
}
