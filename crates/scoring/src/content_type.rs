//! Content-Type handling (docs/mlflow-protocol.md 6.3): which body format a request carries.
//!
//! The media type is compared case-sensitively, as MLflow does; `charset` must be UTF-8.
//! Unlike MLflow, the 1.x `format=pandas-split|pandas-records` parameter is accepted, and a
//! missing header means JSON.

use super::ScoringError;

/// The body format a Content-Type header announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`. `legacy` is true for the MLflow 1.x `format=pandas-*` parameter.
    Json {
        /// The client announced an MLflow 1.x request, so it expects a 1.x answer.
        legacy: bool,
    },
    /// `text/csv`.
    Csv,
}

const JSON: &str = "application/json";
const CSV: &str = "text/csv";
const PARQUET: &str = "application/vnd.apache.parquet";

/// MLflow's wording for parameters it does not know, including the 2.0 migration hint.
const PROTOCOL_CHANGED: &str = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request format. For more information about the updated MLflow Model scoring protocol in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

/// Reads the Content-Type header; `None` (no header) is read as JSON.
///
/// # Errors
/// 415 for another media type (parquet included), a charset other than UTF-8, or an unknown
/// parameter.
pub(crate) fn classify(header: Option<&str>) -> Result<Format, ScoringError> {
    let Some(header) = header else {
        return Ok(Format::Json { legacy: false });
    };
    let mut parts = header.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default();
    let mut legacy = false;
    let mut unknown: Vec<&str> = Vec::new();
    for part in parts.filter(|part| !part.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = key.trim();
        let value = value.trim().trim_matches('"');
        if key.eq_ignore_ascii_case("charset") {
            if !value.eq_ignore_ascii_case("utf-8") {
                return Err(ScoringError::unsupported_media_type(
                    "The scoring server only supports UTF-8",
                ));
            }
        } else if key.eq_ignore_ascii_case("format")
            && media_type == JSON
            && (value == "pandas-split" || value == "pandas-records")
        {
            legacy = true;
        } else {
            unknown.push(key);
        }
    }
    if !unknown.is_empty() {
        return Err(ScoringError::unsupported_media_type(format!(
            "Unrecognized content type parameters: {}. {PROTOCOL_CHANGED}",
            unknown.join(", ")
        )));
    }
    match media_type {
        JSON => Ok(Format::Json { legacy }),
        CSV => Ok(Format::Csv),
        PARQUET => Err(ScoringError::unsupported_media_type(
            "parquet is not supported by this server: send the same data frame as application/json or text/csv.",
        )),
        _ => Err(ScoringError::unsupported_media_type(format!(
            "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got '{header}'."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScoringErrorKind;

    /// 415 for a refused header (the only refusal `classify` makes), 200 otherwise.
    fn status(header: &str) -> u16 {
        match classify(Some(header)) {
            Ok(_) => 200,
            Err(e) if e.kind() == ScoringErrorKind::UnsupportedMediaType => 415,
            Err(e) => panic!("{header}: {e}"),
        }
    }

    #[test]
    fn json_and_csv_are_accepted_with_a_utf8_charset_in_any_case() {
        assert_eq!(
            classify(Some("application/json")),
            Ok(Format::Json { legacy: false })
        );
        assert_eq!(
            classify(Some("application/json; charset=UTF-8")),
            Ok(Format::Json { legacy: false })
        );
        assert_eq!(classify(Some("text/csv;charset=utf-8")), Ok(Format::Csv));
    }

    #[test]
    fn a_missing_header_is_read_as_json() {
        assert_eq!(classify(None), Ok(Format::Json { legacy: false }));
    }

    #[test]
    fn the_1x_format_parameter_selects_the_legacy_dialect() {
        assert_eq!(
            classify(Some("application/json; format=pandas-split")),
            Ok(Format::Json { legacy: true })
        );
        assert_eq!(
            classify(Some("application/json; format=pandas-records")),
            Ok(Format::Json { legacy: true })
        );
        assert_eq!(status("text/csv; format=pandas-split"), 415);
        assert_eq!(status("application/json; format=tf-serving"), 415);
    }

    #[test]
    fn media_types_are_case_sensitive_as_in_mlflow() {
        assert_eq!(status("Application/JSON"), 415);
    }

    #[test]
    fn other_charsets_parameters_and_types_are_415() {
        assert_eq!(status("application/json; charset=latin-1"), 415);
        assert_eq!(status("application/json; foo=bar"), 415);
        assert_eq!(status("text/plain"), 415);
        assert_eq!(status(""), 415);
    }

    #[test]
    fn parquet_is_refused_with_a_clear_message() {
        let error = classify(Some(PARQUET)).unwrap_err();
        assert_eq!(error.kind(), ScoringErrorKind::UnsupportedMediaType);
        assert!(error.message().contains("parquet is not supported"));
    }
}
