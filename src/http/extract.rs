//! Extractors whose rejection is an [`ApiError`], so a malformed query or an unreadable body
//! is answered in the same MLflow-shaped JSON as every other error, from the handler's
//! signature alone.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::permits::Permit;
use super::state::AppState;

/// A query string deserialised into `T`; a bad one is a 400 naming the field.
#[derive(Debug)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// The whole body, within `--max-body-bytes` and `MAX` bytes (413 naming the limit),
/// whatever its content type (the demo's clients vary); read as `/invocations` reads its
/// own (`http::read_body`, under a permit held as long as the body).
#[derive(Debug)]
pub(crate) struct Body<const MAX: usize = { usize::MAX }>(
    pub(crate) Vec<u8>,
    #[allow(dead_code, reason = "held for its drop, as long as the body")] Option<Permit>,
);

impl<const MAX: usize> FromRequest<AppState> for Body<MAX> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let limit = state.limits().max_body_bytes.min(MAX);
        let read = super::body::read(state, body, &parts.headers, limit).await?;
        Ok(Self(read.bytes, read.permit))
    }
}

impl<const MAX: usize> Body<MAX> {
    /// Parses the body as JSON; a failure is a 400 saying what was `expected`.
    pub(crate) fn json<T: DeserializeOwned>(&self, expected: &str) -> Result<T, ApiError> {
        serde_json::from_slice(&self.0)
            .map_err(|e| ApiError::BadRequest(format!("The body is not {expected}: {e}.")))
    }
}
