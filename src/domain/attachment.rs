//! Attachment uploads (spec §6.6.7): decoding the base64 data, the stored file name, the
//! content type by extension and the SHA-1/SHA-256 hex digests. Storing and serving the bytes
//! live in the models and the api; the per-indicator count is a model check.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::DomainError;
use super::hex::hex;

/// The default largest decoded attachment, in bytes (5 MiB, §10).
pub const DEFAULT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// The file name used when none is given.
pub const DEFAULT_FILE_NAME: &str = "attachment";
/// The longest file name, in characters (§10).
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// The content type of an unknown extension. Content is never sniffed.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Padding optional, non-zero trailing bits tolerated: decode what clients send.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes attachment data: standard or URL-safe base64, padding optional (trailing `=` are
/// ignored), ASCII whitespace and line breaks ignored.
///
/// Error codes: `empty` (nothing to decode, or zero bytes), `invalid_format` (not base64, or
/// both alphabets mixed), `too_large` (more than `max_bytes` once decoded; checked before
/// decoding, so an oversized body is never materialised).
pub fn decode_data(raw: &str, max_bytes: usize) -> Result<Vec<u8>, DomainError> {
    let compact: Vec<u8> = raw.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    // Padding is optional, so it is dropped rather than checked.
    let end = compact
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |i| i + 1);
    let unpadded = &compact[..end];
    if unpadded.is_empty() {
        return Err(DomainError::new("empty", "the attachment has no data"));
    }
    // Every 4 base64 characters are 3 bytes; a valid tail of 2 or 3 adds 1 or 2.
    let decoded_len = unpadded.len() / 4 * 3 + (unpadded.len() % 4).saturating_sub(1);
    if decoded_len > max_bytes {
        return Err(DomainError::new(
            "too_large",
            format!("the attachment is larger than {max_bytes} bytes"),
        ));
    }
    let url_safe = compact.iter().any(|b| matches!(b, b'-' | b'_'));
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let bytes = engine.decode(unpadded).map_err(|_| {
        DomainError::new(
            "invalid_format",
            "the attachment data is not base64 (standard or URL-safe alphabet)",
        )
    })?;
    Ok(bytes)
}

/// The stored file name: the last path component of `raw` (split on `/` and `\`, as the SDK
/// sends full local paths), or `attachment` when `raw` is absent or empty.
///
/// Error codes: `empty` (the path ends in a separator), `too_long` (over 255 characters),
/// `invalid_format` (control characters).
pub fn file_name(raw: Option<&str>) -> Result<String, DomainError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(DEFAULT_FILE_NAME.to_owned());
    };
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    if base.is_empty() {
        return Err(DomainError::new(
            "empty",
            "the file name is empty after its last '/' or '\\'",
        ));
    }
    if base.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(DomainError::new(
            "too_long",
            format!("a file name has at most {MAX_FILE_NAME_CHARS} characters"),
        ));
    }
    if base.chars().any(char::is_control) {
        return Err(DomainError::new(
            "invalid_format",
            "a file name must not contain control characters",
        ));
    }
    Ok(base.to_owned())
}

/// The content type for a file name's extension (ASCII case ignored), from the spec's table;
/// `application/octet-stream` for anything else.
pub fn content_type(file_name: &str) -> &'static str {
    let Some((_, ext)) = file_name.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    match ext.to_ascii_lowercase().as_str() {
        "eml" => "message/rfc822",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "txt" => "text/plain",
        "json" => "application/json",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "jar" => "application/java-archive",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => OCTET_STREAM,
    }
}

/// The lower-case hex SHA-1 of `bytes` (also the value of an attachment-only indicator).
pub fn sha1_hex(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;
    use proptest::prelude::*;

    const SAMPLE: &str = "UmVjZWl2ZWQ6IGZyb20gbXguZXhhbXBsZS5vcmcK";

    #[test]
    fn the_spec_example_decodes_and_hashes() {
        let bytes = decode_data(SAMPLE, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(bytes, b"Received: from mx.example.org\n");
        assert_eq!(bytes.len(), 30);
        assert_eq!(sha1_hex(&bytes), "c7369be2f1be03c77ee7c22edc8441e46c309c1d");
        assert_eq!(
            sha256_hex(&bytes),
            "5516a4aad5c38a21403df0edc9df2c8f143cc201cb2ceccd4db032cd7d87a250"
        );
        assert_eq!(
            file_name(Some("spam/2026-11/sample.eml")).unwrap(),
            "sample.eml"
        );
        assert_eq!(content_type("sample.eml"), "message/rfc822");
    }

    #[test]
    fn base64_forms_are_accepted() {
        let table: [(&str, &[u8]); 8] = [
            ("aGk=", b"hi"),
            ("aGk", b"hi"),
            ("aGk==", b"hi"),
            (" aG\r\nk=\n", b"hi"),
            ("-_-_", &[0xfb, 0xff, 0xbf]),
            ("+/+/", &[0xfb, 0xff, 0xbf]),
            ("-_8", &[0xfb, 0xff]),
            ("aGl", b"hi"),
        ];
        for (raw, want) in table {
            assert_eq!(
                decode_data(raw, DEFAULT_MAX_BYTES).unwrap(),
                want,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn bad_base64_is_refused_with_its_code() {
        let table = [
            ("", "empty"),
            (" \n ", "empty"),
            ("==", "empty"),
            ("a", "invalid_format"),
            ("a===", "invalid_format"),
            ("aGk=a", "invalid_format"),
            ("aG!k", "invalid_format"),
            ("+/-_", "invalid_format"),
            ("aG=k", "invalid_format"),
            ("ä", "invalid_format"),
        ];
        for (raw, want) in table {
            assert_eq!(
                decode_data(raw, DEFAULT_MAX_BYTES).unwrap_err().code,
                want,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn the_size_limit_applies_to_decoded_bytes() {
        let data = general_purpose::STANDARD.encode([7u8; 10]);
        assert_eq!(decode_data(&data, 10).unwrap().len(), 10);
        assert_eq!(decode_data(&data, 9).unwrap_err().code, "too_large");
        let unpadded = general_purpose::STANDARD_NO_PAD.encode([7u8; 11]);
        assert_eq!(decode_data(&unpadded, 11).unwrap().len(), 11);
        assert_eq!(decode_data(&unpadded, 10).unwrap_err().code, "too_large");
    }

    #[test]
    fn file_names_keep_their_last_component() {
        let table = [
            (None, "attachment"),
            (Some(""), "attachment"),
            (Some("sample.eml"), "sample.eml"),
            (Some("C:\\Users\\bob\\Desktop\\invoice.pdf"), "invoice.pdf"),
            (Some("/tmp/x/report 1.TXT"), "report 1.TXT"),
            (Some("mixed\\path/name.zip"), "name.zip"),
            (Some("Überweisung.doc"), "Überweisung.doc"),
        ];
        for (raw, want) in table {
            assert_eq!(file_name(raw).unwrap(), want, "{raw:?}");
        }
        let long = "n".repeat(256);
        let bad = [
            ("dir/", "empty"),
            ("dir\\", "empty"),
            (long.as_str(), "too_long"),
            ("a\u{7}b.txt", "invalid_format"),
            ("a\nb.txt", "invalid_format"),
        ];
        for (raw, want) in bad {
            assert_eq!(file_name(Some(raw)).unwrap_err().code, want, "{raw:?}");
        }
        assert_eq!(
            file_name(Some(&format!("dir/{}", &long[1..])))
                .unwrap()
                .len(),
            255
        );
    }

    #[test]
    fn content_types_follow_the_extension_table() {
        let table = [
            ("a.eml", "message/rfc822"),
            ("a.pdf", "application/pdf"),
            ("a.zip", "application/zip"),
            ("a.txt", "text/plain"),
            ("a.json", "application/json"),
            ("a.doc", "application/msword"),
            (
                "a.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("a.jar", "application/java-archive"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.JPEG", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.exe", OCTET_STREAM),
            ("pdf", OCTET_STREAM),
            ("attachment", OCTET_STREAM),
            ("a.tar.gz", OCTET_STREAM),
            ("a.", OCTET_STREAM),
        ];
        for (name, want) in table {
            assert_eq!(content_type(name), want, "{name:?}");
        }
    }

    #[test]
    fn hex_digests_are_lower_case() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}", max in 0usize..64) {
            if let Ok(bytes) = decode_data(&s, max) {
                prop_assert!(!bytes.is_empty() && bytes.len() <= max);
            }
            if let Ok(name) = file_name(Some(&s)) {
                prop_assert_eq!(file_name(Some(&name)), Ok(name.clone()));
                let _ = content_type(&name);
            }
        }

        #[test]
        fn encoded_bytes_round_trip(
            bytes in prop::collection::vec(any::<u8>(), 1..200),
            url_safe in any::<bool>(),
            pad in any::<bool>(),
            wrap in 1usize..80,
        ) {
            let engine = match (url_safe, pad) {
                (false, true) => general_purpose::STANDARD,
                (false, false) => general_purpose::STANDARD_NO_PAD,
                (true, true) => general_purpose::URL_SAFE,
                (true, false) => general_purpose::URL_SAFE_NO_PAD,
            };
            let text = engine.encode(&bytes);
            let wrapped: Vec<String> = text
                .as_bytes()
                .chunks(wrap)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            let decoded = decode_data(&wrapped.join("\r\n"), bytes.len()).unwrap();
            prop_assert_eq!(&decoded, &bytes);
            if bytes.len() > 1 {
                prop_assert_eq!(
                    decode_data(&text, bytes.len() - 1).unwrap_err().code,
                    "too_large"
                );
            }
        }
    }
}
