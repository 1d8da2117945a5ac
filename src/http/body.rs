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

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt as _;

use super::error::ApiError;

/// First reservation, before any byte is in: small enough for thousands of idle uploads.
const FIRST_RESERVATION: usize = 64 * 1024;

/// How much of an over-limit body is read and dropped so the client sees the 413.
pub(crate) const DRAIN_PAST_LIMIT: usize = 64 * 1024 * 1024;

/// Reads `body` whole. A declared or actual length over `limit` bytes is a 413 naming the
/// limit; a broken stream is a 400 saying so.
pub(crate) async fn read(
    mut body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
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
    let target = declared.unwrap_or(limit);
    let mut buf = Vec::with_capacity(target.min(FIRST_RESERVATION));
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
        if let Ok(chunk) = frame.into_data() {
            if buf.len() + chunk.len() > limit {
                drain(body, DRAIN_PAST_LIMIT).await;
                return Err(ApiError::TooLarge(limit));
            }
            let needed = buf.len() + chunk.len();
            if needed > buf.capacity() {
                // Double, but never past the declared length (or the limit): an honest body
                // ends in a buffer of its exact size.
                let want = (buf.capacity() * 2).clamp(needed, target.max(needed));
                buf.reserve_exact(want - buf.len());
            }
            buf.extend_from_slice(&chunk);
        }
    }
    Ok(buf)
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
