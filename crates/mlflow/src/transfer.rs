//! The one bounded download: every byte that comes from elsewhere (a model through the
//! tracking server's proxy, an object from a store, a data file over HTTP) is streamed to
//! `<file>.part` and renamed only when complete, counted against one byte budget for the
//! whole transfer, and given up on when the source falls silent for the idle timeout or the
//! deadline passes. Callers bring the stream; this module owns the bounds and the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use tokio::io::AsyncWriteExt as _;
use tokio::time::Instant;

use crate::store::path::UnsafePath;

/// Most files one download may bring (a model directory holds a handful).
pub const MAX_FILES: usize = 10_000;

/// What one download may take: bytes (all files together), silence per read, and a deadline.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most bytes, all files together.
    pub max_bytes: u64,
    /// Longest wait for the next bytes of a file.
    pub idle: Duration,
    /// Nothing runs past this.
    pub deadline: Instant,
}

/// Why a transfer stopped, whatever the source: the same words for a proxy, a store or a URL.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The transfer went over its byte budget.
    #[error("`{what}` is larger than the limit of {limit} bytes (--download-max-bytes)")]
    TooLarge {
        /// What was being downloaded.
        what: String,
        /// The budget, in bytes.
        limit: u64,
    },
    /// The source fell silent, or the deadline passed.
    #[error("`{what}`: {why} after {received} bytes")]
    Stalled {
        /// What was being downloaded.
        what: String,
        /// Which bound stopped it.
        why: String,
        /// Bytes of this file received before it stopped.
        received: u64,
    },
    /// The tree has more files than [`MAX_FILES`].
    #[error("`{uri}` holds more than {limit} files")]
    TooManyFiles {
        /// The tree's URI.
        uri: String,
        /// [`MAX_FILES`].
        limit: usize,
    },
    /// A remote name that would escape the destination directory.
    #[error(transparent)]
    UnsafePath(#[from] UnsafePath),
    /// A local file could not be written.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The local file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl TransferError {
    /// An I/O failure on `path`, naming it.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why a stream could not be saved: the bounds (or the local file), or the source's own
/// error after `received` bytes of the file, for the caller to name in its own terms.
#[derive(Debug)]
pub enum StreamError<E> {
    /// A bound, or the local file.
    Transfer(TransferError),
    /// The source failed.
    Source {
        /// The source's error.
        error: E,
        /// Bytes of this file received before it.
        received: u64,
    },
}

impl<E> From<TransferError> for StreamError<E> {
    fn from(error: TransferError) -> Self {
        Self::Transfer(error)
    }
}

/// What a transfer may still take: what is left of its byte budget, under its [`Limits`].
#[derive(Debug)]
pub struct Budget {
    left: u64,
    limits: Limits,
    files: usize,
}

impl Budget {
    /// The whole of `limits`, nothing spent.
    pub fn new(limits: Limits) -> Self {
        Self {
            left: limits.max_bytes,
            limits,
            files: 0,
        }
    }

    /// Counts one more file of the tree at `uri` against [`MAX_FILES`].
    ///
    /// # Errors
    /// [`TransferError::TooManyFiles`] past the cap.
    pub fn count_file(&mut self, uri: &str) -> Result<(), TransferError> {
        if self.files >= MAX_FILES {
            return Err(TransferError::TooManyFiles {
                uri: uri.to_owned(),
                limit: MAX_FILES,
            });
        }
        self.files += 1;
        Ok(())
    }

    /// Runs a request (a listing page, or the start of a download) unless the deadline
    /// passes first.
    ///
    /// # Errors
    /// [`TransferError::Stalled`] when the deadline passes first.
    pub async fn before_deadline<T>(
        &self,
        what: &str,
        call: impl Future<Output = T>,
    ) -> Result<T, TransferError> {
        tokio::time::timeout_at(self.limits.deadline, call)
            .await
            .map_err(|_| TransferError::Stalled {
                what: what.to_owned(),
                why: "no answer by its deadline".to_owned(),
                received: 0,
            })
    }

    /// Saves `stream` as `dest` (through `dest.part`, renamed when complete and removed
    /// otherwise), counting its bytes against the budget as they arrive and giving up when
    /// none come for the idle timeout or the deadline passes. `what` names the source in
    /// errors.
    ///
    /// # Errors
    /// [`TransferError::TooLarge`], [`TransferError::Stalled`], [`TransferError::Io`], or
    /// the source's own error.
    pub async fn save<E>(
        &mut self,
        stream: impl Stream<Item = Result<Bytes, E>> + Unpin,
        what: &str,
        dest: &Path,
    ) -> Result<(), StreamError<E>> {
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| TransferError::io(parent, error))?;
        }
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|error| TransferError::io(&partial, error))?;
        let copied = self.copy(stream, what, &mut file, &partial).await;
        drop(file);
        if let Err(error) = copied {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error);
        }
        tokio::fs::rename(&partial, dest)
            .await
            .map_err(|error| TransferError::io(dest, error).into())
    }

    async fn copy<E>(
        &mut self,
        mut stream: impl Stream<Item = Result<Bytes, E>> + Unpin,
        what: &str,
        file: &mut tokio::fs::File,
        partial: &Path,
    ) -> Result<(), StreamError<E>> {
        let mut received = 0u64;
        loop {
            let left = self
                .limits
                .deadline
                .saturating_duration_since(Instant::now());
            let wait = self.limits.idle.min(left);
            let chunk = match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(Some(Err(error))) => return Err(StreamError::Source { error, received }),
                Ok(None) => break,
                Err(_) => {
                    let why = if wait < self.limits.idle {
                        "not finished by its deadline".to_owned()
                    } else {
                        format!(
                            "no bytes for {} (--download-idle-timeout)",
                            humantime::format_duration(self.limits.idle)
                        )
                    };
                    return Err(TransferError::Stalled {
                        what: what.to_owned(),
                        why,
                        received,
                    }
                    .into());
                }
            };
            received += chunk.len() as u64;
            if chunk.len() as u64 > self.left {
                return Err(TransferError::TooLarge {
                    what: what.to_owned(),
                    limit: self.limits.max_bytes,
                }
                .into());
            }
            self.left -= chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|error| TransferError::io(partial, error))?;
        }
        file.flush()
            .await
            .map_err(|error| TransferError::io(partial, error).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_bytes: u64, idle_ms: u64, deadline_ms: u64) -> Limits {
        Limits {
            max_bytes,
            idle: Duration::from_millis(idle_ms),
            deadline: Instant::now() + Duration::from_millis(deadline_ms),
        }
    }

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures_util::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))))
    }

    #[tokio::test]
    async fn a_complete_stream_is_renamed_into_place_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/model.json");
        let mut budget = Budget::new(limits(10, 1000, 5000));
        budget
            .save(chunks(&[b"abc", b"de"]), "m", &dest)
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abcde");
        assert!(!dir.path().join("a/model.json.part").exists());
        // The budget is for the whole transfer: 5 of 10 bytes are left.
        let error = budget
            .save(chunks(&[b"123456"]), "n", &dir.path().join("n"))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            StreamError::Transfer(TransferError::TooLarge { limit: 10, .. })
        ));
        assert!(!dir.path().join("n").exists() && !dir.path().join("n.part").exists());
    }

    #[tokio::test]
    async fn a_silent_source_stops_at_the_idle_timeout_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("slow");
        let silent = chunks(&[b"ab"]).chain(futures_util::stream::pending());
        let mut budget = Budget::new(limits(10, 100, 5000));
        match budget.save(Box::pin(silent), "slow", &dest).await {
            Err(StreamError::Transfer(e @ TransferError::Stalled { received: 2, .. })) => {
                assert!(e.to_string().contains("no bytes for 100ms"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!dest.exists() && !dir.path().join("slow.part").exists());
    }

    #[tokio::test]
    async fn the_deadline_wins_over_a_longer_idle_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let silent = futures_util::stream::pending::<Result<Bytes, String>>();
        let mut budget = Budget::new(limits(10, 60_000, 100));
        match budget.save(silent, "late", &dir.path().join("late")).await {
            Err(StreamError::Transfer(e @ TransferError::Stalled { .. })) => {
                assert!(
                    e.to_string().contains("not finished by its deadline"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_source_error_comes_back_with_the_bytes_received() {
        let dir = tempfile::tempdir().unwrap();
        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("reset".to_owned()),
        ]);
        let mut budget = Budget::new(limits(10, 1000, 5000));
        match budget.save(failing, "x", &dir.path().join("x")).await {
            Err(StreamError::Source { error, received }) => {
                assert_eq!((error.as_str(), received), ("reset", 3));
            }
            other => panic!("{other:?}"),
        }
        assert!(!dir.path().join("x.part").exists());
    }

    #[test]
    fn more_files_than_the_cap_are_refused() {
        let mut budget = Budget::new(limits(10, 1000, 5000));
        for _ in 0..MAX_FILES {
            budget.count_file("s3://b/p").unwrap();
        }
        let error = budget.count_file("s3://b/p").unwrap_err();
        assert_eq!(error.to_string(), "`s3://b/p` holds more than 10000 files");
    }
}
