//! The Open Inference Protocol v2 over gRPC (`inference.GRPCInferenceService`, as KServe,
//! Triton and MLServer serve it) on its own port (`--grpc-port`), beside the HTTP server and on
//! the same model, limits, permits, metrics and hot reload.
//!
//! What it answers is what the REST routes answer (`oip`): the same model name and version,
//! the same inputs (one `[N, F]` tensor or one per feature, any numeric datatype, in typed
//! `contents` or `raw_input_contents`) and the same two outputs, written as
//! `raw_output_contents` as Triton writes them (tritonclient reads only those). Errors are gRPC
//! statuses: `INVALID_ARGUMENT` where REST answers 400, `NOT_FOUND` for 404,
//! `RESOURCE_EXHAUSTED` for too many rows, `UNAVAILABLE` before a model is loaded or while
//! draining, `DEADLINE_EXCEEDED` past `--timeout`; the message is REST's.
//!
//! Memory: a gRPC message is decoded whole before a handler sees it, and its size is not
//! known before it is read, so every `ModelInfer` call is read and scored under one of the
//! `--max-large-requests` permits (taken before the first byte is decoded, by [`Gate`]), and a
//! message is at most `--max-body-bytes`: the HTTP server's bound holds for gRPC too.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::StatusCode;
use tokio::net::TcpListener;
use tonic::{Code, Request, Response, Status};

use super::invocations::blockwise;
use super::oip::{ModelMetadata, forest_only, named};
use crate::acquire::Served;
use crate::cancel::Cancel;
use crate::http::metrics::{Answered, RouteLabels};
use crate::http::{ApiError, AppState};
use legendary_scoring::oip::{self, Tensor};

/// The protocol's messages and service, generated from `proto/grpc_predict_v2.proto`.
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    reason = "generated code"
)]
pub mod proto {
    tonic::include_proto!("inference");
}

use proto::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use proto::model_infer_response::InferOutputTensor;
use proto::{
    ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelMetadataResponse,
    ModelReadyRequest, ModelReadyResponse, ServerLiveRequest, ServerLiveResponse,
    ServerMetadataRequest, ServerMetadataResponse, ServerReadyRequest, ServerReadyResponse,
    model_metadata_response,
};

/// The service's methods, by path: the metrics' route label of each.
const SERVICE: &str = "/inference.GRPCInferenceService/";
const INFER: &str = "/inference.GRPCInferenceService/ModelInfer";

/// HTTP/2 flow-control windows: bytes a client may send before the server acknowledges them.
const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// Requests of at least this many values are scored off the async workers, as REST's large
/// bodies are (about 64 KiB of JSON).
const OFFLOAD_VALUES: usize = 8 * 1024;

/// Serves the protocol on `listener` until `shutdown` resolves, then lets calls in flight
/// finish (the caller bounds how long).
///
/// # Errors
/// A server I/O failure.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let limits = state.limits().clone();
    let service = GrpcInferenceServiceServer::new(Inference {
        state: state.clone(),
    })
    .max_decoding_message_size(limits.max_body_bytes);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .trace_fn(request_span)
        // Windows that take a large request in one go (HTTP/2's default 64 KiB window makes a
        // 48 KB, 1,000-row request wait for a window update); gRPC C-core clients do the same.
        .initial_stream_window_size(Some(STREAM_WINDOW))
        .initial_connection_window_size(Some(CONNECTION_WINDOW))
        // Idle connections and stalled streams are closed as the HTTP server closes them.
        .http2_keepalive_interval(Some(limits.header_timeout))
        .layer(tower::layer::layer_fn(move |inner| Gate {
            inner,
            state: state.clone(),
        }))
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Longest gRPC path copied into a span (the service's longest method path is 42).
const MAX_SHOWN_ROUTE: usize = 64;

/// The span of one call, as the HTTP server's: method, route (the gRPC method's path, cut
/// short: a client chooses it) and request id (`x-request-id` metadata, when usable).
fn request_span(request: &axum::http::Request<()>) -> tracing::Span {
    let route = super::telemetry::shortened(request.uri().path(), MAX_SHOWN_ROUTE);
    let request_id = request
        .headers()
        .get("x-request-id")
        .filter(|id| super::telemetry::usable_request_id(id))
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = "POST", %route, request_id)
}

/// Takes a large-request permit for every `ModelInfer` call before its message is read, and
/// holds it until the call is answered.
#[derive(Clone)]
struct Gate<S> {
    inner: S,
    state: AppState,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Gate<S>
where
    S: tower::Service<axum::http::Request<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one called (tower's rule for cloned services).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        let gated = request.uri().path() == INFER;
        Box::pin(async move {
            let _permit = match gated {
                true => state.permits().large().await,
                false => None,
            };
            inner.call(request).await
        })
    }
}

/// The service: the server's state, shared with the HTTP routes.
struct Inference {
    state: AppState,
}

impl Inference {
    /// Records one answered call in the server's metrics (by method, with the status REST
    /// would have answered) and logs it as the HTTP access log does.
    fn record<T>(
        &self,
        path: &'static str,
        started: Instant,
        rows: Option<usize>,
        result: Result<T, ApiError>,
    ) -> Result<Response<T>, Status> {
        let status = match &result {
            Ok(_) => StatusCode::OK,
            Err(e) => e.wire().status,
        };
        let elapsed = started.elapsed();
        self.state.metrics().record_request(
            &RouteLabels::grpc(path),
            &Answered {
                status,
                elapsed,
                request_bytes: 0,
                response_bytes: None,
                rows: rows.filter(|_| result.is_ok()).map(|r| r as u64),
            },
        );
        tracing::info!(
            method = path.trim_start_matches(SERVICE),
            status = status.as_u16(),
            latency_ms = elapsed.as_micros() as f64 / 1e3,
            rows,
            "answered (gRPC)"
        );
        result.map(Response::new).map_err(status_of)
    }

    /// `ModelInfer`, as REST's `infer`: parsed into a batch, scored (a large one off the
    /// async workers, under the timeout), answered as raw bytes.
    async fn infer(
        &self,
        request: ModelInferRequest,
        request_id: String,
    ) -> Result<ModelInferResponse, ApiError> {
        let state = &self.state;
        let (served, name) = named(state, &request.model_name, version(&request.model_version))?;
        forest_only(&served)?;
        let limits = &state.limits().scoring;
        let features = served.model.input_features();
        let tensors = tensors(
            &request,
            oip::max_values(limits, features.len()),
            limits.max_rows,
        )?;
        let wanted = oip::requested_outputs(request.outputs.iter().map(|o| o.name.as_str()))?;
        let batch = oip::rows(tensors, features, limits)?;
        let version = served.resolved.version.clone().unwrap_or_default();
        let scored = if batch.values().len() < OFFLOAD_VALUES {
            score(
                state,
                &served,
                (batch.values(), batch.n_cols()),
                &request_id,
                &Cancel::never(),
            )
        } else {
            // Dropped with this future when the call times out (`model_infer`): the scoring
            // stops at its next look, and the permit goes back.
            let (cancel, _cancel_on_drop) = Cancel::on_drop();
            let span = tracing::Span::current();
            let served = Arc::clone(&served);
            let state = state.clone();
            tokio::task::spawn_blocking(move || {
                let _enter = span.enter();
                score(
                    &state,
                    &served,
                    (batch.values(), batch.n_cols()),
                    &request_id,
                    &cancel,
                )
            })
            .await
            .map_err(ApiError::internal)?
        };
        let (decisions, probabilities) = scored.ok_or(ApiError::Timeout(state.limits().timeout))?;
        Ok(answer(
            name,
            version,
            request.id,
            wanted,
            &decisions,
            &probabilities,
        ))
    }
}

/// The decisions and probabilities of the rows (`values` row-major, `n_cols` a row); `None`
/// once cancelled.
fn score(
    state: &AppState,
    served: &Served,
    (values, n_cols): (&[f64], usize),
    request_id: &str,
    cancel: &Cancel,
) -> Option<(Vec<bool>, Vec<f64>)> {
    let probabilities = blockwise(values, n_cols, cancel, |block| {
        served.model.proba_batch(block)
    })?;
    let decisions = served.model.decide_all(&probabilities);
    state.scored(served, values, &probabilities, &decisions, request_id);
    Some((decisions, probabilities))
}

/// The request's inputs as tensors of f64, from `raw_input_contents` (one entry per input)
/// or from each input's typed `contents`, never more than `max` values in all.
fn tensors(
    request: &ModelInferRequest,
    max: usize,
    max_rows: usize,
) -> Result<Vec<Tensor>, ApiError> {
    let raw = &request.raw_input_contents;
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(bad(format!(
            "The request has {} inputs but {} raw_input_contents: give one per input, or none.",
            request.inputs.len(),
            raw.len()
        )));
    }
    let mut left = max;
    let mut out = Vec::with_capacity(request.inputs.len());
    for (at, input) in request.inputs.iter().enumerate() {
        let values = match raw.get(at) {
            Some(bytes) => {
                if input.contents.is_some() {
                    return Err(bad(format!(
                        "Input '{}' has both contents and raw_input_contents: give one.",
                        input.name
                    )));
                }
                oip::decode_raw(&input.name, &input.datatype, bytes, left, max_rows)?
            }
            None => typed(input, left, max_rows)?,
        };
        left = left.saturating_sub(values.len());
        out.push(Tensor {
            name: input.name.clone(),
            shape: input.shape.clone(),
            datatype: input.datatype.clone(),
            values,
        });
    }
    Ok(out)
}

/// An input's values from the `contents` field of its datatype, at most `max` of them.
fn typed(
    input: &proto::model_infer_request::InferInputTensor,
    max: usize,
    max_rows: usize,
) -> Result<Vec<f64>, ApiError> {
    let empty = proto::InferTensorContents::default();
    let c = input.contents.as_ref().unwrap_or(&empty);
    let count = match input.datatype.as_str() {
        "FP64" => c.fp64_contents.len(),
        "FP32" => c.fp32_contents.len(),
        "INT8" | "INT16" | "INT32" => c.int_contents.len(),
        "INT64" => c.int64_contents.len(),
        "UINT8" | "UINT16" | "UINT32" => c.uint_contents.len(),
        "UINT64" => c.uint64_contents.len(),
        "FP16" => {
            return Err(bad(format!(
                "Input '{}' is FP16, which gRPC carries only as raw_input_contents.",
                input.name
            )));
        }
        other => {
            return Err(bad(format!(
                "Input '{}' has datatype {other}: the model takes numbers (FP16, FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64).",
                input.name
            )));
        }
    };
    if count > max {
        return Err(legendary_scoring::ScoringError::too_many_rows(max_rows).into());
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "64-bit integers are read as JSON numbers are"
    )]
    let values = match input.datatype.as_str() {
        "FP64" => c.fp64_contents.clone(),
        "FP32" => c.fp32_contents.iter().map(|&v| f64::from(v)).collect(),
        "INT8" | "INT16" | "INT32" => c.int_contents.iter().map(|&v| f64::from(v)).collect(),
        "INT64" => c.int64_contents.iter().map(|&v| v as f64).collect(),
        "UINT8" | "UINT16" | "UINT32" => c.uint_contents.iter().map(|&v| f64::from(v)).collect(),
        _ => c.uint64_contents.iter().map(|&v| v as f64).collect(),
    };
    Ok(values)
}

fn bad(message: String) -> ApiError {
    ApiError::Scoring(legendary_scoring::ScoringError::bad_request(message))
}

/// The answer: the outputs asked for, each `[N]`, as raw little-endian bytes (BOOL one byte
/// a value).
fn answer(
    model_name: String,
    model_version: String,
    id: String,
    wanted: [bool; 2],
    decisions: &[bool],
    probabilities: &[f64],
) -> ModelInferResponse {
    let n = i64::try_from(decisions.len()).unwrap_or(i64::MAX);
    let mut outputs = Vec::with_capacity(2);
    let mut raw = Vec::with_capacity(2);
    if wanted[0] {
        outputs.push(output(oip::OUTPUTS[0], "BOOL", n));
        raw.push(decisions.iter().map(|&d| u8::from(d)).collect());
    }
    if wanted[1] {
        outputs.push(output(oip::OUTPUTS[1], "FP64", n));
        raw.push(probabilities.iter().flat_map(|p| p.to_le_bytes()).collect());
    }
    ModelInferResponse {
        model_name,
        model_version,
        id,
        parameters: Default::default(),
        outputs,
        raw_output_contents: raw,
    }
}

fn output(name: &str, datatype: &str, n: i64) -> InferOutputTensor {
    InferOutputTensor {
        name: name.to_owned(),
        datatype: datatype.to_owned(),
        shape: vec![n],
        parameters: Default::default(),
        contents: None,
    }
}

/// The gRPC status of an error: the code gRPC clients expect for what REST answers with its
/// HTTP status, and REST's message (never an internal cause, which goes to the log).
fn status_of(error: ApiError) -> Status {
    error.log_if_internal();
    let code = match error.wire().status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::InvalidArgument,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => Code::DeadlineExceeded,
        _ => Code::Internal,
    };
    Status::new(code, error.message())
}

/// The version a request names; empty means whichever is served.
fn version(v: &str) -> Option<&str> {
    Some(v).filter(|v| !v.is_empty())
}

#[tonic::async_trait]
impl GrpcInferenceService for Inference {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        let started = Instant::now();
        let path = "/inference.GRPCInferenceService/ServerLive";
        self.record(path, started, None, Ok(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        let started = Instant::now();
        let ready = !self.state.is_draining() && self.state.live_model().is_ok();
        let path = "/inference.GRPCInferenceService/ServerReady";
        self.record(path, started, None, Ok(ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        let started = Instant::now();
        let r = request.get_ref();
        let result = named(&self.state, &r.name, version(&r.version))
            .map(|_| ModelReadyResponse { ready: true });
        let path = "/inference.GRPCInferenceService/ModelReady";
        self.record(path, started, None, result)
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        let started = Instant::now();
        let answer = ServerMetadataResponse {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            extensions: Vec::new(),
        };
        let path = "/inference.GRPCInferenceService/ServerMetadata";
        self.record(path, started, None, Ok(answer))
    }

    async fn model_metadata(
        &self,
        request: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let started = Instant::now();
        let r = request.get_ref();
        let result = named(&self.state, &r.name, version(&r.version)).map(|(served, name)| {
            let metadata = ModelMetadata::of(&served, name);
            let tensors = |list: Vec<super::oip::TensorMetadata>| {
                list.into_iter()
                    .map(|t| model_metadata_response::TensorMetadata {
                        name: t.name,
                        datatype: t.datatype.to_owned(),
                        shape: t.shape.to_vec(),
                    })
                    .collect()
            };
            ModelMetadataResponse {
                name: metadata.name,
                versions: metadata.versions,
                platform: metadata.platform.to_owned(),
                inputs: tensors(metadata.inputs),
                outputs: tensors(metadata.outputs),
            }
        });
        let path = "/inference.GRPCInferenceService/ModelMetadata";
        self.record(path, started, None, result)
    }

    async fn model_infer(
        &self,
        request: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let started = Instant::now();
        let _in_flight = self.state.metrics().enter();
        let timeout = self.state.limits().timeout;
        // The payload log's request id: the `x-request-id` metadata, else the OIP request's
        // own `id`, else a fresh one (as the HTTP server makes one).
        let header = request
            .metadata()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .filter(|id| super::telemetry::usable_id(id.as_bytes()))
            .map(str::to_owned);
        let request = request.into_inner();
        let request_id = header
            .or_else(|| {
                super::telemetry::usable_id(request.id.as_bytes()).then(|| request.id.clone())
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let result = match tokio::time::timeout(timeout, self.infer(request, request_id)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::Timeout(timeout)),
        };
        let rows = result.as_ref().ok().map(|r| {
            r.outputs
                .first()
                .and_then(|o| o.shape.first())
                .map_or(0, |&n| usize::try_from(n).unwrap_or(0))
        });
        self.record(INFER, started, rows, result)
    }
}
