//! The application: every route in one place, and the layers around them with their order.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use super::invocations::invocations;
use super::oip;
use super::probes::{health, model_card, ping, version};
use super::telemetry::{MAX_SHOWN_METHOD, shortened};
use crate::http::{ApiError, AppState, metrics_handler, track};

/// Builds the application: pure, so tests serve exactly what production serves.
pub fn app(state: AppState) -> Router {
    let limits = state.limits().clone();
    Router::new()
        .route("/invocations", post(invocations))
        .route("/explain", post(super::explain::explain))
        .route("/ping", get(ping))
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/model", get(model_card))
        .route("/metrics", get(metrics_handler))
        .route("/monitoring", get(super::monitoring::monitoring))
        .route("/openapi.json", get(super::openapi::openapi_json))
        // The Open Inference Protocol v2 (KServe, Triton, MLServer).
        .route("/v2", get(oip::server_metadata))
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready))
        .route("/v2/models/{name}", get(oip::model_metadata))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(oip::version_metadata),
        )
        .route("/v2/models/{name}/ready", get(oip::model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(oip::version_ready),
        )
        .route("/v2/models/{name}/infer", post(oip::infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(oip::version_infer),
        )
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        // Layers run outside-in, i.e. bottom to top of this list. `Router::layer` wraps each
        // route (and the fallbacks), so every layer here already sees `MatchedPath`.
        // 1. the body limit only sets a limit that the `Bytes` extractor enforces (413 JSON);
        //    `/invocations` reads its body itself and enforces the same limit (`http::read_body`);
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        // 2. the timeout covers reading the body and scoring, and answers 504 JSON;
        .layer(middleware::from_fn_with_state(limits.timeout, timeout))
        // 3. metrics: outside the timeout so 504s are counted with their real latency,
        //    inside the span so nothing it does escapes the request's logs;
        .layer(middleware::from_fn_with_state(state, track))
        // 4. the trace span sees the request id set by 5; one access line per response;
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(super::telemetry::request_span)
                .on_response(super::telemetry::AccessLog)
                // the access line carries the status; 5xx details are logged by `ApiError`.
                .on_failure(()),
        )
        // 5. request ids: taken from `x-request-id` or made, and echoed on the response; an
        //    id that is too long or not a plain token is replaced, never echoed or logged.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::map_request(drop_unusable_request_id))
        // 6. security headers, outermost so that every answer has them, errors included.
        .layer(
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                )),
        )
}

/// What the page (`/`), the API explorer (`/docs`) and their assets may load: only files of
/// this server (their scripts and styles are files, no inline code), `data:` images (Swagger
/// UI's style sheet draws its icons so), requests to this server; never framed (against
/// click-jacking, with `X-Frame-Options` for older browsers). On a JSON answer it costs
/// nothing and stops a browser from running anything an answer might be made to contain.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Removes an `x-request-id` that is not [`usable`](super::telemetry::usable_request_id), so
/// a fresh one is made for the request.
async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request
        .headers()
        .get("x-request-id")
        .is_none_or(super::telemetry::usable_request_id);
    if !usable {
        request.headers_mut().remove("x-request-id");
    }
    request
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}

/// Longest path quoted back in a 404 or 405 (a URI may be tens of kilobytes).
const MAX_SHOWN_PATH: usize = 256;

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "No route for {} {}.",
        shortened(request.method().as_str(), MAX_SHOWN_METHOD),
        shortened(request.uri().path(), MAX_SHOWN_PATH)
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "Method {} is not allowed on {}.",
        shortened(request.method().as_str(), MAX_SHOWN_METHOD),
        shortened(request.uri().path(), MAX_SHOWN_PATH)
    ))
}
