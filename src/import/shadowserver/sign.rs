//! Reports API request signing (spec §5.2): the `HMAC2` header is the lower-case hex
//! HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8 bytes. Sign the bytes
//! you send, once; re-serialising the body breaks the signature. The secret and the signature
//! must never be logged.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The request header that carries the signature.
pub const HMAC2_HEADER: &str = "HMAC2";

/// The `HMAC2` header value for `body` under `secret`.
pub fn hmac2(secret: &str, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    tag.iter().fold(String::with_capacity(64), |mut s, b| {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
        s
    })
}

/// Whether `signature` (hex, any case) is the `HMAC2` of `body` under `secret`, compared in
/// constant time. For the test stand-in of the Reports API.
pub fn verify_hmac2(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(tag) = unhex(signature.trim()) else {
        return false;
    };
    let mut mac = keyed(secret);
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn keyed(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [(&str, usize, &str); 2] = [
        (
            r#"{"apikey": "123456798"}"#,
            23,
            "ddd569fcb5ca011e58a045945d9450700f46797560fa6eb384f485c1cb8124d4",
        ),
        (
            r#"{"date": "2024-01-04:2024-01-05", "reports": ["example-org"], "apikey": "123456798"}"#,
            84,
            "8f7f3b7d690a177753460749ca3ce6cac9a0a21579e397c243a418f18424fcaa",
        ),
    ];

    #[test]
    fn both_spec_vectors_sign_as_published() {
        for (body, len, want) in VECTORS {
            assert_eq!(body.len(), len);
            assert_eq!(hmac2("MySecret", body.as_bytes()), want);
            assert!(verify_hmac2("MySecret", body.as_bytes(), want));
            assert!(verify_hmac2(
                "MySecret",
                body.as_bytes(),
                &want.to_uppercase()
            ));
        }
    }

    #[test]
    fn any_byte_difference_breaks_the_signature() {
        let (body, _, sig) = VECTORS[0];
        assert!(!verify_hmac2(
            "MySecret",
            format!("{body}\n").as_bytes(),
            sig
        ));
        assert!(!verify_hmac2("mysecret", body.as_bytes(), sig));
        assert!(!verify_hmac2("MySecret", body.as_bytes(), &sig[..62]));
        assert!(!verify_hmac2("MySecret", body.as_bytes(), "zz"));
        assert!(!verify_hmac2("MySecret", body.as_bytes(), ""));
    }
}
