//! `ModelUri`: a model location parsed at the boundary (`models:/…`, `runs:/…`,
//! `mlflow-artifacts:/…`, or a local path), and the registry `Stage`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A registry stage (deprecated by MLflow since 2.9 but still fully served over REST).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// `None`: a fresh version.
    None,
    /// `Staging`.
    Staging,
    /// `Production`.
    Production,
    /// `Archived`.
    Archived,
}

impl Stage {
    /// Every stage, in MLflow's order.
    pub const ALL: [Self; 4] = [Self::None, Self::Staging, Self::Production, Self::Archived];

    /// The name as MLflow spells it on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Staging => "Staging",
            Self::Production => "Production",
            Self::Archived => "Archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = UriError;

    /// Case-insensitive, like the server.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                UriError(format!(
                    "unknown stage `{text}`: expected one of None, Staging, Production, Archived"
                ))
            })
    }
}

/// Why a string is not a model URI. The message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UriError(String);

/// Where a model is, as accepted by `--model-uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelUri {
    /// `models:/NAME/STAGE`: the newest version in that stage.
    Stage {
        /// Registered model name.
        name: String,
        /// The stage.
        stage: Stage,
    },
    /// `models:/NAME/VERSION`.
    Version {
        /// Registered model name.
        name: String,
        /// The version number.
        version: u64,
    },
    /// `models:/NAME@ALIAS`.
    Alias {
        /// Registered model name.
        name: String,
        /// The alias.
        alias: String,
    },
    /// `models:/NAME/latest`: the highest version number, whatever its stage.
    Latest {
        /// Registered model name.
        name: String,
    },
    /// `models:/m-…`: an MLflow 3 logged model.
    LoggedModel {
        /// `m-<hex>`.
        model_id: String,
    },
    /// `runs:/RUN_ID/PATH`: files under a run's artifact root.
    Run {
        /// The run id.
        run_id: String,
        /// Path under the run's artifacts (may be empty).
        path: String,
    },
    /// `mlflow-artifacts:/PATH`: files behind the tracking server's artifact proxy.
    Artifacts {
        /// Path below the proxy root, without leading `/`.
        path: String,
    },
    /// A local directory (no scheme, or `file://`).
    Local(PathBuf),
}

impl ModelUri {
    /// The original demo's `MLFLOW_MODEL_NAME` + `MLFLOW_MODEL_STAGE` (stage defaults to Production;
    /// a number, `latest` or `@alias` are accepted too).
    ///
    /// # Errors
    /// [`UriError`] for an empty or `/`-containing name or an unknown stage.
    pub fn from_env_parts(name: &str, stage: Option<&str>) -> Result<Self, UriError> {
        let name = name.trim();
        if name.is_empty() || name.contains('/') || name.contains('@') {
            return Err(UriError(format!(
                "MLFLOW_MODEL_NAME `{name}` must be a non-empty registered model name without `/` or `@`"
            )));
        }
        match stage.map(str::trim).filter(|stage| !stage.is_empty()) {
            None => Ok(Self::Stage {
                name: name.to_owned(),
                stage: Stage::Production,
            }),
            Some(alias) if alias.starts_with('@') => format!("models:/{name}{alias}").parse(),
            Some(selector) => parse_models(&format!("{name}/{selector}")),
        }
    }

    /// True when the URI can point to different files over time (stage, alias, latest):
    /// the ones a server polls for hot reload.
    pub fn is_moving(&self) -> bool {
        matches!(
            self,
            Self::Stage { .. } | Self::Alias { .. } | Self::Latest { .. }
        )
    }
}

impl fmt::Display for ModelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stage { name, stage } => write!(f, "models:/{name}/{stage}"),
            Self::Version { name, version } => write!(f, "models:/{name}/{version}"),
            Self::Alias { name, alias } => write!(f, "models:/{name}@{alias}"),
            Self::Latest { name } => write!(f, "models:/{name}/latest"),
            Self::LoggedModel { model_id } => write!(f, "models:/{model_id}"),
            Self::Run { run_id, path } if path.is_empty() => write!(f, "runs:/{run_id}"),
            Self::Run { run_id, path } => write!(f, "runs:/{run_id}/{path}"),
            Self::Artifacts { path } => write!(f, "mlflow-artifacts:/{path}"),
            Self::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

impl FromStr for ModelUri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UriError("the model URI is empty".to_owned()));
        }
        let Some((scheme, rest)) = split_scheme(text) else {
            return Ok(Self::Local(PathBuf::from(text)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "models" => parse_models(strip_root(rest, text)?),
            "runs" => parse_runs(strip_root(rest, text)?),
            "mlflow-artifacts" => parse_artifacts(rest, text),
            "file" => parse_file(rest, text),
            _ => Err(UriError(format!(
                "unsupported model URI scheme `{scheme}:` in `{text}`: use models:/, runs:/, \
                 mlflow-artifacts:/, file:// or a local path"
            ))),
        }
    }
}

/// `scheme:rest` if `text` starts with an RFC 3986 scheme of 2+ characters (so `C:\x` is a path).
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// `models:/x` and `runs:/x` must have exactly one leading `/`; `models://profile/x` names a
/// remote registry (Databricks), which this client does not speak.
fn strip_root<'a>(rest: &'a str, text: &str) -> Result<&'a str, UriError> {
    match rest.strip_prefix('/') {
        Some(path) if !path.starts_with('/') => Ok(path),
        _ => Err(UriError(format!(
            "`{text}` must look like `models:/NAME/...` or `runs:/RUN_ID/PATH` (one `/` after the scheme, no host)"
        ))),
    }
}

fn parse_models(path: &str) -> Result<ModelUri, UriError> {
    let path = path.trim_end_matches('/');
    let usage = || {
        UriError(format!(
            "`models:/{path}` is not a model URI: expected models:/NAME/STAGE, models:/NAME/VERSION, \
             models:/NAME/latest, models:/NAME@ALIAS or models:/m-<id>"
        ))
    };
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [name, selector] if !name.is_empty() && !selector.is_empty() && !name.contains('@') => {
            let name = (*name).to_owned();
            if selector.bytes().all(|b| b.is_ascii_digit()) {
                let version = selector.parse().map_err(|_| usage())?;
                Ok(ModelUri::Version { name, version })
            } else if selector.eq_ignore_ascii_case("latest") {
                Ok(ModelUri::Latest { name })
            } else {
                let stage = selector.parse::<Stage>()?;
                Ok(ModelUri::Stage { name, stage })
            }
        }
        [single] => match single.rsplit_once('@') {
            Some((name, alias)) if !name.is_empty() && !alias.is_empty() => Ok(ModelUri::Alias {
                name: name.to_owned(),
                alias: alias.to_owned(),
            }),
            Some(_) => Err(usage()),
            None if is_logged_model_id(single) => Ok(ModelUri::LoggedModel {
                model_id: (*single).to_owned(),
            }),
            None => Err(UriError(format!(
                "`models:/{single}` names no version: use models:/{single}/latest, \
                 models:/{single}/Production, models:/{single}/<version> or models:/{single}@<alias>"
            ))),
        },
        _ => Err(usage()),
    }
}

fn is_logged_model_id(text: &str) -> bool {
    text.strip_prefix("m-")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_runs(path: &str) -> Result<ModelUri, UriError> {
    let (run_id, sub) = path.split_once('/').unwrap_or((path, ""));
    if run_id.is_empty()
        || !run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(UriError(format!(
            "`runs:/{path}` needs a run id: runs:/RUN_ID/PATH"
        )));
    }
    Ok(ModelUri::Run {
        run_id: run_id.to_owned(),
        path: sub.trim_matches('/').to_owned(),
    })
}

fn parse_artifacts(rest: &str, text: &str) -> Result<ModelUri, UriError> {
    let path = match rest.strip_prefix("//") {
        // `mlflow-artifacts://host:port/path`: the tracking server is always the one we talk to.
        Some(authority_and_path) => authority_and_path
            .split_once('/')
            .map_or("", |(_, path)| path),
        None => rest.trim_start_matches('/'),
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Err(UriError(format!("`{text}` names no artifact path")));
    }
    Ok(ModelUri::Artifacts {
        path: path.to_owned(),
    })
}

fn parse_file(rest: &str, text: &str) -> Result<ModelUri, UriError> {
    let path = match rest.strip_prefix("//") {
        Some(after) if after.starts_with('/') => after.to_owned(),
        Some(after) => match after.strip_prefix("localhost/") {
            Some(path) => format!("/{path}"),
            None => {
                return Err(UriError(format!(
                    "`{text}` names a remote host; use file:///absolute/path"
                )));
            }
        },
        None if rest.starts_with('/') => rest.to_owned(),
        None => {
            return Err(UriError(format!(
                "`{text}` must be file:///absolute/path (or a plain path)"
            )));
        }
    };
    Ok(ModelUri::Local(PathBuf::from(path)))
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
