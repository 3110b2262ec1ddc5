//! The `attachments` table: files attached to indicators. Listing never loads the bytes.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::attachments;
use crate::db::{DbConnection, WriteTx};

/// An attachment's metadata (no bytes).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AttachmentMeta {
    pub id: i64,
    pub indicator_id: i64,
    pub filename: String,
    pub content_type: String,
    pub filesize: i64,
    pub sha1: String,
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

/// An attachment to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment<'a> {
    pub indicator_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub filesize: i64,
    pub sha1: &'a str,
    pub sha256: &'a str,
    pub data: &'a [u8],
    pub created_at: NaiveDateTime,
}

/// Inserts an attachment and counts it on its indicator (call inside the write transaction).
pub fn insert(c: &mut WriteTx<'_>, new: &NewAttachment<'_>) -> QueryResult<usize> {
    let c = c.conn();
    use crate::db::schema::indicators;
    diesel::update(indicators::table.find(new.indicator_id))
        .set(indicators::attachments_count.eq(indicators::attachments_count + 1))
        .execute(c)?;
    diesel::insert_into(attachments::table)
        .values(new)
        .execute(c)
}

/// The metadata of the attachments of many indicators, oldest first.
pub fn for_indicators(
    c: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<AttachmentMeta>>> {
    let mut out: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    for chunk in ids.chunks(900) {
        let rows: Vec<AttachmentMeta> = attachments::table
            .filter(attachments::indicator_id.eq_any(chunk))
            .order(attachments::id.asc())
            .select(AttachmentMeta::as_select())
            .load(c)?;
        for row in rows {
            out.entry(row.indicator_id).or_default().push(row);
        }
    }
    Ok(out)
}

/// One attachment with its bytes, if it belongs to the indicator.
pub fn find_with_data(
    c: &mut DbConnection,
    indicator_id: i64,
    id: i64,
) -> QueryResult<(AttachmentMeta, Vec<u8>)> {
    attachments::table
        .filter(attachments::id.eq(id))
        .filter(attachments::indicator_id.eq(indicator_id))
        .select((AttachmentMeta::as_select(), attachments::data))
        .get_result(c)
}
