//! JSON request bodies (protocol doc 6.4): the envelope with exactly one of
//! `dataframe_split`, `dataframe_records`, `instances`, `inputs`, plus the MLflow 1.x bare
//! bodies. Values are deserialized straight into the row builder; no `serde_json::Value`.

mod cell;
mod columns;
mod ctx;
mod rows;
mod split;
#[cfg(test)]
mod tests;

use std::fmt;

pub(crate) use cell::number_from_text;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use self::columns::ColumnarSeed;
use self::ctx::{Ctx, missing_inputs};
use self::rows::RecordsSeed;
use self::split::SplitSeed;
use super::{Dialect, Limits, ScoringError};
use crate::scoring::batch::Batch;

/// The four envelope keys, as MLflow lists them.
const FORMAT_KEYS: [&str; 4] = [
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
) -> Result<(Batch, Dialect), ScoringError> {
    let mut ctx = Ctx::new(features, limits.max_rows);
    let bare = match body
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
            true
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
    Ok((ctx.rows.finish(), dialect))
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

/// An object body; returns whether it was the 1.x bare split body.
fn parse_object(body: &str, ctx: &mut Ctx<'_>) -> Result<bool, ScoringError> {
    let envelope = run(EnvelopeSeed, body).map_err(|e| ctx.take_failure(&e))?;
    let present: Vec<usize> = (0..FORMAT_KEYS.len())
        .filter(|&k| envelope.found[k].is_some())
        .collect();
    let [key] = present[..] else {
        if present.is_empty() && envelope.columns && envelope.data {
            run(
                SplitSeed {
                    ctx: &mut *ctx,
                    bytes: body.len(),
                },
                body,
            )
            .map_err(|e| ctx.take_failure(&e))?;
            return Ok(true);
        }
        let names: Vec<String> = present
            .iter()
            .map(|&k| format!("'{}'", FORMAT_KEYS[k]))
            .collect();
        return Err(ScoringError::bad_request(format!(
            "The input must be a JSON dictionary with exactly one of the input fields {KEY_SET}. Received dictionary with input fields: [{}].",
            names.join(", ")
        )));
    };
    let Some(raw) = envelope.found[key] else {
        return Ok(false);
    };
    let json = raw.get();
    let kind = json_type(json);
    match (FORMAT_KEYS[key], kind) {
        ("dataframe_split", "dictionary") => run(
            SplitSeed {
                ctx: &mut *ctx,
                bytes: json.len(),
            },
            json,
        )
        .map_err(|e| ctx.take_failure(&e))?,
        ("dataframe_split", _) => {
            return Err(ScoringError::bad_request(format!(
                "Invalid input. Dataframe split format must be a dictionary. Got {kind}."
            )));
        }
        (_, "list") => {
            ctx.rows
                .reserve_rows(json.len() / record_bytes(ctx.features));
            let first_missing = run(
                RecordsSeed {
                    ctx: &mut *ctx,
                    refuse_lists: positional,
                },
                json,
            )
            .map_err(|e| ctx.take_failure(&e))?;
            check_records(ctx, first_missing, empty_records)?;
        }
        ("dataframe_records", _) => {
            return Err(ScoringError::bad_request(format!(
                "Invalid input. Dataframe records format must be a list of records. Got {kind}."
            )));
        }
        (name, "dictionary") => {
            run(
                ColumnarSeed {
                    ctx: &mut *ctx,
                    allow_single: name == "inputs",
                },
                json,
            )
            .map_err(|e| ctx.take_failure(&e))?;
            if ctx.rows.n_rows() == 0 {
                return Err(ScoringError::bad_request(
                    "Invalid input. The columns hold no rows.",
                ));
            }
        }
        (name, _) => {
            return Err(ScoringError::bad_request(format!(
                "Invalid input. '{name}' must be a list of records or a dictionary of columns. Got {kind}."
            )));
        }
    }
    Ok(false)
}

/// Python's name for the JSON type a raw value starts with.
fn json_type(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'{') => "dictionary",
        Some(b'[') => "list",
        Some(b'"') => "type <class 'str'>",
        _ => "a scalar",
    }
}

/// Rough bytes per record, `{"hp":80,…},`, to pre-size the builder.
fn record_bytes(features: &[String]) -> usize {
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
fn positional(features: &[String]) -> ScoringError {
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

/// The top-level object: the raw value of each format key, and whether the 1.x keys are there.
struct Envelope<'de> {
    found: [Option<&'de RawValue>; 4],
    columns: bool,
    data: bool,
}

struct EnvelopeSeed;

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Envelope<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope {
            found: [None; 4],
            columns: false,
            data: false,
        };
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                EnvelopeKey::Format(k) => envelope.found[k] = Some(map.next_value()?),
                other => {
                    map.next_value::<IgnoredAny>()?;
                    envelope.columns |= matches!(other, EnvelopeKey::Columns);
                    envelope.data |= matches!(other, EnvelopeKey::Data);
                }
            }
        }
        Ok(envelope)
    }
}

enum EnvelopeKey {
    Format(usize),
    Columns,
    Data,
    Other,
}

impl<'de> de::Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(EnvelopeKeyVisitor)
    }
}

struct EnvelopeKeyVisitor;

impl Visitor<'_> for EnvelopeKeyVisitor {
    type Value = EnvelopeKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
        Ok(match key {
            "columns" => EnvelopeKey::Columns,
            "data" => EnvelopeKey::Data,
            _ => FORMAT_KEYS
                .iter()
                .position(|k| *k == key)
                .map_or(EnvelopeKey::Other, EnvelopeKey::Format),
        })
    }
}
