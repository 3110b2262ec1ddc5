//! `GET …/indicators/:id/attachments/:aid` (spec §6.6.7): the raw bytes with the stored type;
//! independent of `Accept`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::feed_path::{FeedPath, visible_feed};
use crate::api::query::NoParams;
use crate::api::tokens::parse_id;
use crate::auth::access;
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::models::attachment;
use crate::state::AppState;

/// Path of an attachment.
#[derive(Debug, Deserialize)]
pub struct AttachmentPath {
    pub user: String,
    pub feed: String,
    pub id: String,
    pub aid: String,
}

/// GET /api/users/{user}/feeds/{feed}/indicators/{id}/attachments/{aid}: 200 with the bytes; 404.
pub async fn show_attachment(
    state: web::Data<AppState>,
    caller: Caller,
    _: NoParams,
    path: web::Path<AttachmentPath>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let (id, aid) = (parse_id(&p.id)?, parse_id(&p.aid)?);
    let feed_path = FeedPath {
        user: p.user,
        feed: p.feed,
    };
    let (meta, data) = state
        .db
        .read(move |c| {
            let (_, feed) = visible_feed(c, &feed_path, &caller)?;
            let row = access::visible_indicator(c, &feed, id, &caller)?;
            Ok::<_, ApiError>(attachment::find_with_data(c, row.id, aid)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, meta.content_type.clone()))
        .insert_header((header::CONTENT_DISPOSITION, disposition(&meta.filename)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Uploaded bytes are hostile: opened in a browser, they run in a sandbox with no
        // script, no origin and nothing to load.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        .body(data))
}

/// `attachment; filename="…"` (RFC 6266), plus `filename*` for non-ASCII names.
pub fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_ascii() && ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(
            disposition("sample.eml"),
            "attachment; filename=\"sample.eml\""
        );
        assert_eq!(
            disposition("bücher.pdf"),
            "attachment; filename=\"b_cher.pdf\"; filename*=UTF-8''b%C3%BCcher.pdf"
        );
        assert_eq!(
            disposition("a\"b.txt"),
            "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
        );
    }
}
