//! `POST /api/users/:user/feeds/:feed/indicators_bulk` (spec §6.6.6): up to 5,000 items,
//! validated first (any invalid item: 422 listing them, nothing written), then the quota for
//! the distinct new values, then every item applied in order in one transaction.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::api::body::JsonBody;
use crate::api::feeds::{FeedPath, writable_feed};
use crate::api::indicator_body::{self, IndicatorInput};
use crate::api::indicators::{self, WriteContext, value_of, write_with_retry};
use crate::api::query::NoParams;
use crate::api::representation::ApiVersion;
use crate::api::urls;
use crate::auth::caller::WriteCaller;
use crate::domain::thing::Thing;
use crate::error::{ApiError, FieldError};
use crate::limits::quota;
use crate::models::{feed, indicator};
use crate::startup::AppState;

/// At most this many items per request.
pub const MAX_ITEMS: usize = 5000;
/// At most this many item errors are listed (`details.error_count` has the total).
const MAX_LISTED_ERRORS: usize = 100;

/// POST /api/users/{user}/feeds/{feed}/indicators_bulk: 200 with a per-item summary; 403, 404,
/// 422 (`validation_failed` with per-item errors, `quota_exceeded`); nothing is written on error.
pub async fn create_indicators_bulk(
    state: web::Data<AppState>,
    version: ApiVersion,
    writer: WriteCaller,
    _: NoParams,
    path: web::Path<FeedPath>,
    payload: JsonBody,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = std::sync::Arc::new(path.into_inner());
    let mut rules = indicators::rules(&state);
    rules.attachments_allowed = false;
    let items = std::sync::Arc::new(parse_items(payload.into_inner(), &rules)?);
    let listed = items.clone();
    let ctx = WriteContext {
        now: rules.now,
        defaults: state.settings.default_limits(),
        quota_prepaid: true,
        feed_counted: true,
    };
    let base = urls::base(&req, &state);
    let results = write_with_retry(&state, move |c| {
        let (owner, feed_row) = writable_feed(c, &path, &writer.0)?;
        let distinct: Vec<String> = {
            let mut seen = HashSet::new();
            items
                .iter()
                .map(|(t, _)| t.as_str().to_string())
                .filter(|v| seen.insert(v.clone()))
                .collect()
        };
        let existing = indicator::find_api_values(c, feed_row.id, &distinct)?.len() as i64;
        let new = distinct.len() as i64 - existing;
        quota::take_indicators(c, &owner, new, &ctx.defaults)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, (thing, input)) in items.iter().enumerate() {
            let prefix = format!("indicators[{i}]");
            let applied = indicators::apply(
                c,
                (&owner, &feed_row),
                &writer.0,
                thing,
                input.clone(),
                &ctx,
                &prefix,
            )
            .map_err(|e| at_index(e, i))?;
            out.push((applied.row.id, applied.created));
        }
        feed::add_indicators(c, feed_row.id, new, ctx.now)?;
        Ok((owner.username, feed_row.name, out))
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
    let summary: Vec<Value> = rows
        .iter()
        .zip(listed.iter())
        .enumerate()
        .map(|(i, ((id, was_created), (thing, _)))| {
            let mut o = Map::new();
            o.insert("index".into(), json!(i));
            o.insert("id".into(), json!(id));
            o.insert(value_name.into(), json!(thing.as_str()));
            o.insert("itype".into(), json!(thing.itype().as_str()));
            o.insert(
                "status".into(),
                json!(if *was_created { "created" } else { "updated" }),
            );
            o.insert(
                "location".into(),
                json!(format!(
                    "{base}/api/users/{owner}/feeds/{feed_name}/indicators/{id}"
                )),
            );
            Value::Object(o)
        })
        .collect();
    Ok(version.ok(&json!({
        "total": rows.len(),
        "created": created,
        "updated": rows.len() - created,
        "indicators": summary,
    })))
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

/// Validates every item; all problems are reported together.
fn parse_items(
    payload: Value,
    rules: &indicator_body::Rules,
) -> Result<Vec<(Thing, IndicatorInput)>, ApiError> {
    if payload.is_null() {
        return Err(ApiError::invalid(
            "indicators",
            "empty",
            "the body is empty: send {\"indicators\": [...]}",
        ));
    }
    let Value::Object(map) = payload else {
        return Err(ApiError::invalid(
            "",
            "invalid_type",
            "the body must be a JSON object",
        ));
    };
    let items = match map.get("indicators") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                "indicators",
                "required",
                "a list of indicators is required",
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "indicators",
                "invalid_type",
                "must be an array",
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid(
            "indicators",
            "empty",
            "at least one indicator is required",
        ));
    }
    if items.len() > MAX_ITEMS {
        return Err(ApiError::invalid(
            "indicators",
            "too_many_items",
            format!("at most {MAX_ITEMS} indicators per request"),
        ));
    }
    let mut all_errors: Vec<FieldError> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("indicators[{i}]");
        let mut errors = Vec::new();
        let input = indicator_body::read(item, &prefix, rules, &mut errors);
        let field = if matches!(item.get("indicator"), Some(Value::Object(_))) {
            format!("{prefix}.indicator.thing")
        } else {
            format!("{prefix}.thing")
        };
        let thing = if errors.is_empty() {
            match value_of(&input, &field) {
                Ok(t) => Some(t),
                Err(ApiError::Invalid(mut e)) => {
                    errors.append(&mut e);
                    None
                }
                Err(other) => return Err(other),
            }
        } else {
            None
        };
        for mut e in errors {
            e.index = Some(i);
            all_errors.push(e);
        }
        if let Some(thing) = thing {
            out.push((thing, input));
        }
    }
    if !all_errors.is_empty() {
        let total = all_errors.len();
        all_errors.truncate(MAX_LISTED_ERRORS);
        return Err(ApiError::InvalidItems {
            errors: all_errors,
            total,
        });
    }
    Ok(out)
}
