//! `GET /monitoring`: what the served model has seen and said, against the reference it was
//! trained with (docs/monitoring.md).

use axum::Json;
use axum::extract::State;

use crate::http::{ApiError, AppState};
use crate::monitor::MonitorReport;

/// Drift of each feature and of the probabilities (population stability index,
/// Jensen–Shannon distance), the share of legendary answers and the expected precision,
/// recall and F1, over the last rows and the last minutes, against the model's reference.
#[utoipa::path(
    get,
    path = "/monitoring",
    tag = "scoring",
    responses(
        (status = 200, description = "Both windows against the reference", body = MonitorReport),
        (status = 404, description = "The served model is not monitored (no profile, or --no-monitoring)", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn monitoring(
    State(state): State<AppState>,
) -> Result<Json<MonitorReport>, ApiError> {
    let served = state.live_model()?;
    match &served.monitor {
        Some(monitor) => Ok(Json(monitor.report())),
        None if !state.monitoring().enabled => Err(ApiError::NotFound(
            "Monitoring is off (--no-monitoring).".to_owned(),
        )),
        None if served.profile.is_none() && state.monitoring().profile.is_none() => {
            Err(ApiError::NotFound(format!(
                "The served model has no monitoring profile ({}): train it with `legendary train`, or build one with `legendary monitor profile` and serve with --monitoring-profile.",
                crate::monitor::PROFILE_FILE
            )))
        }
        None => Err(ApiError::NotFound(
            "The served model does not take the six stats, so they cannot be monitored.".to_owned(),
        )),
    }
}
