//! The `content_headers` table: the column names of imported reports, stored once, which the
//! packed stored copies of imported rows refer to by position (see
//! `models::stored_copy`). Rows are only ever added, so an id names the same list
//! for the database's lifetime.

use std::collections::HashMap;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::content_headers;
use crate::db::{DbConnection, WriteTx};
use crate::models::stored_copy::HeaderId;

#[derive(Insertable)]
#[diesel(table_name = content_headers)]
struct NewContentHeader<'a> {
    digest: &'a str,
    names: &'a str,
}

/// The id of this list of names, stored if new. Call it in a write transaction.
pub fn id_for(c: &mut WriteTx<'_>, names: &[String]) -> QueryResult<HeaderId> {
    let c = c.conn();
    let text = serde_json::to_string(names)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let digest = crate::domain::hex::hex(&Sha256::digest(text.as_bytes()));
    let insert = diesel::insert_into(content_headers::table).values(NewContentHeader {
        digest: &digest,
        names: &text,
    });
    crate::on_backend!(c, |conn| insert.on_conflict_do_nothing().execute(conn))?;
    content_headers::table
        .filter(content_headers::digest.eq(&digest))
        .select(content_headers::id)
        .first(c)
        .map(HeaderId)
}

/// The names of these ids; an id with unreadable names is left out.
pub fn names_of(c: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String)> = content_headers::table
        .filter(content_headers::id.eq_any(ids))
        .select((content_headers::id, content_headers::names))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, text)| Some((id, serde_json::from_str(&text).ok()?)))
        .collect())
}
