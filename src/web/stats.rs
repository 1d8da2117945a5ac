//! The six stats of one demo request, read field by field so that every problem names its
//! field. A query string and a JSON object go through the same typed struct: each field is
//! kept as it arrived ([`Raw`]) and then checked, instead of failing on the first bad value
//! with a message that does not say where it was.
//!
//! Accepted: a finite number ≥ 0, as a JSON number or a numeric string (query values are
//! always strings). Base stats are 1-255 in the games; larger values are scored as given, as
//! `/invocations` does, so the refusal of a negative value names only the API's rule (≥ 0).
//! The web page keeps to 1-255 itself and says so before sending anything.
//! Rejected with 400: a missing or empty field, text that is not a number, NaN or infinity,
//! a negative number, and `defence` and `defense` both given with different values.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The six base stats of one Pokémon, checked. Field names follow the original demo, which
/// spells `defence`; requests may say `defense` instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PokemonStats {
    /// Hit points (1-255 in the games).
    #[schema(minimum = 0.0, example = 106)]
    #[param(minimum = 0.0, example = 106)]
    pub hp: f64,
    /// Attack.
    #[schema(minimum = 0.0, example = 110)]
    #[param(minimum = 0.0, example = 110)]
    pub attack: f64,
    /// Defense, spelled as in the original demo; `defense` is accepted instead.
    #[schema(minimum = 0.0, example = 90)]
    #[param(minimum = 0.0, example = 90)]
    pub defence: f64,
    /// Special attack.
    #[schema(minimum = 0.0, example = 154)]
    #[param(minimum = 0.0, example = 154)]
    pub special_attack: f64,
    /// Special defense.
    #[schema(minimum = 0.0, example = 90)]
    #[param(minimum = 0.0, example = 90)]
    pub special_defense: f64,
    /// Speed.
    #[schema(minimum = 0.0, example = 130)]
    #[param(minimum = 0.0, example = 130)]
    pub speed: f64,
}

impl PokemonStats {
    /// The row the model reads, in [`legendary_forest::FEATURES`] order.
    pub(super) fn row(&self) -> [f64; 6] {
        [
            self.hp,
            self.attack,
            self.defence,
            self.special_attack,
            self.special_defense,
            self.speed,
        ]
    }
}

/// One field's value as it arrived.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) enum Raw {
    /// Not in the request.
    #[default]
    Missing,
    /// A JSON number.
    Number(f64),
    /// A string: every query value, or a JSON string.
    Text(String),
    /// Some other JSON value, named for the error message (`null`, `a list`, ...).
    Other(&'static str),
}

/// The request's fields before they are checked; unknown fields are ignored. Only an object
/// (or a query string) is read: serde would also take a list, positionally.
#[derive(Debug, Default)]
pub(crate) struct RawStats(Fields);

#[derive(Debug, Default, Deserialize)]
struct Fields {
    #[serde(default)]
    hp: Raw,
    #[serde(default)]
    attack: Raw,
    #[serde(default)]
    defence: Raw,
    #[serde(default)]
    defense: Raw,
    #[serde(default)]
    special_attack: Raw,
    #[serde(default)]
    special_defense: Raw,
    #[serde(default)]
    speed: Raw,
}

impl RawStats {
    /// Checks every field.
    ///
    /// # Errors
    /// A message naming the first field that is missing or invalid.
    pub(super) fn check(self) -> Result<PokemonStats, String> {
        let Self(f) = self;
        f.check()
    }
}

impl<'de> Deserialize<'de> for RawStats {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> Visitor<'de> for ObjectOnly {
            type Value = RawStats;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of the six stats")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawStats, A::Error> {
                Fields::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawStats)
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

impl Fields {
    fn check(self) -> Result<PokemonStats, String> {
        let defence = match (&self.defence, &self.defense) {
            (Raw::Missing, Raw::Missing) => {
                return Err("Field `defence` (or `defense`) is missing.".to_owned());
            }
            (given, Raw::Missing) => check("defence", given)?,
            (Raw::Missing, given) => check("defense", given)?,
            (a, b) => {
                let (a, b) = (check("defence", a)?, check("defense", b)?);
                if a.to_bits() != b.to_bits() {
                    return Err(format!(
                        "Fields `defence` ({a}) and `defense` ({b}) differ; give one of them."
                    ));
                }
                a
            }
        };
        Ok(PokemonStats {
            hp: check("hp", &self.hp)?,
            attack: check("attack", &self.attack)?,
            defence,
            special_attack: check("special_attack", &self.special_attack)?,
            special_defense: check("special_defense", &self.special_defense)?,
            speed: check("speed", &self.speed)?,
        })
    }
}

fn check(field: &str, raw: &Raw) -> Result<f64, String> {
    let value = match raw {
        Raw::Missing => return Err(format!("Field `{field}` is missing.")),
        Raw::Other(what) => return Err(format!("Field `{field}` must be a number, got {what}.")),
        Raw::Number(n) => *n,
        Raw::Text(t) if t.trim().is_empty() => return Err(format!("Field `{field}` is empty.")),
        Raw::Text(t) => t.trim().parse::<f64>().map_err(|_| {
            format!(
                "Field `{field}` must be a number, got {}.",
                quoted_prefix(t)
            )
        })?,
    };
    if !value.is_finite() {
        return Err(format!("Field `{field}` must be a finite number."));
    }
    if value < 0.0 {
        return Err(format!("Field `{field}` must be at least 0, got {value}."));
    }
    // -0.0 is accepted as 0.
    Ok(value + 0.0)
}

/// At most 40 characters of a value, quoted, so an error never echoes a huge input.
fn quoted_prefix(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("{shown:?}")
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

/// Accepts any value without failing, so the check can name the field that holds it.
struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Number(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Text(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Raw, E> {
        Ok(Raw::Other("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Other("null"))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Raw::Other("a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Raw::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> Result<PokemonStats, String> {
        serde_json::from_str::<RawStats>(body)
            .map_err(|e| e.to_string())?
            .check()
    }

    const MEWTWO: &str = r#"{"hp":106,"attack":110,"defence":90,"special_attack":154,"special_defense":90,"speed":130}"#;

    #[test]
    fn a_complete_object_gives_the_row_in_feature_order() {
        let stats = json(MEWTWO).unwrap();
        assert_eq!(stats.row(), [106.0, 110.0, 90.0, 154.0, 90.0, 130.0]);
    }

    #[test]
    fn defense_is_accepted_for_defence_and_both_may_agree() {
        let us = MEWTWO.replace("defence", "defense");
        assert_eq!(json(&us).unwrap(), json(MEWTWO).unwrap());
        let both = MEWTWO.replace(r#""speed""#, r#""defense":90,"speed""#);
        assert_eq!(json(&both).unwrap(), json(MEWTWO).unwrap());
        let differ = MEWTWO.replace(r#""speed""#, r#""defense":91,"speed""#);
        assert!(json(&differ).unwrap_err().contains("differ"));
    }

    #[test]
    fn numeric_strings_are_read_as_numbers() {
        let body = MEWTWO.replace("106", r#"" 106 ""#);
        assert_eq!(json(&body).unwrap().hp, 106.0);
    }

    #[test]
    fn every_bad_value_is_an_error_naming_its_field() {
        for (value, expect) in [
            (r#""abc""#, "must be a number, got \"abc\""),
            (r#""""#, "is empty"),
            ("null", "got null"),
            ("true", "got a boolean"),
            ("[1]", "got a list"),
            (r#"{"a":1}"#, "got an object"),
            ("-5", "at least 0"),
            (r#""NaN""#, "finite"),
            (r#""inf""#, "finite"),
        ] {
            let body = MEWTWO.replace("130", value);
            let message = json(&body).unwrap_err();
            assert!(message.contains("`speed`"), "{value}: {message}");
            assert!(message.contains(expect), "{value}: {message}");
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        let body = MEWTWO.replace(r#""attack":110,"#, "");
        assert_eq!(json(&body).unwrap_err(), "Field `attack` is missing.");
        let body = MEWTWO.replace(r#""defence":90,"#, "");
        assert!(
            json(&body)
                .unwrap_err()
                .contains("`defence` (or `defense`)")
        );
    }

    #[test]
    fn a_list_is_not_read_positionally() {
        assert!(
            json("[1, 2, 3, 4, 5, 6]")
                .unwrap_err()
                .contains("an object of the six stats")
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let body = MEWTWO.replace("130", &format!("\"{}\"", "x".repeat(500)));
        assert!(json(&body).unwrap_err().len() < 120);
    }

    #[test]
    fn negative_zero_is_zero() {
        let body = MEWTWO.replace("130", "-0.0");
        assert!(json(&body).unwrap().speed.is_sign_positive());
    }
}
