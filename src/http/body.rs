//! Reads a request body into one buffer, enforcing the body limit while it streams.
//!
//! The buffer grows with what actually arrives, never with what `Content-Length` promises: a
//! client that declares 64 MiB and sends nothing holds a few hundred kilobytes, not 64 MiB.
//! It grows to at most the declared length, so a large honest body (100,000 rows, 2.3 MB)
//! still ends in one buffer of its exact size, copied a few times while growing rather than
//! held twice (docs/benchmarks.md).
//!
//! A body over the limit is read on and dropped, up to [`DRAIN_PAST_LIMIT`] more bytes, before
//! the 413 goes out with `Connection: close`: clients that send the whole body before reading
//! the answer (Python `requests`, most pooled clients) then read the 413 instead of a reset.
//!
//! Nothing is buffered before a permit of the body's class is held (see [`super::permits`]):
//! the class is the declared length's, and a body of unknown length starts small and trades
//! up for a large permit when it passes [`SMALL_BODY_BYTES`]. Once held, the body must arrive
//! within `--body-timeout` (counted from each permit taken), or it is a 408 and the permit
//! goes back: a stalled upload cannot keep its slot until the request timeout.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt as _;
use tokio::time::Instant;

use super::error::ApiError;
use super::permits::{Permit, SMALL_BODY_BYTES};
use super::state::AppState;

/// First reservation, before any byte is in: small enough for thousands of idle uploads.
const FIRST_RESERVATION: usize = 64 * 1024;

/// How much of an over-limit body is read and dropped so the client sees the 413.
pub(crate) const DRAIN_PAST_LIMIT: usize = 64 * 1024 * 1024;

/// A body read whole, and the permit it was read under: hold it while the body is worked on
/// (a large body's permit also bounds how many are scored at once).
#[derive(Debug)]
pub(crate) struct Read {
    /// The bytes.
    pub(crate) bytes: Vec<u8>,
    /// The permit; `None` only if the semaphores were closed, which they never are.
    pub(crate) permit: Option<Permit>,
}

/// Reads `body` whole under a permit of its class. A declared or actual length over `limit`
/// bytes is a 413 naming the limit; a broken stream is a 400 saying so; a body that takes
/// longer than `--body-timeout` to arrive is a 408.
pub(crate) async fn read(
    state: &AppState,
    mut body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Read, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared
        && n > limit
    {
        if n - limit <= DRAIN_PAST_LIMIT {
            drain(body, n).await;
        }
        return Err(ApiError::TooLarge(limit));
    }
    let permits = state.permits();
    let timeout = state.limits().body_timeout;
    let mut large = declared.is_some_and(|n| n >= SMALL_BODY_BYTES);
    let mut permit = match large {
        true => permits.large().await,
        false => permits.small().await,
    };
    let mut deadline = Instant::now() + timeout;
    let target = declared.unwrap_or(limit);
    let mut buf = Vec::with_capacity(target.min(FIRST_RESERVATION));
    while let Some(frame) = next_frame(&mut body, deadline, timeout).await? {
        let frame = frame
            .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
        if let Ok(chunk) = frame.into_data() {
            if buf.len() + chunk.len() > limit {
                drain(body, DRAIN_PAST_LIMIT).await;
                return Err(ApiError::TooLarge(limit));
            }
            let needed = buf.len() + chunk.len();
            if !large && needed >= SMALL_BODY_BYTES {
                // Longer than it said, or it said nothing: it reads on as a large body.
                large = true;
                permit = permits.large().await;
                deadline = Instant::now() + timeout;
            }
            if needed > buf.capacity() {
                // Double, but never past the declared length (or the limit): an honest body
                // ends in a buffer of its exact size.
                let want = (buf.capacity() * 2).clamp(needed, target.max(needed));
                buf.reserve_exact(want - buf.len());
            }
            buf.extend_from_slice(&chunk);
        }
    }
    Ok(Read { bytes: buf, permit })
}

/// The next frame of `body`, or a 408 at `deadline`.
async fn next_frame(
    body: &mut Body,
    deadline: Instant,
    timeout: Duration,
) -> Result<Option<Result<hyper::body::Frame<bytes::Bytes>, axum::Error>>, ApiError> {
    tokio::time::timeout_at(deadline, body.frame())
        .await
        .map_err(|_| ApiError::BodyTimeout(timeout))
}

/// Reads and drops up to `most` bytes of what is left of `body`, stopping at the first error.
async fn drain(mut body: Body, most: usize) {
    let mut seen = 0usize;
    while seen < most {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}
