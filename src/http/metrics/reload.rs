//! What a hot-reload poll came to, as `/version` shows it and `/metrics` counts it.

use std::time::SystemTime;

use super::labels::{PollFailure, ReloadOutcome, ReloadResult};

/// What a reload poll came to, when it came to something other than "the same version".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The new version serves.
    Swapped,
    /// The new version's files are not a servable model; it is not tried again.
    Refused,
    /// The poll failed before the new version could be judged; the next one tries again.
    Failed(PollFailure),
}

impl Verdict {
    /// How the poll ended.
    pub(crate) fn outcome(self) -> ReloadOutcome {
        match self {
            Self::Swapped => ReloadOutcome::Swapped,
            Self::Refused => ReloadOutcome::Refused,
            Self::Failed(_) => ReloadOutcome::Failed,
        }
    }

    /// What it makes of the new version, when the poll got as far as judging one.
    pub(crate) fn result(self) -> Option<ReloadResult> {
        match self {
            Self::Swapped => Some(ReloadResult::Succeeded),
            Self::Refused => Some(ReloadResult::Failed),
            Self::Failed(_) => None,
        }
    }

    /// The cause's class and a fixed description of it: local text only, as
    /// [`ReloadAttempt`] requires.
    fn describe(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Self::Swapped => (None, None),
            Self::Refused => (
                Some("invalid"),
                Some("the new version is not a servable model"),
            ),
            Self::Failed(failure) => (
                Some(failure.as_str()),
                Some(match failure {
                    PollFailure::Registry => "the registry did not resolve the model URI",
                    PollFailure::Download => "the new version could not be downloaded",
                    PollFailure::Timeout => "the poll ran out of time",
                }),
            ),
        }
    }
}

/// The last hot-reload attempt, as `/version` shows it.
///
/// `/version` answers anyone, and what a registry says can echo the request's credentials:
/// so this holds only what is decided here (the verdict, the status, a fixed description),
/// never remote text. The registry's own words go to the logs, scrubbed. Its fields follow
/// from the verdict, so they are private: [`ReloadAttempt::new`] is the one way to make one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadAttempt {
    /// When it ran (RFC 3339).
    at: String,
    /// Unix time of `at`.
    #[serde(skip)]
    at_unix: f64,
    #[serde(skip)]
    verdict: Verdict,
    /// `swapped` (the new version serves), `refused` (it did not validate; the old one keeps
    /// serving) or `failed` (registry, download or time-out; the old one keeps serving).
    #[schema(value_type = String)]
    outcome: ReloadOutcome,
    /// Why it failed (`registry`, `download`, `timeout`) or was refused (`invalid`); null
    /// when swapped.
    cause: Option<&'static str>,
    /// The HTTP status of the failing answer of the registry or its artifact proxy, when one
    /// came back.
    status: Option<u16>,
    /// The version the registry named, when it answered.
    version: Option<String>,
    /// A short description of `cause`, written by this server (the details are in its logs).
    error: Option<&'static str>,
}

impl ReloadAttempt {
    /// An attempt that ends now, with the version the registry named and the HTTP status of
    /// its failing answer, when there were any.
    pub fn new(verdict: Verdict, version: Option<String>, status: Option<u16>) -> Self {
        let now = SystemTime::now();
        let (cause, error) = verdict.describe();
        Self {
            at: humantime::format_rfc3339_seconds(now).to_string(),
            at_unix: now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            verdict,
            outcome: verdict.outcome(),
            cause,
            status,
            version,
            error,
        }
    }

    /// What the poll came to.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Unix time it ran.
    pub(crate) fn at_unix(&self) -> f64 {
        self.at_unix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_shown_as_invalid_and_a_failure_by_its_cause() {
        let refused =
            serde_json::to_value(ReloadAttempt::new(Verdict::Refused, None, None)).unwrap();
        assert_eq!(refused["outcome"], "refused");
        assert_eq!(refused["cause"], "invalid");
        let failed = ReloadAttempt::new(
            Verdict::Failed(PollFailure::Download),
            Some("7".to_owned()),
            Some(503),
        );
        let failed = serde_json::to_value(failed).unwrap();
        assert_eq!(failed["outcome"], "failed");
        assert_eq!(failed["cause"], "download");
        assert_eq!(failed["status"], 503);
        assert_eq!(failed["version"], "7");
        let swapped =
            serde_json::to_value(ReloadAttempt::new(Verdict::Swapped, None, None)).unwrap();
        assert_eq!(swapped["outcome"], "swapped");
        assert!(swapped["cause"].is_null() && swapped["error"].is_null());
    }
}
