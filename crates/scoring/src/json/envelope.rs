//! The top-level JSON object: exactly one of the four format keys, read in one pass. The
//! value of the first format key is parsed straight into the builder as it streams by; the
//! rest of the object is only checked for further format keys (and the 1.x `columns`/`data`).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::columns::ColumnarSeed;
use super::ctx::Ctx;
use super::rows::RecordsSeed;
use super::split::SplitSeed;
use super::{FORMAT_KEYS, positional};
use crate::{PredictMethod, ScoringError};

/// Which format keys an object holds, and what the first one held.
pub(super) struct Envelope {
    pub(super) present: [bool; 4],
    pub(super) shape: Option<Shape>,
    /// The 1.x bare split body has `columns` and `data` at the top level.
    pub(super) columns: bool,
    pub(super) data: bool,
    /// `params.predict_method`, when the body has `params`.
    pub(super) method: Option<PredictMethod>,
}

impl Envelope {
    pub(super) fn count(&self) -> usize {
        self.present.iter().filter(|present| **present).count()
    }
}

/// The shape the first format key's value had, for the checks that follow parsing.
pub(super) enum Shape {
    Split,
    /// A list of records, with the first (row, feature) that had no value.
    Records(Option<(usize, usize)>),
    Columns,
}

/// Reads the object; with `ctx` set, parses the first format key's value into the builder.
/// Without it, only scans the keys (used to re-check the envelope after a data error).
pub(super) struct EnvelopeSeed<'c, 'f> {
    pub(super) ctx: Option<&'c mut Ctx<'f>>,
    pub(super) bytes: usize,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_, '_> {
    type Value = Envelope;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Envelope, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_, '_> {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope {
            present: [false; 4],
            shape: None,
            columns: false,
            data: false,
            method: None,
        };
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match (key, self.ctx.as_deref_mut()) {
                (EnvelopeKey::Format(k), Some(ctx)) if envelope.shape.is_none() => {
                    envelope.present[k] = true;
                    envelope.shape = Some(map.next_value_seed(FormatSeed {
                        ctx,
                        key: k,
                        bytes: self.bytes,
                    })?);
                }
                (EnvelopeKey::Format(k), Some(ctx)) if envelope.present[k] => {
                    let error = ScoringError::bad_request(format!(
                        "Invalid input. The key '{}' appears twice.",
                        FORMAT_KEYS[k]
                    ));
                    return Err(ctx.fail(error));
                }
                (EnvelopeKey::Params, Some(ctx)) => {
                    let method = map
                        .next_value::<Params>()
                        .map_err(|e| {
                            format!(
                                "Invalid input. 'params' must be a dictionary (of which 'predict_method' is read): {e}."
                            )
                        })
                        .and_then(|params| params.method());
                    match method {
                        Ok(method) => envelope.method = Some(method),
                        Err(message) => return Err(ctx.fail(ScoringError::bad_request(message))),
                    }
                }
                (key, _) => {
                    map.next_value::<IgnoredAny>()?;
                    match key {
                        EnvelopeKey::Format(k) => envelope.present[k] = true,
                        EnvelopeKey::Columns => envelope.columns = true,
                        EnvelopeKey::Data => envelope.data = true,
                        EnvelopeKey::Params | EnvelopeKey::Other => {}
                    }
                }
            }
        }
        Ok(envelope)
    }
}

/// The value of a format key, dispatched on its JSON type.
struct FormatSeed<'c, 'f> {
    ctx: &'c mut Ctx<'f>,
    key: usize,
    bytes: usize,
}

impl FormatSeed<'_, '_> {
    /// The error for a value of the wrong JSON type (`got` in Python's words).
    fn wrong<E: de::Error>(self, got: &str) -> E {
        let message = match FORMAT_KEYS[self.key] {
            "dataframe_split" => {
                format!("Invalid input. Dataframe split format must be a dictionary. Got {got}.")
            }
            "dataframe_records" => {
                format!(
                    "Invalid input. Dataframe records format must be a list of records. Got {got}."
                )
            }
            name => format!(
                "Invalid input. '{name}' must be a list of records or a dictionary of columns. Got {got}."
            ),
        };
        self.ctx.fail(ScoringError::bad_request(message))
    }
}

impl<'de> DeserializeSeed<'de> for FormatSeed<'_, '_> {
    type Value = Shape;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FormatSeed<'_, '_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data frame")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shape, A::Error> {
        match FORMAT_KEYS[self.key] {
            "dataframe_split" => SplitSeed {
                ctx: self.ctx,
                bytes: self.bytes,
            }
            .visit_map(map)
            .map(|()| Shape::Split),
            "dataframe_records" => Err(self.wrong("dictionary")),
            _ => ColumnarSeed { ctx: self.ctx }
                .visit_map(map)
                .map(|()| Shape::Columns),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shape, A::Error> {
        if FORMAT_KEYS[self.key] == "dataframe_split" {
            return Err(self.wrong("type <class 'list'>"));
        }
        self.ctx
            .rows
            .reserve_rows(self.bytes / super::record_bytes(self.ctx.features));
        RecordsSeed {
            ctx: self.ctx,
            refuse_lists: positional,
        }
        .visit_seq(seq)
        .map(Shape::Records)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Err(self.wrong("type <class 'str'>"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Err(self.wrong("type <class 'bool'>"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Err(self.wrong("type <class 'int'>"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Err(self.wrong("type <class 'int'>"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Err(self.wrong("type <class 'float'>"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Err(self.wrong("type <class 'NoneType'>"))
    }
}

/// The request's `params` (a dictionary; the body's size bounds it): only `predict_method`
/// means anything here, as the model's signature declares; other keys are ignored, as MLflow
/// ignores params a signature lacks.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Params(serde_json::Map<String, serde_json::Value>);

impl Params {
    /// The method asked for (`predict` when none is).
    fn method(&self) -> Result<PredictMethod, String> {
        match self.0.get("predict_method") {
            None => Ok(PredictMethod::Predict),
            Some(serde_json::Value::String(word)) => word.parse(),
            Some(other) => Err(format!(
                "Invalid input. params.predict_method must be 'predict' or 'predict_proba', not {other}."
            )),
        }
    }
}

enum EnvelopeKey {
    Format(usize),
    Columns,
    Data,
    Params,
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
            "params" => EnvelopeKey::Params,
            _ => FORMAT_KEYS
                .iter()
                .position(|k| *k == key)
                .map_or(EnvelopeKey::Other, EnvelopeKey::Format),
        })
    }
}
