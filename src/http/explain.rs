//! Explaining rows from a handler (`POST /explain`, the demo's `?explain=true`): one row limit,
//! one answer when it is passed, and the work off the async workers.

use std::sync::Arc;

use serde::Deserialize;

use super::error::ApiError;
use super::state::AppState;
use crate::acquire::Served;
use crate::cancel::Cancel;
use crate::explain::{self, ExplainError, Explanation};
use crate::model::Background;

/// The 400 for a request of more rows than [`explain::max_rows`] allows.
pub(crate) fn too_many_to_explain(background: &Background) -> ApiError {
    ApiError::BadRequest(format!(
        "Too many rows to explain: at most {} rows per request (each costs {} model \
         evaluations). Send several requests, or use /invocations for predictions alone.",
        explain::max_rows(background),
        explain::evaluations_per_row(background),
    ))
}

/// The background `served` is explained against.
///
/// # Errors
/// 500 if the default background cannot be built.
pub(crate) fn background_of(served: &Served) -> Result<&Background, ApiError> {
    explain::background_of(served.background.as_ref()).map_err(ApiError::internal)
}

/// Explains `rows` on `served` against its background, on the blocking pool and under an
/// explanation permit, so explanations cannot occupy the async workers nor run more at once
/// than `--max-large-requests` (nor wait for the large-body permits).
///
/// # Errors
/// 400 for more rows than [`explain::max_rows`] or a model without a legendary probability;
/// 500 if the default background cannot be built.
pub(crate) async fn explain_rows(
    state: &AppState,
    served: Arc<Served>,
    rows: Vec<[f64; 6]>,
) -> Result<Explanation, ApiError> {
    let background = background_of(&served)?;
    if rows.len() > explain::max_rows(background) {
        return Err(too_many_to_explain(background));
    }
    let permit = state.permits().explanation().await;
    // Dropped with this future when the request times out: the work stops at its next look.
    let (cancel, _cancel_on_drop) = Cancel::on_drop();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        // Held until the work stops, not merely until the request is answered.
        let _permit = permit;
        let background = explain::background_of(served.background.as_ref())?;
        explain::explain(&served.model, background, &rows, &cancel)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        ExplainError::NotLegendary => ApiError::BadRequest(format!("{e}.")),
        // Nobody reads this answer: the request is gone.
        ExplainError::Cancelled => ApiError::Timeout(state.limits().timeout),
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
