//! Where the log's files go: a local directory, or an object-store prefix through the same
//! client artifacts use (`s3://`, `gs://`, Azure). Only the writer thread calls a sink, so
//! a sink may block as long as it likes: requests never wait for it.

use std::path::{Path, PathBuf};

use legendary_mlflow::store::{ObjectUri, Store, StoreConfig};

/// A failed read or write, already fit to log: no secret in it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// The files of one data package, read and written whole by name (`datapackage.json`,
/// `payload.schema.json`, `payloads-….csv`).
pub trait Sink: Send + 'static {
    /// The file `name`, or `None` when there is none.
    ///
    /// # Errors
    /// The file cannot be read.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, SinkError>;

    /// Writes `parts`, one after the other, as the file `name`; a reader sees the old file or
    /// the whole new one, never a part.
    ///
    /// # Errors
    /// The file cannot be written.
    fn write(&mut self, name: &str, parts: Vec<Vec<u8>>) -> Result<(), SinkError>;

    /// Where the files go, for logs and the catalogue.
    fn location(&self) -> String;
}

/// Largest `datapackage.json` read back: about 100,000 batches.
const MAX_DESCRIPTOR_BYTES: u64 = 64 * 1024 * 1024;

/// Opens the sink `target` names: an object-store URI, else a local directory (created).
///
/// # Errors
/// A directory that cannot be created, an unusable object-store URI or missing credentials
/// (no request is made yet).
pub fn open(target: &str, stores: &StoreConfig) -> Result<Box<dyn Sink>, SinkError> {
    let error = |e: &dyn std::fmt::Display| SinkError(format!("--log-payloads {target}: {e}"));
    match ObjectUri::parse(target).map_err(|e| error(&e))? {
        Some(location) => Ok(Box::new(StoreSink {
            uri: location.to_string(),
            store: Store::open(stores, location).map_err(|e| error(&e))?,
            runtime: None,
        })),
        None => {
            let dir = PathBuf::from(target);
            std::fs::create_dir_all(&dir).map_err(|e| error(&e))?;
            Ok(Box::new(DirSink { dir }))
        }
    }
}

/// A local directory.
#[derive(Debug)]
pub struct DirSink {
    dir: PathBuf,
}

impl DirSink {
    /// The directory `dir` (which must exist).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

impl Sink for DirSink {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, SinkError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SinkError(format!("{}: {e}", path.display()))),
        }
    }

    fn write(&mut self, name: &str, parts: Vec<Vec<u8>>) -> Result<(), SinkError> {
        use std::io::Write as _;
        let path = self.dir.join(name);
        let error = |e: std::io::Error| SinkError(format!("{}: {e}", path.display()));
        // Written beside it, then renamed over it: a reader never sees half a file.
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(error)?;
        for part in &parts {
            file.write_all(part).map_err(error)?;
        }
        file.as_file().sync_data().map_err(error)?;
        file.persist(&path).map_err(|e| error(e.error))?;
        Ok(())
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

/// An object-store prefix; the writer thread drives its requests on a runtime of its own,
/// made there at the first request (a runtime may be neither run nor dropped on the server's).
struct StoreSink {
    uri: String,
    store: Store,
    runtime: Option<tokio::runtime::Runtime>,
}

impl StoreSink {
    fn runtime(&mut self) -> Result<&tokio::runtime::Runtime, SinkError> {
        if self.runtime.is_none() {
            let built = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| SinkError(format!("{}: {e}", self.uri)))?;
            self.runtime = Some(built);
        }
        self.runtime
            .as_ref()
            .ok_or_else(|| SinkError(format!("{}: no runtime", self.uri)))
    }
}

impl Sink for StoreSink {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, SinkError> {
        let store = self.store.clone();
        self.runtime()?
            .block_on(store.get_small(name, MAX_DESCRIPTOR_BYTES))
            .map_err(|e| SinkError(e.to_string()))
    }

    fn write(&mut self, name: &str, parts: Vec<Vec<u8>>) -> Result<(), SinkError> {
        let parts = parts.into_iter().map(bytes::Bytes::from).collect();
        let store = self.store.clone();
        self.runtime()?
            .block_on(store.put(name, parts))
            .map_err(|e| SinkError(e.to_string()))
    }

    fn location(&self) -> String {
        self.uri.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_sink_writes_whole_files_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = open(
            &dir.path().join("log").display().to_string(),
            &StoreConfig::default(),
        )
        .unwrap();
        assert!(sink.read("datapackage.json").unwrap().is_none());
        sink.write("a.csv", vec![b"x,".to_vec(), b"y\n".to_vec()])
            .unwrap();
        assert_eq!(sink.read("a.csv").unwrap().unwrap(), b"x,y\n");
        let leftovers = std::fs::read_dir(dir.path().join("log")).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn an_object_store_without_credentials_is_refused_with_the_flag_named() {
        let error = open("s3://bucket/payloads/", &StoreConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.starts_with("--log-payloads s3://bucket/payloads/:"),
            "{error}"
        );
    }
}
