//! Reading a model directory's files within their caps: a file on disk is checked before it
//! is opened (a FIFO would block) and read no further than one byte past its cap, so a file
//! that grows or lies about its size still costs at most that.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use super::ArtifactError;

/// Reads `path` whole if it is a regular file of at most `limit` bytes (`limit_name` is the
/// [`ReadLimits`] field, for the error); `Ok(None)` if it does not exist. The size on disk is
/// checked first, and the read stops one byte past the limit, so a file that grows while it
/// is read, or whose size lies, still costs at most `limit + 1` bytes.
///
/// # Errors
/// [`ArtifactError::TooLarge`], [`ArtifactError::NotAFile`] or an I/O error, naming the file.
pub(super) fn read_capped(
    path: &Path,
    limit: u64,
    limit_name: &'static str,
) -> Result<Option<Vec<u8>>, ArtifactError> {
    let io = |source| ArtifactError::Io {
        path: path.to_path_buf(),
        cause: source,
    };
    // Checked before opening: opening a FIFO would block until someone writes to it.
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if !metadata.is_file() {
        return Err(ArtifactError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let too_large = |size| ArtifactError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit,
        limit_name,
    };
    if metadata.len() > limit {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    File::open(path)
        .map_err(io)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        // It grew after the size check; its size now is unknown, only that it is too large.
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some(bytes))
}

/// [`read_capped`] for a file that must exist.
///
/// # Errors
/// As [`read_capped`], and `NotFound` if the file is missing.
pub(super) fn read_required(
    path: &Path,
    limit: u64,
    limit_name: &'static str,
) -> Result<Vec<u8>, ArtifactError> {
    read_capped(path, limit, limit_name)?.ok_or_else(|| ArtifactError::Io {
        path: path.to_path_buf(),
        cause: std::io::ErrorKind::NotFound.into(),
    })
}
