//! Every label of `/metrics`, as a type: a call site names a variant, so a misspelt label
//! value (`"evictd"`) does not compile, and a value that is never exposed cannot be counted.
//!
//! The fixed vocabularies are enums with an `as_str` (the exposed text, one `match`, so a new
//! variant cannot be left unnamed) and an `ALL` (so their counters are exposed at zero before
//! the first event, and `rate()` has a series to start from). Two labels are open, and typed
//! all the same: `route`, whose values are the router's table (only axum's [`MatchedPath`]
//! makes one, so it is never a raw path), and `code`, an HTTP status.

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

use axum::extract::MatchedPath;
use axum::http::{self, StatusCode};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

use crate::sandbox::Cause;

/// The route label of requests that matched no route (never the raw path: cardinality).
pub(crate) const UNMATCHED: &str = "unmatched";

/// Label values that are enums: each is written as its `as_str`.
macro_rules! as_str_label_values {
    ($($label:ty),+ $(,)?) => {$(
        impl EncodeLabelValue for $label {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> fmt::Result {
                encoder.write_str(self.as_str())
            }
        }
    )+};
}

as_str_label_values!(
    Method,
    Route,
    Code,
    ConnectionResult,
    ReloadResult,
    PollFailure,
    ReloadOutcome,
    Cause,
);

/// The request methods counted apart; any other is counted as `OTHER`, so that a client
/// inventing methods cannot grow the series without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// `PATCH`.
    Patch,
    /// Any other method.
    Other,
}

impl Method {
    /// The label value.
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Patch => "PATCH",
            Self::Other => "OTHER",
        }
    }
}

impl From<&http::Method> for Method {
    fn from(method: &http::Method) -> Self {
        match *method {
            http::Method::GET => Self::Get,
            http::Method::HEAD => Self::Head,
            http::Method::POST => Self::Post,
            http::Method::PUT => Self::Put,
            http::Method::DELETE => Self::Delete,
            http::Method::OPTIONS => Self::Options,
            http::Method::PATCH => Self::Patch,
            _ => Self::Other,
        }
    }
}

/// The route template a request matched, or `unmatched`; or a gRPC method. Only axum's
/// [`MatchedPath`] makes an HTTP one, so the values are the router's table: bounded, and never
/// a client's raw path (a list of routes here would drift from the router); gRPC's are the
/// service's method paths, written by `server::grpc`.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// An HTTP route's template, or none.
    Http(Option<MatchedPath>),
    /// A gRPC method's path (`/inference.GRPCInferenceService/ModelInfer`).
    Grpc(&'static str),
}

impl Route {
    fn new(matched: Option<&MatchedPath>) -> Self {
        Self::Http(matched.cloned())
    }

    fn as_str(&self) -> &str {
        match self {
            Self::Http(matched) => matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
            Self::Grpc(path) => path,
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// An HTTP status code (`http` only makes 100 to 999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Code(pub(crate) StatusCode);

impl Code {
    /// The label value: the three digits.
    fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// The labels of the per-route histograms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    /// Prometheus's usual name for it.
    pub(crate) method: Method,
    pub(crate) route: Route,
}

impl RouteLabels {
    /// The labels of a request.
    pub fn new(method: &http::Method, matched: Option<&MatchedPath>) -> Self {
        Self {
            method: method.into(),
            route: Route::new(matched),
        }
    }

    /// The labels of a gRPC call (an HTTP/2 POST to the method's path): one per method of
    /// the service, so as bounded as the router's table.
    pub fn grpc(path: &'static str) -> Self {
        Self {
            method: Method::Post,
            route: Route::Grpc(path),
        }
    }
}

/// The labels of `legendary_http_requests_total`: the route's, and the status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct StatusLabels {
    #[prometheus(flatten)]
    pub(crate) request: RouteLabels,
    /// Prometheus's usual name for it.
    pub(crate) code: Code,
}

/// What the accept loop did with a connection (the `result` label of
/// `legendary_http_connections_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConnectionResult {
    /// Accepted and served.
    Accepted,
    /// Closed while idle (no request in flight), the oldest idle one, to make room under
    /// `--max-connections`.
    Evicted,
    /// Closed while idle to keep its peer within `--max-connections-per-peer`.
    PeerEvicted,
    /// Closed at once: every slot held a request in flight.
    Refused,
    /// Closed at once: every connection of its peer held a request in flight.
    PeerRefused,
    /// `accept` itself failed (out of descriptors, reset before accept).
    AcceptError,
}

impl ConnectionResult {
    /// Every result.
    pub(crate) const ALL: [Self; 6] = [
        Self::Accepted,
        Self::Evicted,
        Self::PeerEvicted,
        Self::Refused,
        Self::PeerRefused,
        Self::AcceptError,
    ];

    /// The label value.
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Evicted => "evicted",
            Self::PeerEvicted => "peer_evicted",
            Self::Refused => "refused",
            Self::PeerRefused => "peer_refused",
            Self::AcceptError => "accept_error",
        }
    }
}

/// What became of a new model version (the `result` label of
/// `legendary_model_reloads_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReloadResult {
    /// Swapped in: it serves.
    Succeeded,
    /// Refused: it did not validate, and the old one keeps serving.
    Failed,
}

impl ReloadResult {
    /// Every result.
    pub(crate) const ALL: [Self; 2] = [Self::Succeeded, Self::Failed];

    /// The label value.
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// Why a reload poll failed before a new version could be judged (the `cause` label of
/// `legendary_model_reload_poll_failures_total`); the next poll tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollFailure {
    /// The registry did not resolve the model URI.
    Registry,
    /// The new version's files could not be had.
    Download,
    /// The poll ran out of time.
    Timeout,
}

impl PollFailure {
    /// Every cause.
    pub(crate) const ALL: [Self; 3] = [Self::Registry, Self::Download, Self::Timeout];

    /// The label value, and the `cause` `/version` shows.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Download => "download",
            Self::Timeout => "timeout",
        }
    }
}

/// How a reload poll that found something new, or failed, ended (the `outcome` label of
/// `legendary_model_last_reload_timestamp_seconds`, and `/version`'s `last_reload.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReloadOutcome {
    /// The new version serves.
    Swapped,
    /// The new version did not validate; the old one keeps serving.
    Refused,
    /// The registry, the download or the deadline failed; the old one keeps serving.
    Failed,
}

impl ReloadOutcome {
    /// The label value (the same text as its JSON).
    fn as_str(self) -> &'static str {
        match self {
            Self::Swapped => "swapped",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// The labels of `legendary_http_connections_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ConnectionLabels {
    pub(crate) result: ConnectionResult,
}

/// The labels of `legendary_model_reloads_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ReloadLabels {
    pub(crate) result: ReloadResult,
}

/// The labels of `legendary_model_reload_poll_failures_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct PollFailureLabels {
    pub(crate) cause: PollFailure,
}

/// The labels of `legendary_model_compile_failures_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct CompileFailureLabels {
    pub(crate) cause: Cause,
}

/// The labels of `legendary_model_last_reload_timestamp_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub(crate) outcome: ReloadOutcome,
}

/// The labels of `legendary_build_info`: the binary's version, fixed at compile time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct BuildLabels {
    pub(crate) version: &'static str,
}
