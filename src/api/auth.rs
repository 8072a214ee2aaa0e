//! HTTP Basic authentication to an `Actor`.

use super::{ApiError, ApiState};
use crate::access::Actor;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The authenticated caller of a request.
pub struct Caller(pub Actor);

/// Logins and passwords longer than this are refused before any hashing.
const MAX_CREDENTIALS: usize = 2048;

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::Unauthenticated)?;
        let value = header.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let encoded = value.strip_prefix("Basic ").ok_or(ApiError::Unauthenticated)?;
        if encoded.len() > MAX_CREDENTIALS {
            return Err(ApiError::Unauthenticated);
        }
        let decoded = decode_base64(encoded.trim()).ok_or(ApiError::Unauthenticated)?;
        let text = String::from_utf8(decoded).map_err(|_| ApiError::Unauthenticated)?;
        let (login, password) = text.split_once(':').ok_or(ApiError::Unauthenticated)?;
        match state.control.authenticate(login, password).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(crate::control::ControlError::Store(e)) => Err(ApiError::Internal(e.to_string())),
            Err(_) => Err(ApiError::Unauthenticated),
        }
    }
}

/// Standard base64 with padding, as RFC 7617 uses it.
fn decode_base64(input: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = input.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(super::decode_base64("YWxpY2U6c2VjcmV0").unwrap(), b"alice:secret");
        assert_eq!(super::decode_base64("YQ==").unwrap(), b"a");
        assert_eq!(super::decode_base64("YWI=").unwrap(), b"ab");
        assert!(super::decode_base64("!!!!").is_none());
        assert!(super::decode_base64("Y").is_none());
    }
}
