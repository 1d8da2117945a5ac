//! Hot reload: when the model URI names a stage, an alias or `latest`, poll the registry and
//! swap in a new version once it downloads and validates; a version that does not is refused
//! (and counted), and the current model keeps serving.

use std::time::Duration;

use crate::acquire::Fetcher;
use crate::http::AppState;

/// Starts the poller when the source can move and the interval is not zero.
pub(super) fn spawn(
    state: AppState,
    fetcher: Fetcher,
    interval: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if !fetcher.source().is_moving() || interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut refused: Option<String> = None;
        loop {
            tokio::time::sleep(interval).await;
            if state.is_draining() {
                return;
            }
            poll_once(&state, &fetcher, &mut refused).await;
        }
    }))
}

/// One poll: resolve; if the version moved (and is not the one refused last), fetch,
/// validate and swap.
async fn poll_once(state: &AppState, fetcher: &Fetcher, refused: &mut Option<String>) {
    let source = fetcher.source();
    let resolved = match fetcher.resolve().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(model = %source, error = %format!("{e:#}"), "reload poll failed; keeping the current model");
            return;
        }
    };
    let fingerprint = resolved.fingerprint();
    let current = state.model().map(|s| s.fingerprint()).unwrap_or_default();
    if fingerprint == current || refused.as_deref() == Some(fingerprint.as_str()) {
        return;
    }
    let version = resolved.version.clone();
    match fetcher.fetch(resolved).await {
        Ok(served) => {
            tracing::info!(model = %source, from = %current, to = %fingerprint, version = version.as_deref().unwrap_or(""), "new model version swapped in");
            state.set_model(served);
            state.metrics().record_reload(true);
            *refused = None;
        }
        Err(e) => {
            tracing::error!(model = %source, version = version.as_deref().unwrap_or(""), error = %format!("{e:#}"), "new model version refused; the current one keeps serving");
            state.metrics().record_reload(false);
            *refused = Some(fingerprint);
        }
    }
}
