//! One import batch applied in one write transaction (spec `shadowserver.md` §4.2, §4.5): the
//! feed locked, the owner's quota read ([`ImportAllowance`]), the stored indicators of the
//! batch's keys looked up (one query per chunk), the rows merged into them in memory in file
//! order by [`crate::domain::merge`]'s `Rule::Import`, and the new and changed indicators
//! written with `models::indicator::upsert_imported`. Unchanged rows cause no write. This
//! module is the glue between the engine's rows and those functions: the merge rules are
//! `domain::merge`'s, the statements `models/`'s.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::time::Stamp;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::expiry::{Lifetimes, ReportLifetimes};
use crate::domain::limit::Limit;
use crate::domain::merge::{Details, Outcome, Rule, Sighting, Sightings};
use crate::import::pipeline::Item;
use crate::import::shadowserver::{FileSummary, MappedRow, RowSkip, SkipReason};
use crate::limits::quota::ImportAllowance;
use crate::models::change::{self, Op, Rows};
use crate::models::indicator::{self, InsertRow};
use crate::models::stored_copy::{HeaderId, StoredCopy};
use crate::models::{feed, import, import_batch};

/// Where an import writes: the feed and its owner, whose indicator quota it draws on.
#[derive(Debug, Clone)]
pub struct Target {
    /// The owner of the feed.
    pub owner_id: i64,
    /// The feed.
    pub feed_id: i64,
    /// The server's default indicator quota (the owner's override, read in each batch, wins).
    pub default_indicator_limit: Limit,
    /// How long a written indicator lives from the import on (a later report renews it): per
    /// indicator type, unless `report_lifetimes` names the report type ([`Target::for_report`]).
    pub lifetimes: Lifetimes,
    /// The lifetimes of the report types that have their own (`--report-lifetimes`).
    pub report_lifetimes: ReportLifetimes,
}

impl Target {
    /// The target for the rows of one report type: its lifetime, when it has one, for every
    /// indicator type.
    pub fn for_report(&self, report_type: &str) -> Target {
        Target {
            lifetimes: self.report_lifetimes.apply(report_type, self.lifetimes),
            ..self.clone()
        }
    }
}

/// What one committed batch did, row by row.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    created: u64,
    updated: u64,
    unchanged: u64,
    /// Rows (by position in the batch) skipped because the quota was full.
    quota_skipped: Vec<usize>,
}

impl BatchOutcome {
    /// Adds the batch to the file's entry: outcomes, the engine's skips and the quota skips.
    pub fn add_to(&self, entry: &mut FileSummary, batch: &[Item]) {
        entry.indicators_created += self.created;
        entry.indicators_updated += self.updated;
        entry.indicators_unchanged += self.unchanged;
        let mut quota = self.quota_skipped.iter().peekable();
        for (i, item) in batch.iter().enumerate() {
            match item {
                Err(skip) => entry.record_skip(skip),
                Ok(row) => {
                    if quota.peek() == Some(&&i) {
                        quota.next();
                        entry.record_skip(&RowSkip {
                            row: row.row,
                            reason: SkipReason::QuotaExceeded,
                            message: "the owner's indicator quota is full".to_owned(),
                        });
                    }
                }
            }
        }
    }
}

/// The merged state of one import key within a batch.
struct Slot<'b> {
    /// Whether the indicator existed before this batch.
    existed: bool,
    /// Whether anything must be written.
    dirty: bool,
    /// Times, count and tags, merged by [`Rule::Import`].
    merged: Sightings,
    /// A row of the batch with this key (value, itype, portlist, protocol).
    first: &'b MappedRow,
    /// The row whose description, asn, cc and content apply: the one that last widened the
    /// last time (or created the indicator).
    latest: Option<&'b MappedRow>,
}

/// Applies one batch in one transaction and says what each row did. `header` names the
/// columns the batch's packed copies refer to.
pub fn apply_batch(
    c: &mut DbConnection,
    target: &Target,
    ledger_id: i64,
    batch: &[Item],
    header: Option<HeaderId>,
    now: NaiveDateTime,
) -> QueryResult<BatchOutcome> {
    db::write_tx(c, |c| {
        import_batch::lock_feed(c, target.feed_id)?;
        let mut allowance =
            ImportAllowance::lock(c, target.owner_id, target.default_indicator_limit)?;

        let mut keys: Vec<&str> = batch
            .iter()
            .filter_map(|i| i.as_ref().ok().map(|r| r.import_key.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut stored = import_batch::stored_sightings(c, target.feed_id, &keys)?;

        let mut out = BatchOutcome::default();
        let mut slots: HashMap<&str, Slot<'_>> = HashMap::with_capacity(keys.len());
        let mut order: Vec<&str> = Vec::new();
        for (i, item) in batch.iter().enumerate() {
            let Ok(row) = item else { continue };
            let key = row.import_key.as_str();
            if let Some(slot) = slots.get_mut(key) {
                out.count(merge(slot, row));
                continue;
            }
            // Taken out: the key's later rows find its slot.
            if let Some(merged) = stored.remove(key) {
                let mut slot = Slot {
                    existed: true,
                    dirty: false,
                    merged,
                    first: row,
                    latest: None,
                };
                out.count(merge(&mut slot, row));
                slots.insert(key, slot);
                order.push(key);
                continue;
            }
            if !allowance.admit() {
                out.quota_skipped.push(i);
                continue;
            }
            out.created += 1;
            slots.insert(
                key,
                Slot {
                    existed: false,
                    dirty: true,
                    merged: first_sighting(row),
                    first: row,
                    latest: Some(row),
                },
            );
            order.push(key);
        }

        let writes: Vec<&Slot<'_>> = order
            .iter()
            .filter_map(|k| slots.get(k))
            .filter(|s| s.dirty)
            .collect();
        write(c, target, &writes, header, now)?;
        let created = i64::try_from(out.created).unwrap_or(i64::MAX);
        if created > 0 {
            allowance.take(c, created)?;
        }
        if !writes.is_empty() {
            let written = feed::add_indicators(c, target.feed_id, created, now)?;
            let keys = |existed: bool| -> Vec<&str> {
                writes
                    .iter()
                    .filter(|s| s.existed == existed)
                    .map(|s| s.first.import_key.as_str())
                    .collect()
            };
            change::append(c, &written, Op::Created, Rows::ImportKeys(&keys(false)))?;
            change::append(c, &written, Op::Updated, Rows::ImportKeys(&keys(true)))?;
        }
        import::touch_file(c, ledger_id, now)?;
        debug_assert!(slots.values().all(|s| s.existed || s.dirty));
        Ok(out)
    })
}

impl BatchOutcome {
    /// Counts a row merged into an indicator: updated when a stored field changed.
    fn count(&mut self, changed: bool) {
        if changed {
            self.updated += 1;
        } else {
            self.unchanged += 1;
        }
    }
}

/// §4.2 through [`Rule::Import`]: merges a row into a slot; `true` when a stored field changed.
fn merge<'b>(slot: &mut Slot<'b>, row: &'b MappedRow) -> bool {
    let merged = slot
        .merged
        .merge(&sighting(row), Rule::Import)
        .expect("the import rule leaves out the tags that do not fit");
    if merged.details == Details::All {
        slot.latest = Some(row);
    }
    let changed = merged.outcome == Outcome::Updated;
    slot.dirty |= changed;
    changed
}

/// §4.2 through [`Rule::Import`]: the indicator a row without a stored one creates.
fn first_sighting(row: &MappedRow) -> Sightings {
    Sightings::first(&sighting(row), Rule::Import)
        .expect("the import rule leaves out the tags that do not fit")
}

/// What a row brings to the merge.
fn sighting(row: &MappedRow) -> Sighting<'_> {
    Sighting {
        firsttime: Some(row.firsttime),
        lasttime: Some(row.lasttime),
        tags: &row.tags,
    }
}

/// Writes the new and changed indicators of the batch, in file order.
fn write(
    c: &mut WriteTx<'_>,
    target: &Target,
    slots: &[&Slot<'_>],
    header: Option<HeaderId>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if slots.is_empty() {
        return Ok(());
    }
    // What the bound rows borrow and the mapped rows do not hold: address ranges and
    // reversed hosts.
    let ranges: Vec<Option<([u8; 16], [u8; 16])>> =
        slots.iter().map(|s| s.first.thing.ip_range()).collect();
    let hosts: Vec<Option<Vec<u8>>> = slots.iter().map(|s| s.first.thing.host_rev()).collect();
    let stamp = Stamp::new(now);
    let rows: Vec<InsertRow<'_>> = slots
        .iter()
        .zip(ranges.iter().zip(&hosts))
        .map(|(slot, (range, host))| {
            let row = slot.first;
            let latest = slot.latest;
            let effective_at = Stamp::new(slot.merged.effective_at(now));
            InsertRow {
                feed_id: target.feed_id,
                user_id: target.owner_id,
                created_at: stamp,
                updated_at: stamp,
                provider: Some(row.provider),
                value: row.thing.as_str(),
                itype: row.thing.itype().as_str(),
                ip_lo: range.as_ref().map(|(lo, _)| &lo[..]),
                ip_hi: range.as_ref().map(|(_, hi)| &hi[..]),
                host_rev: host.as_deref(),
                portlist: row.portlist.as_deref(),
                portlist_src: None,
                protocol: row.protocol,
                firsttime: slot.merged.firsttime.map(Stamp::new),
                // The merged last time (or now when none), also the effective time.
                lasttime: Some(effective_at),
                effective_at,
                count: slot.merged.count,
                description: latest.map(|r| r.description.as_str()),
                copy: latest.map_or_else(StoredCopy::default, |r| copy_of(r, header)),
                asn: latest.and_then(|r| r.asn),
                asn_desc: None,
                cc: latest.and_then(|r| r.cc.as_deref()),
                tags: &slot.merged.tags,
                import_key: Some(&row.import_key),
                comments_count: 0,
                confidence: None,
                tlp: None,
                expires_at: Some(Stamp::new(target.lifetimes.expiry(row.thing.itype(), now))),
            }
        })
        .collect();
    indicator::upsert_imported(c, &rows)
}

/// The stored copy of a row: packed when the engine packed it (its names are then stored as
/// `header`), else full.
fn copy_of(row: &MappedRow, header: Option<HeaderId>) -> StoredCopy<'_> {
    match header {
        Some(header) if row.content.packed => StoredCopy::packed(&row.content.text, header),
        _ => {
            // A packed copy without its names stored could not be read: never written so.
            debug_assert!(!row.content.packed);
            StoredCopy::full(Some(&row.content.text))
        }
    }
}
