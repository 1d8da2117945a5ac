//! `GET /monitoring`: what the served model has seen and said, against the reference it was
//! trained with (docs/monitoring.md).

use axum::Json;
use axum::extract::State;

use serde::Serialize;

use crate::http::{ApiError, AppState};
use crate::monitor::{MonitorReport, ShadowReport};

/// The champion's monitor, and the shadow challenger's, when there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Monitoring {
    #[serde(flatten)]
    report: MonitorReport,
    /// The shadow challenger (`--shadow`) against the champion on the same rows.
    shadow: Option<ShadowReport>,
}

/// Drift of each feature and of the probabilities (population stability index,
/// Jensen–Shannon distance), the share of legendary answers and the expected precision,
/// recall and F1, over the last rows and the last minutes, against the model's reference.
#[utoipa::path(
    get,
    path = "/monitoring",
    tag = "scoring",
    responses(
        (status = 200, description = "Both windows against the reference, and the shadow challenger", body = Monitoring),
        (status = 404, description = "The served model is not monitored (no profile, or --no-monitoring)", body = crate::http::ErrorBody),
        (status = 503, description = "No model is loaded yet", body = crate::http::ErrorBody),
    )
)]
pub(super) async fn monitoring(
    State(state): State<AppState>,
) -> Result<Json<Monitoring>, ApiError> {
    let served = state.live_model()?;
    match &served.monitor {
        Some(monitor) => Ok(Json(Monitoring {
            report: monitor.report(),
            shadow: state.shadow().map(|s| s.report()),
        })),
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
