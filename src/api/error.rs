//! One error type for the API, mapped to HTTP statuses with a JSON body.

use crate::control::ControlError;
use crate::store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Control(#[from] ControlError),
    #[error("{0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Control(e) => match e {
                ControlError::Denied(_) => StatusCode::FORBIDDEN,
                ControlError::NotFound { .. } | ControlError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
                ControlError::Store(StoreError::Duplicate { .. }) | ControlError::Store(StoreError::InUse { .. }) => StatusCode::CONFLICT,
                ControlError::Store(StoreError::Limit(_)) => StatusCode::UNPROCESSABLE_ENTITY,
                ControlError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
                ControlError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                ControlError::Name(_) | ControlError::Password(_) | ControlError::Invalid(_) | ControlError::UnknownActor(_) => StatusCode::BAD_REQUEST,
            },
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The detail goes to the log, never to the client.
            tracing::error!("api: {self:?}");
            "internal error".to_string()
        } else {
            self.to_string()
        };
        let mut response = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"mailward\", charset=\"UTF-8\""));
        }
        response
    }
}
