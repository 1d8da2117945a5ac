//! What the HTTP handlers of [`crate::server`] and [`crate::web`] share, below both: the state
//! (live model, limits, readiness), the one error type and its MLflow-shaped body, extractors
//! that reject with it, the body reader, explaining rows off the async workers, and the
//! metrics registry.

mod body;
mod error;
mod explain;
mod extract;
pub(crate) mod metrics;
mod permits;
mod process;
mod state;

pub(crate) use body::read as read_body;
pub use error::{ApiError, ErrorBody, WireError};
pub(crate) use explain::{ExplainFlag, background_of, explain_rows, too_many_to_explain};
pub(crate) use extract::{Body, Query};
pub use metrics::{
    Answered, InFlight, Metrics, PollFailure, ReloadAttempt, ReloadResult, RouteLabels, Verdict,
};
pub(crate) use metrics::{ConnectionResult, ScoredRows, UNMATCHED, metrics_handler, track};
pub(crate) use permits::SMALL_BODY_BYTES;
pub(crate) use process::max_open_files;
pub(crate) use state::request_id;
pub use state::{AppState, MonitorSettings, ServerLimits};
