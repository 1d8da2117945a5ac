//! Names that cross between a remote tree and the local file system: every remote name is
//! split into checked components before it becomes a local path, and a local directory is
//! walked into the relative names to upload.

use std::path::Path;

use crate::store::error::StoreError;

/// A remote or local name that would escape its directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing unsafe artifact path `{0}`")]
pub struct UnsafePath(pub String);

/// Splits a relative artifact path into components, refusing empty, `.`, `..`, absolute and
/// backslash components (a listing must never write outside the destination).
///
/// # Errors
/// [`UnsafePath`] naming the whole path.
pub fn safe_components(path: &str) -> Result<Vec<&str>, UnsafePath> {
    let unsafe_path = || UnsafePath(path.to_owned());
    if path.is_empty() {
        return Err(unsafe_path());
    }
    path.split('/')
        .map(|part| {
            let bad = part.is_empty()
                || part == "."
                || part == ".."
                || part.contains(['\\', '\0'])
                || (part.len() >= 2 && part.as_bytes()[1] == b':'); // `C:` drive prefixes
            if bad { Err(unsafe_path()) } else { Ok(part) }
        })
        .collect()
}

/// The regular files under `dir`, as sorted `/`-separated relative names (symbolic links and
/// other special files are skipped).
///
/// # Errors
/// [`StoreError::Io`] reading the tree, [`StoreError::UnsafePath`] for a name that is not
/// UTF-8, [`StoreError::NoFiles`] for a tree without a file.
pub async fn local_files(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = pending.pop() {
        let mut entries = tokio::fs::read_dir(&path)
            .await
            .map_err(|error| StoreError::io(&path, error))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|error| StoreError::io(&path, error))?
        {
            let name = entry.file_name().into_string().map_err(|name| {
                StoreError::from(UnsafePath(name.to_string_lossy().into_owned()))
            })?;
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry
                .file_type()
                .await
                .map_err(|error| StoreError::io(entry.path(), error))?;
            if kind.is_dir() {
                pending.push((entry.path(), relative));
            } else if kind.is_file() {
                files.push(relative);
            }
        }
    }
    if files.is_empty() {
        return Err(StoreError::NoFiles {
            uri: dir.display().to_string(),
        });
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_absolute_names_are_refused() {
        for name in [
            "..",
            "../x",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            ".",
            "a\\..\\b",
            "C:x",
            "",
        ] {
            assert!(safe_components(name).is_err(), "{name}");
        }
        assert_eq!(
            safe_components("model/MLmodel").unwrap(),
            ["model", "MLmodel"]
        );
        assert_eq!(safe_components("..hidden").unwrap(), ["..hidden"]);
    }

    #[tokio::test]
    async fn local_files_walks_directories_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        std::fs::write(dir.path().join("MLmodel"), "x").unwrap();
        std::fs::write(dir.path().join("sub/deeper/a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/b.svg"), "<svg/>").unwrap();
        let files = local_files(dir.path()).await.unwrap();
        assert_eq!(files, ["MLmodel", "sub/b.svg", "sub/deeper/a.json"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            local_files(empty.path()).await,
            Err(StoreError::NoFiles { .. })
        ));
    }
}
