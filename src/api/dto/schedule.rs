//! Scheduled pull bodies (issue 21): create (`user` and `feed` required) and update (the
//! rest). `reports` are the subscriber's report list names, `types` report types (empty: all),
//! `interval_hours` how often (daily by default), `days_back` how many days before today a run
//! lists, `next_run_at` when it is next due (default: at once), `enabled`.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;
use validator::{Validate, ValidationError};

use super::{Field, Problems, Request, domain_error, typed};
use crate::domain::time::parse_time;
use crate::error::{ApiError, FieldError};
use crate::import::shadowserver::normalise_type;

/// The most report list names or types a schedule holds.
const MAX_NAMES: usize = 100;

/// The members in the order their problems are reported.
const FIELDS: &[&str] = &[
    "user",
    "feed",
    "reports",
    "types",
    "interval_hours",
    "days_back",
    "next_run_at",
    "enabled",
];

/// A schedule body; create requires `user` and `feed`, update refuses them.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub struct ScheduleRequest {
    #[validate(
        custom(function = typed),
        length(min = 1, max = 64, code = "invalid_format", message = "1-64 characters")
    )]
    pub user: Field<String>,
    #[validate(
        custom(function = typed),
        length(min = 1, max = 255, code = "invalid_format", message = "1-255 characters")
    )]
    pub feed: Field<String>,
    #[validate(
        custom(function = typed, message = "must be an array of strings"),
        custom(function = list_names, code = "invalid_format",
               message = "at most 100 names of 1-200 printable characters")
    )]
    pub reports: Field<Vec<Value>>,
    #[validate(
        custom(function = typed, message = "must be an array of strings"),
        custom(function = type_names, code = "invalid_format",
               message = "at most 100 report types of a-z, 0-9 and '_'")
    )]
    pub types: Field<Vec<Value>>,
    #[validate(
        custom(function = typed),
        range(min = 1, max = 720, code = "out_of_range", message = "must be 1-720")
    )]
    pub interval_hours: Field<i64>,
    #[validate(
        custom(function = typed),
        range(min = 0, max = 30, code = "out_of_range", message = "must be 0-30")
    )]
    pub days_back: Field<i64>,
    #[validate(custom(function = typed))]
    pub next_run_at: Field<String>,
    #[validate(custom(function = typed))]
    pub enabled: Field<bool>,
}

impl Request for ScheduleRequest {
    const WRAPPER: &'static str = "schedule";
    const FIELDS: &'static [&'static str] = FIELDS;
}

fn strings(items: &[Value]) -> Option<Vec<&str>> {
    items.iter().map(Value::as_str).collect()
}

fn list_names(f: &Field<Vec<Value>>) -> Result<(), ValidationError> {
    let Some(items) = f.value() else {
        return Ok(());
    };
    let ok = items.len() <= MAX_NAMES
        && strings(items).is_some_and(|names| {
            names
                .iter()
                .all(|n| (1..=200).contains(&n.chars().count()) && !n.chars().any(char::is_control))
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("invalid_format"))
    }
}

fn type_names(f: &Field<Vec<Value>>) -> Result<(), ValidationError> {
    let Some(items) = f.value() else {
        return Ok(());
    };
    let ok = items.len() <= MAX_NAMES
        && strings(items).is_some_and(|names| names.iter().all(|n| normalise_type(n).is_some()));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("invalid_format"))
    }
}

/// A parsed create body.
#[derive(Debug, Clone)]
pub struct NewScheduleInput {
    pub user: String,
    pub feed: String,
    pub reports: Vec<String>,
    pub types: Vec<String>,
    pub interval_hours: i32,
    pub days_back: i32,
    pub next_run_at: Option<NaiveDateTime>,
    pub enabled: bool,
}

/// A parsed update body (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct SchedulePatch {
    pub reports: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub interval_hours: Option<i32>,
    pub days_back: Option<i32>,
    pub next_run_at: Option<NaiveDateTime>,
    pub enabled: Option<bool>,
}

impl ScheduleRequest {
    /// Reads a create body: `user` and `feed` are required.
    pub fn parse_new(body: Value) -> Result<NewScheduleInput, ApiError> {
        let (r, mut problems) = Self::read(body)?;
        for (field, value) in [("user", &r.user), ("feed", &r.feed)] {
            if value.text().is_none() && !problems.has(field) {
                problems.push(FieldError::new(field, "required", "is required"));
            }
        }
        let patch = r.patch(&mut problems);
        problems.check()?;
        Ok(NewScheduleInput {
            user: r.user.text().unwrap_or_default().to_lowercase(),
            feed: r.feed.text().unwrap_or_default().to_lowercase(),
            reports: patch.reports.unwrap_or_default(),
            types: patch.types.unwrap_or_default(),
            interval_hours: patch.interval_hours.unwrap_or(24),
            days_back: patch.days_back.unwrap_or(2),
            next_run_at: patch.next_run_at,
            enabled: patch.enabled.unwrap_or(true),
        })
    }

    /// Reads an update body: `user` and `feed` cannot change (delete and create instead).
    pub fn parse_patch(body: Value) -> Result<SchedulePatch, ApiError> {
        let (r, mut problems) = Self::read(body)?;
        for (field, value) in [("user", &r.user), ("feed", &r.feed)] {
            if !matches!(value, Field::Absent) && !problems.has(field) {
                problems.push(FieldError::new(
                    field,
                    "read_only",
                    "cannot change; delete the schedule and create another",
                ));
            }
        }
        let patch = r.patch(&mut problems);
        problems.check()?;
        Ok(patch)
    }

    /// The members every body shares, for those that passed their rules.
    fn patch(&self, problems: &mut Problems) -> SchedulePatch {
        let names = |f: &Field<Vec<Value>>, normalise: bool| {
            f.value().and_then(|items| strings(items)).map(|names| {
                names
                    .iter()
                    .map(|n| {
                        if normalise {
                            normalise_type(n).unwrap_or_default()
                        } else {
                            (*n).to_string()
                        }
                    })
                    .collect::<Vec<String>>()
            })
        };
        let next_run_at = match self.next_run_at.text() {
            Some(t) if !problems.has("next_run_at") => match parse_time(t) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(domain_error("next_run_at", e));
                    None
                }
            },
            _ => None,
        };
        let small = |v: Option<&i64>| v.and_then(|v| i32::try_from(*v).ok());
        SchedulePatch {
            reports: names(&self.reports, false).or_else(|| self.reports.is_null().then(Vec::new)),
            types: names(&self.types, true).or_else(|| self.types.is_null().then(Vec::new)),
            interval_hours: small(self.interval_hours.value()),
            days_back: small(self.days_back.value()),
            next_run_at,
            enabled: self.enabled.value().copied(),
        }
    }
}

impl<T> Field<T> {
    /// Whether the member was sent as `null`.
    fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dto::test_support::{one, problems};
    use serde_json::json;

    #[test]
    fn a_schedule_needs_a_user_and_a_feed_and_has_daily_defaults() {
        let s = ScheduleRequest::parse_new(json!({"user": "Alice", "feed": "scans"})).unwrap();
        assert_eq!(
            (s.user.as_str(), s.interval_hours, s.days_back, s.enabled),
            ("alice", 24, 2, true)
        );
        assert!(s.reports.is_empty() && s.types.is_empty() && s.next_run_at.is_none());
        assert_eq!(
            problems(ScheduleRequest::parse_new(json!({"feed": "scans"}))),
            one("user", "required")
        );
    }

    #[test]
    fn members_are_checked_in_order() {
        let got = problems(ScheduleRequest::parse_new(json!({
            "user": "a", "feed": "f", "reports": [1], "types": ["scan-smb"],
            "interval_hours": 0, "days_back": 31, "next_run_at": "soon", "enabled": "yes"
        })));
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "reports",
                "types",
                "interval_hours",
                "days_back",
                "next_run_at",
                "enabled"
            ]
        );
        assert_eq!(
            problems(ScheduleRequest::parse_patch(json!({"user": "bob"}))),
            one("user", "read_only")
        );
        let p =
            ScheduleRequest::parse_patch(json!({"types": ["SCAN_SMB"], "reports": null})).unwrap();
        assert_eq!(p.types.unwrap(), ["scan_smb"]);
        assert_eq!(p.reports.unwrap(), Vec::<String>::new());
    }
}
