//! Hot reload: when the model URI names a stage, an alias or `latest`, poll the registry and
//! swap in a new version once it downloads and validates; a version that does not is refused
//! (and counted), and the current model keeps serving.
//!
//! Every poll has a deadline, so a registry that never answers, or a download that drips,
//! can delay one poll but never stop the next; each outcome other than "same version" is
//! recorded for `/version` and `/metrics`.

use std::time::Duration;

use tokio::time::Instant;

use crate::acquire::{Fetcher, LoadError};
use crate::http::{AppState, PollFailure, ReloadAttempt, Verdict};

/// Which model a poller keeps up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The served model: its polls are in `/version` and `/metrics`.
    Champion,
    /// The shadow challenger (`--shadow`): its polls are logged.
    Shadow,
}

impl Target {
    fn current(self, state: &AppState) -> String {
        let served = match self {
            Self::Champion => state.model(),
            Self::Shadow => state.shadow().and_then(|s| s.model()),
        };
        served.map(|s| s.fingerprint()).unwrap_or_default()
    }

    fn swap(self, state: &AppState, served: crate::acquire::Served) {
        match self {
            Self::Champion => state.set_model(served),
            Self::Shadow => state.set_shadow_model(served),
        }
    }
}

/// Starts the poller when the source can move and the interval is not zero; each poll may
/// take at most `poll_deadline`.
pub(super) fn spawn(
    state: AppState,
    fetcher: Fetcher,
    interval: Duration,
    poll_deadline: Duration,
    target: Target,
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
            let deadline = Instant::now() + poll_deadline;
            let poll = poll_once(&state, &fetcher, &mut refused, deadline, target);
            // A backstop a little after the download's own deadline: that one fires first and
            // its error names the version and the file (timers of the same instant race).
            if tokio::time::timeout_at(deadline + BACKSTOP_GRACE, poll)
                .await
                .is_err()
            {
                record(
                    &state,
                    target,
                    None,
                    Verdict::Failed(PollFailure::Timeout),
                    None,
                );
                tracing::warn!(model = %fetcher.source(), deadline = %humantime::format_duration(poll_deadline), "reload poll timed out; keeping the current model");
            }
        }
    }))
}

/// How long after a poll's deadline its backstop timeout fires.
const BACKSTOP_GRACE: Duration = Duration::from_millis(250);

fn record(
    state: &AppState,
    target: Target,
    version: Option<String>,
    verdict: Verdict,
    error: Option<&LoadError>,
) {
    if target == Target::Shadow {
        return;
    }
    let attempt = ReloadAttempt::new(verdict, version, error.and_then(LoadError::registry_status));
    state.metrics().record_reload_attempt(attempt);
}

/// One poll: resolve; if the version moved (and is not the one refused last), fetch,
/// validate and swap.
async fn poll_once(
    state: &AppState,
    fetcher: &Fetcher,
    refused: &mut Option<String>,
    deadline: Instant,
    target: Target,
) {
    let source = fetcher.source();
    let resolved = match fetcher.resolve().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(model = %source, error = %format!("{e:#}"), "reload poll failed; keeping the current model");
            record(
                state,
                target,
                None,
                Verdict::Failed(PollFailure::Registry),
                Some(&e),
            );
            return;
        }
    };
    let fingerprint = resolved.fingerprint();
    let current = target.current(state);
    if fingerprint == current || refused.as_deref() == Some(fingerprint.as_str()) {
        return;
    }
    let version = resolved.version.clone();
    match fetcher.fetch(resolved, deadline).await {
        Ok(served) => {
            tracing::info!(model = %source, from = %current, to = %fingerprint, version = version.as_deref().unwrap_or(""), "new model version swapped in");
            target.swap(state, served);
            record(state, target, version, Verdict::Swapped, None);
            *refused = None;
        }
        // The files could not be had now: try again at the next poll.
        Err(e) if e.is_download_failure() => {
            tracing::warn!(model = %source, version = version.as_deref().unwrap_or(""), error = %format!("{e:#}"), "new model version could not be downloaded; the current one keeps serving");
            record(
                state,
                target,
                version,
                Verdict::Failed(PollFailure::Download),
                Some(&e),
            );
        }
        // The files are there but are not a servable model: not tried again.
        Err(e) => {
            if let Some(failure) = e.compile_failure()
                && target == Target::Champion
            {
                state.metrics().record_compile_failure(failure.cause);
            }
            tracing::error!(model = %source, version = version.as_deref().unwrap_or(""), error = %format!("{e:#}"), "new model version refused; the current one keeps serving");
            record(state, target, version, Verdict::Refused, Some(&e));
            *refused = Some(fingerprint);
        }
    }
}
