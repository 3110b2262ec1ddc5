//! `POST /api/users/:user/feeds/:feed/indicators_bulk` (spec §6.6.6): up to 5,000 items,
//! validated first (any invalid item: 422 listing them, nothing written), then every item
//! applied in order in one transaction, then the quota for the values that were new (over it,
//! the whole request is rolled back).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::api::body::JsonRequest;
use crate::api::dto::indicator::{BulkRequest, IndicatorInput};
use crate::api::feed_path::{FeedPath, writable_feed};
use crate::api::indicator_write::{self, WriteContext};
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::caller::WriteCaller;
use crate::db::{Db, WriteTx};
use crate::domain::expiry::merged_expiry;
use crate::domain::merge::{MAX_COMMENTS, Rule, Sightings, comment_fits, replace_given};
use crate::domain::thing::Thing;
use crate::error::ApiError;
use crate::limits::quota;
use crate::models::change::{self, Op, Rows};
use crate::models::comment;
use crate::models::feed::{self, FeedRow};
use crate::models::indicator::{self, IndicatorChanges, IndicatorRow, NewIndicator};
use crate::models::user::UserRow;
use crate::state::AppState;

/// POST /api/users/{user}/feeds/{feed}/indicators_bulk: 200 with a per-item summary; 403, 404,
/// 422 (`validation_failed` with per-item errors, `quota_exceeded`); nothing is written on error.
pub async fn create_indicators_bulk(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<FeedPath>,
    payload: JsonRequest<BulkRequest>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = std::sync::Arc::new(path.into_inner());
    let mut rules = indicator_write::rules(&state);
    rules.attachments_allowed = false;
    let items = std::sync::Arc::new(payload.into_inner().parse(&rules)?);
    let listed = items.clone();
    let ctx = indicator_write::context(&state, &rules);
    let (now, defaults) = (ctx.now, ctx.defaults);
    let base = urls::base(&req, &state);
    let results = Db::upsert(&state.db, move |c| {
        let (owner, feed_row) = writable_feed(c, &path, &writer.0)?;
        let (out, new, expired) = apply_all(c, (&owner, &feed_row), writer.0.id, &items, &ctx)?;
        // After the insert, which tells how many values were new: over quota, the caller's
        // savepoint (SQLite) or transaction (PostgreSQL) is rolled back with everything above.
        quota::take_indicators(c, &owner, new, &defaults)?;
        let written = feed::add_indicators(c, feed_row.id, new, now)?;
        let (created, updated) = changed_ids(&out);
        change::append(c, &written, Op::Created, Rows::Ids(&created))?;
        change::append(c, &written, Op::Updated, Rows::Ids(&updated))?;
        change::append(c, &written, Op::Expired, Rows::Ids(&expired))?;
        Ok::<_, ApiError>((owner.username, feed_row.name, out))
    })
    .await?;
    let (owner, feed_name, rows) = results;
    let created = rows.iter().filter(|(_, c)| *c).count();
    state.metrics.indicators_written("created", created as u64);
    state
        .metrics
        .indicators_written("updated", (rows.len() - created) as u64);
    let value_name = if version == ApiVersion::V0 {
        "thing"
    } else {
        "indicator"
    };
    let location = format!("{base}/api/users/{owner}/feeds/{feed_name}/indicators/");
    Ok(version.ok(&Summary {
        created,
        value_name,
        location: &location,
        rows: &rows,
        items: &listed,
    }))
}

/// What [`apply_all`] did: per item its id and whether it created the value, how many values
/// were new, and the ids written already expired (`change::expired_at_write`).
type AppliedAll = (Vec<(i64, bool)>, i64, Vec<i64>);

/// The ids the request created and those it updated, each once in item order (a value
/// created by one item and merged by a later one is a creation only).
fn changed_ids(rows: &[(i64, bool)]) -> (Vec<i64>, Vec<i64>) {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    for (id, _) in rows.iter().filter(|(_, c)| *c) {
        if seen.insert(*id) {
            created.push(*id);
        }
    }
    for (id, _) in rows.iter().filter(|(_, c)| !*c) {
        if seen.insert(*id) {
            updated.push(*id);
        }
    }
    (created, updated)
}

/// The bulk answer, encoded straight from the rows: a `Value` object per item (six members
/// in an ordered map, a `String` each) was a fifth of a 1,000-item request's CPU.
struct Summary<'a> {
    created: usize,
    /// "thing" (v0) or "indicator" (v1).
    value_name: &'static str,
    /// The items' URL up to the id.
    location: &'a str,
    rows: &'a [(i64, bool)],
    items: &'a [(Thing, IndicatorInput)],
}

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("total", &self.rows.len())?;
        m.serialize_entry("created", &self.created)?;
        m.serialize_entry("updated", &(self.rows.len() - self.created))?;
        m.serialize_entry("indicators", &SummaryItems(self))?;
        m.end()
    }
}

struct SummaryItems<'a, 'b>(&'b Summary<'a>);

impl Serialize for SummaryItems<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let summary = self.0;
        let mut seq = s.serialize_seq(Some(summary.rows.len()))?;
        for (index, ((id, created), (thing, _))) in
            summary.rows.iter().zip(summary.items.iter()).enumerate()
        {
            seq.serialize_element(&SummaryItem {
                index,
                id: *id,
                value_name: summary.value_name,
                thing,
                created: *created,
                location: summary.location,
            })?;
        }
        seq.end()
    }
}

struct SummaryItem<'a> {
    index: usize,
    id: i64,
    value_name: &'static str,
    thing: &'a Thing,
    created: bool,
    location: &'a str,
}

impl Serialize for SummaryItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("index", &self.index)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry(self.value_name, self.thing.as_str())?;
        m.serialize_entry("itype", self.thing.itype().as_str())?;
        m.serialize_entry("status", if self.created { "created" } else { "updated" })?;
        m.serialize_entry("location", &Location(self.location, self.id))?;
        m.end()
    }
}

/// `{prefix}{id}`, written without building the string.
struct Location<'a>(&'a str, i64);

impl Serialize for Location<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}{}", self.0, self.1))
    }
}

/// Merges a later submission of a value into its row, new or stored, by `domain::merge`'s
/// `Rule::Api` (both row types have the same fields); on an error the row is as it was.
macro_rules! merge_into {
    ($row:expr, $input:expr, $now:expr, $renewed:expr) => {{
        let row = $row;
        let input: &IndicatorInput = $input;
        let mut merged = Sightings {
            firsttime: row.firsttime,
            lasttime: row.lasttime,
            count: row.count,
            // Lent to the merge and given back below, refused or not.
            tags: std::mem::take(&mut row.tags),
        };
        let result = merged.merge(&input.sighting(), Rule::Api);
        let effective_at = merged.effective_at(row.created_at);
        row.firsttime = merged.firsttime;
        row.lasttime = merged.lasttime;
        row.count = merged.count;
        row.tags = merged.tags;
        result.map(|_| {
            row.effective_at = effective_at;
            replace_given(&mut row.portlist, input.portlist.given());
            replace_given(&mut row.portlist_src, input.portlist_src.given());
            replace_given(&mut row.protocol, input.protocol.given());
            replace_given(&mut row.description, input.description.given());
            replace_given(&mut row.content, input.content.given());
            replace_given(&mut row.provider, input.provider.given());
            replace_given(&mut row.confidence, input.confidence.given());
            if let Some(tlp) = input.tlp.given() {
                row.tlp = Some(tlp.as_str().to_owned());
            }
            row.expires_at =
                merged_expiry(row.expires_at, input.expires_at.clone().change(), $renewed);
            row.updated_at = $now;
        })
    }};
}

/// Applies every item in array order as the create/upsert of spec §6.6.1, with a fixed number
/// of statements per request instead of per item: each distinct value is first built as a new
/// row with its later submissions merged in, and one multi-row INSERT stores those the feed
/// does not hold yet; the values it skipped are then read (one query), merged item by item
/// into their stored rows and updated (one UPDATE each); one multi-row INSERT adds the
/// comments. Returns `(id, created)` per item and how many values were new.
fn apply_all(
    c: &mut WriteTx<'_>,
    (owner, feed_row): (&UserRow, &FeedRow),
    author: i64,
    items: &[(Thing, IndicatorInput)],
    ctx: &WriteContext,
) -> Result<AppliedAll, ApiError> {
    let ctx = &ctx.for_feed(feed_row);
    let now = ctx.now;
    // Each item's distinct value (its index in `fresh`) and whether it is the value's first.
    let mut slot_of: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    let mut order: Vec<(usize, bool)> = Vec::with_capacity(items.len());
    let mut fresh: Vec<NewIndicator> = Vec::with_capacity(items.len());
    let mut comments: Vec<i64> = Vec::new();
    for (i, (thing, input)) in items.iter().enumerate() {
        let slot = match slot_of.get(thing.as_str()) {
            None => {
                let slot = fresh.len();
                let row = indicator_write::new_row((owner, feed_row), thing, input, ctx)
                    .map_err(|e| tags_error(e, i))?;
                slot_of.insert(thing.as_str(), slot);
                fresh.push(row);
                comments.push(0);
                order.push((slot, true));
                slot
            }
            Some(&slot) => {
                merge_into!(&mut fresh[slot], input, now, ctx.renewed(thing))
                    .map_err(|e| tags_error(e, i))?;
                order.push((slot, false));
                slot
            }
        };
        if input.comment.is_some() {
            comments[slot] += 1;
        }
    }
    for (row, n) in fresh.iter_mut().zip(&comments) {
        row.comments_count = (*n).min(MAX_COMMENTS);
    }
    let shared = indicator::Shared {
        feed_id: feed_row.id,
        user_id: owner.id,
        now,
    };
    let inserted: HashMap<String, i64> = indicator::insert_absent(c, &shared, &fresh)?
        .into_iter()
        .map(|(id, value)| (value, id))
        .collect();
    let new = inserted.len() as i64;
    // Per distinct value: its id, and the stored row when the feed already held it.
    let mut ids: Vec<i64> = fresh
        .iter()
        .map(|row| inserted.get(&row.value).copied().unwrap_or_default())
        .collect();
    let mut stored: HashMap<usize, IndicatorRow> = HashMap::new();
    if inserted.len() < fresh.len() {
        let skipped: Vec<String> = fresh
            .iter()
            .filter(|row| !inserted.contains_key(&row.value))
            .map(|row| row.value.clone())
            .collect();
        for row in indicator::find_api_values(c, feed_row.id, &skipped)? {
            if let Some(&slot) = slot_of.get(row.value.as_str()) {
                ids[slot] = row.id;
                stored.insert(slot, row);
            }
        }
        if stored.len() != skipped.len() {
            // Deleted by another transaction between the insert and the read (PostgreSQL
            // only; SQLite has one writer): run the whole request again.
            return Err(ApiError::Conflict);
        }
        for (i, (thing, input)) in items.iter().enumerate() {
            if let Some(row) = stored.get_mut(&order[i].0) {
                merge_into!(row, input, now, ctx.renewed(thing)).map_err(|e| tags_error(e, i))?;
            }
        }
    }
    // Comments in item order, each value capped at the per-indicator limit (an upsert drops
    // the excess); the new rows' counts were set above by the same rule.
    let mut counts: Vec<i64> = (0..fresh.len())
        .map(|slot| stored.get(&slot).map_or(0, |row| row.comments_count))
        .collect();
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    for (i, (_, input)) in items.iter().enumerate() {
        if let Some(text) = &input.comment {
            let slot = order[i].0;
            if comment_fits(counts[slot]) {
                counts[slot] += 1;
                rows.push((ids[slot], author, text.clone()));
            }
        }
    }
    for (slot, row) in &stored {
        let changes = IndicatorChanges {
            portlist: Some(row.portlist.clone()),
            portlist_src: Some(row.portlist_src.clone()),
            protocol: Some(row.protocol),
            firsttime: Some(row.firsttime),
            lasttime: Some(row.lasttime),
            effective_at: Some(row.effective_at),
            count: Some(row.count),
            description: Some(row.description.clone()),
            content: Some(row.content.clone()),
            provider: Some(row.provider.clone()),
            tags: Some(row.tags.clone()),
            comments_count: Some(counts[*slot]),
            updated_at: Some(now),
            confidence: Some(row.confidence),
            tlp: Some(row.tlp.clone()),
            expires_at: Some(row.expires_at),
        };
        indicator::update(c, row.id, &changes)?;
    }
    comment::insert_many(c, &rows, now)?;
    let out = order
        .iter()
        .map(|&(slot, first)| (ids[slot], first && !stored.contains_key(&slot)))
        .collect();
    // What the change log's expiry scan has looked past already (`change::expired_at_write`).
    let expired = fresh
        .iter()
        .enumerate()
        .filter(|(slot, row)| {
            let expires_at = stored.get(slot).map_or(row.expires_at, |r| r.expires_at);
            change::expired_at_write(expires_at, now)
        })
        .map(|(slot, _)| ids[slot])
        .collect();
    Ok((out, new, expired))
}

/// A tag error of item `index`, reported like a validation error of that item.
fn tags_error(e: crate::domain::DomainError, index: usize) -> ApiError {
    at_index(
        ApiError::invalid(format!("indicators[{index}].tags"), e.code, e.message),
        index,
    )
}

fn at_index(e: ApiError, index: usize) -> ApiError {
    match e {
        ApiError::Invalid(mut errors) => {
            for err in &mut errors {
                err.index = Some(index);
            }
            ApiError::InvalidItems {
                total: errors.len(),
                errors,
            }
        }
        other => other,
    }
}
