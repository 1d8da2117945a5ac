//! Explaining rows from a handler (`POST /explain`, the demo's `?explain=true`): one row limit,
//! one answer when it is passed, and the work off the async workers.

use std::sync::Arc;

use serde::Deserialize;

use super::error::ApiError;
use super::state::AppState;
use crate::acquire::Served;
use crate::explain::{self, ExplainError, Explanation, MAX_EXPLAIN_ROWS};

/// The 400 for a request of more than [`MAX_EXPLAIN_ROWS`] rows.
pub(crate) fn too_many_to_explain() -> ApiError {
    ApiError::BadRequest(format!(
        "Too many rows to explain: at most {MAX_EXPLAIN_ROWS} rows per request (each costs about \
         6,200 model evaluations). Send several requests, or use /invocations for predictions alone."
    ))
}

/// Explains `rows` on `served` against its background, on the blocking pool and within one
/// of the server's large-request slots, so explanations cannot occupy the async workers nor
/// run more at once than `--max-large-requests`.
///
/// # Errors
/// 400 for more than [`MAX_EXPLAIN_ROWS`] rows or a model without a legendary probability;
/// 500 if the default background cannot be built.
pub(crate) async fn explain_rows(
    state: &AppState,
    served: Arc<Served>,
    rows: Vec<[f64; 6]>,
) -> Result<Explanation, ApiError> {
    if rows.len() > MAX_EXPLAIN_ROWS {
        return Err(too_many_to_explain());
    }
    let _slot = state.large_request_slot().await;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        let background = explain::background_of(served.background.as_ref())?;
        explain::explain(&served.model, background, &rows)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        ExplainError::NotLegendary => ApiError::BadRequest(format!("{e}.")),
        ExplainError::Background(_) | ExplainError::Io(_) => ApiError::internal(e),
    })
}

/// The demo routes' `?explain=true|false` (also `1`/`0`): whether to add the explanation.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ExplainFlag {
    explain: Option<String>,
}

impl ExplainFlag {
    /// True for `true` or `1`, false when absent or `false`/`0`.
    ///
    /// # Errors
    /// 400 naming the parameter for any other value.
    pub(crate) fn wanted(&self) -> Result<bool, ApiError> {
        match self.explain.as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "Query parameter `explain` must be true or false, got {other:?}."
            ))),
        }
    }
}
