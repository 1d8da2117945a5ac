//! JSON request bodies (docs/mlflow-protocol.md 6.4): the envelope with exactly one of
//! `dataframe_split`, `dataframe_records`, `instances`, `inputs`, plus the MLflow 1.x bare
//! bodies. Values are deserialized straight into the row builder; no `serde_json::Value`.

mod cell;
mod columns;
mod ctx;
mod envelope;
mod rows;
mod split;
#[cfg(test)]
mod tests;

pub(crate) use cell::number_from_text;
use serde::de::{DeserializeSeed, IgnoredAny};

use self::ctx::{Ctx, missing_inputs};
use self::envelope::{EnvelopeSeed, Shape};
use self::rows::RecordsSeed;
use self::split::SplitSeed;
use super::{Dialect, Limits, ScoringError};
use crate::{Parsed, PredictMethod};

/// The four envelope keys, as MLflow lists them.
pub(super) const FORMAT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];
const KEY_SET: &str = "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";

/// Parses a JSON body. `legacy` is set when the Content-Type carried the 1.x `format=` parameter.
pub(crate) fn parse(
    body: &str,
    features: &[String],
    limits: &Limits,
    legacy: bool,
) -> Result<Parsed, ScoringError> {
    let mut ctx = Ctx::new(features, limits.max_rows);
    let (bare, method) = match body
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first()
    {
        Some(b'{') => parse_object(body, &mut ctx)?,
        Some(b'[') => {
            ctx.rows.reserve_rows(body.len() / record_bytes(features));
            let seed = RecordsSeed {
                ctx: &mut ctx,
                refuse_lists: not_an_object,
            };
            let first_missing = run(seed, body).map_err(|e| ctx.take_failure(&e))?;
            check_records(&ctx, first_missing, not_an_object)?;
            (true, None)
        }
        _ => {
            run(std::marker::PhantomData::<IgnoredAny>, body).map_err(|e| ctx.take_failure(&e))?;
            return Err(ScoringError::bad_request(format!(
                "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {KEY_SET}. Received unexpected input type."
            )));
        }
    };
    let dialect = if bare || legacy {
        Dialect::Legacy1
    } else {
        Dialect::Mlflow2
    };
    Ok(Parsed {
        batch: ctx.rows.finish(),
        dialect,
        method: method.unwrap_or_default(),
    })
}

/// Runs `seed` over the whole of `json` (trailing characters are an error).
fn run<'de, S: DeserializeSeed<'de>>(
    seed: S,
    json: &'de str,
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// An object body; returns whether it was the 1.x bare split body, and its
/// `params.predict_method`.
fn parse_object(
    body: &str,
    ctx: &mut Ctx<'_>,
) -> Result<(bool, Option<PredictMethod>), ScoringError> {
    let seed = EnvelopeSeed {
        ctx: Some(&mut *ctx),
        bytes: body.len(),
    };
    let envelope = match run(seed, body) {
        Ok(envelope) => envelope,
        Err(error) => {
            let failure = ctx.take_failure(&error);
            // MLflow checks the envelope before the data, so a bad value under one of two
            // format keys is still the two-keys error. Only this error path scans twice.
            return Err(
                match run(
                    EnvelopeSeed {
                        ctx: None,
                        bytes: 0,
                    },
                    body,
                ) {
                    Ok(keys) if keys.count() != 1 => envelope_error(&keys.present),
                    Ok(_) => failure,
                    Err(syntax) => ctx.take_failure(&syntax),
                },
            );
        }
    };
    if envelope.count() != 1 {
        if envelope.count() == 0 && envelope.columns && envelope.data {
            let seed = SplitSeed {
                ctx: &mut *ctx,
                bytes: body.len(),
            };
            run(seed, body).map_err(|e| ctx.take_failure(&e))?;
            return Ok((true, envelope.method));
        }
        return Err(envelope_error(&envelope.present));
    }
    match envelope.shape {
        Some(Shape::Records(first_missing)) => check_records(ctx, first_missing, empty_records)?,
        Some(Shape::Columns) if ctx.rows.n_rows() == 0 => {
            return Err(ScoringError::bad_request(
                "Invalid input. The columns hold no rows.",
            ));
        }
        _ => {}
    }
    Ok((false, envelope.method))
}

/// Zero or several format keys.
fn envelope_error(present: &[bool; 4]) -> ScoringError {
    let names: Vec<String> = FORMAT_KEYS
        .iter()
        .zip(present)
        .filter(|(_, present)| **present)
        .map(|(key, _)| format!("'{key}'"))
        .collect();
    ScoringError::bad_request(format!(
        "The input must be a JSON dictionary with exactly one of the input fields {KEY_SET}. Received dictionary with input fields: [{}].",
        names.join(", ")
    ))
}

/// Rough bytes per record, `{"hp":80,…},`, to pre-size the builder.
pub(super) fn record_bytes(features: &[String]) -> usize {
    features
        .iter()
        .map(|name| name.len() + 7)
        .sum::<usize>()
        .max(1)
        + 2
}

/// After a list of records: not empty, every feature in some row, every row complete.
fn check_records(
    ctx: &Ctx<'_>,
    first_missing: Option<(usize, usize)>,
    empty: fn(&[String]) -> ScoringError,
) -> Result<(), ScoringError> {
    if ctx.rows.n_rows() == 0 {
        return Err(empty(ctx.features));
    }
    let Some((row, col)) = first_missing else {
        return Ok(());
    };
    let n_rows = ctx.rows.n_rows();
    let absent: Vec<&str> = (0..ctx.features.len())
        .filter(|&c| (0..n_rows).all(|r| ctx.rows.row(r)[c].is_nan()))
        .map(|c| ctx.features[c].as_str())
        .collect();
    if !absent.is_empty() {
        return Err(missing_inputs(&absent, ""));
    }
    Err(ScoringError::bad_request(format!(
        "Invalid input. Data is not compatible with model signature. Column {} has no value in row {row}.",
        ctx.features[col]
    )))
}

/// `[]` for records, instances or inputs: MLflow reports every input as missing.
fn empty_records(features: &[String]) -> ScoringError {
    let all: Vec<&str> = features.iter().map(String::as_str).collect();
    missing_inputs(&all, " The request holds no rows.")
}

/// A list of lists has no column names, so no model input can be found (as in MLflow).
pub(super) fn positional(features: &[String]) -> ScoringError {
    let all: Vec<&str> = features.iter().map(String::as_str).collect();
    missing_inputs(
        &all,
        " The rows are lists, which carry no column names; send records or 'dataframe_split' with 'columns'.",
    )
}

/// A bare top-level list is only accepted as a 1.x list of records.
fn not_an_object(_: &[String]) -> ScoringError {
    ScoringError::bad_request(format!(
        "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {KEY_SET}. Received a list."
    ))
}
