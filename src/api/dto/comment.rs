//! The comment body (spec §6.6.8): `{"comment": {"text": …}}` (or `{"content": …}` there),
//! `{"comment": "…"}`, or a bare `{"text": …}` / `{"content": …}`. The text's rules are the
//! domain's (`domain::feed::check_text`: at most 4,096 characters, line breaks allowed).

use serde::Deserialize;
use serde_json::Value;

use super::Field;
use super::indicator::CommentValue;
use crate::domain::feed::check_text;
use crate::error::ApiError;

/// The longest comment, in characters.
const MAX_COMMENT_CHARS: usize = 4096;

/// POST …/indicators/{id}/comments: a comment to add.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateCommentRequest {
    pub comment: Field<CommentValue>,
    pub text: Field<String>,
    pub content: Field<String>,
}

impl CreateCommentRequest {
    /// Reads a body into the comment's text; its one problem is named by where the text was
    /// looked for (`comment.text`, `comment` or `text`).
    pub fn parse(body: Value) -> Result<String, ApiError> {
        if !body.is_object() {
            return Err(ApiError::invalid(
                "",
                "invalid_type",
                "the body must be a JSON object",
            ));
        }
        let request: Self = serde_json::from_value(body)
            .map_err(|e| ApiError::invalid("", "invalid_type", e.to_string()))?;
        let (field, text) = match &request.comment {
            Field::Value(CommentValue::Object(text)) => ("comment.text", text.as_ref()),
            Field::Value(CommentValue::Text(s)) => ("comment", Field::Value(s)),
            Field::Null => ("comment", Field::Null),
            Field::WrongType => ("comment", Field::WrongType),
            // `text` wins over `content` when present, even as `null`.
            Field::Absent => match &request.text {
                Field::Absent => ("text", request.content.as_ref()),
                text => ("text", text.as_ref()),
            },
        };
        match text {
            Field::Value(s) if !s.is_empty() => check_text(s, MAX_COMMENT_CHARS, true)
                .map_err(|e| ApiError::invalid(field, e.code, e.message)),
            Field::Value(_) => Err(ApiError::invalid(
                field,
                "empty",
                "a comment must not be empty",
            )),
            Field::Absent | Field::Null => {
                Err(ApiError::invalid(field, "required", "a comment needs text"))
            }
            Field::WrongType => Err(ApiError::invalid(field, "invalid_type", "must be a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::api::dto::test_support::{one, problems};

    fn bad(body: Value) -> Vec<(String, &'static str)> {
        problems(CreateCommentRequest::parse(body))
    }

    #[test]
    fn every_form_gives_the_text() {
        for body in [
            json!({"comment": {"text": "hi"}}),
            json!({"comment": {"content": "hi"}}),
            json!({"comment": "hi"}),
            json!({"text": "hi"}),
            json!({"content": "hi", "other": 1}),
            json!({"text": "hi", "content": "ignored"}),
        ] {
            assert_eq!(CreateCommentRequest::parse(body).unwrap(), "hi");
        }
        assert_eq!(
            CreateCommentRequest::parse(json!({"text": "line\nbreak\ttab"})).unwrap(),
            "line\nbreak\ttab"
        );
    }

    #[test]
    fn the_problem_names_where_the_text_was_looked_for() {
        assert_eq!(bad(json!({})), one("text", "required"));
        assert_eq!(
            bad(json!({"text": null, "content": "x"})),
            one("text", "required")
        );
        assert_eq!(bad(json!({"text": ""})), one("text", "empty"));
        assert_eq!(bad(json!({"content": 5})), one("text", "invalid_type"));
        assert_eq!(bad(json!({"comment": null})), one("comment", "required"));
        assert_eq!(bad(json!({"comment": 5})), one("comment", "invalid_type"));
        assert_eq!(bad(json!({"comment": ""})), one("comment", "empty"));
        assert_eq!(bad(json!({"comment": {}})), one("comment.text", "required"));
        assert_eq!(
            bad(json!({"comment": {"text": null, "content": "x"}})),
            one("comment.text", "required")
        );
        assert_eq!(
            bad(json!({"comment": {"content": [1]}})),
            one("comment.text", "invalid_type")
        );
        assert_eq!(
            bad(json!({"comment": "x".repeat(4097)})),
            one("comment", "too_long")
        );
        assert_eq!(
            bad(json!({"text": "a\u{7}"})),
            one("text", "invalid_format")
        );
        assert_eq!(bad(json!({"text": "  "})), one("text", "empty"));
        assert_eq!(bad(json!(["x"])), one("", "invalid_type"));
    }
}
