//! The log as a data package: `payload.schema.json` (its columns), and `datapackage.json`
//! listing every batch written as a CSV resource, so that `legendary data search --data DIR`
//! lists the batches and `legendary train --data DIR` reads them once `legendary` is filled in.
//!
//! Resources carry no `hash`: filling in the labels changes a file, and the loader checks a
//! hash it is given. They carry no `generation` either: a row names its own (empty: unknown).
//! A descriptor already there (a restarted server, another package) keeps every resource it
//! lists; the log's are appended.

use serde_json::{Value, json};

use super::encode::COLUMNS;

/// The descriptor's file name.
pub const DESCRIPTOR: &str = "datapackage.json";

/// The table schema's file name.
pub const SCHEMA: &str = "payload.schema.json";

/// The table schema of every batch: the columns of [`COLUMNS`], empty cells being missing
/// values (an unlabelled row, an unknown generation).
pub(super) fn schema() -> Vec<u8> {
    let kind = |name: &str| match name {
        "prediction" | "legendary" => json!({
            "type": "boolean",
            "trueValues": ["true", "True", "TRUE", "1", "yes"],
            "falseValues": ["false", "False", "FALSE", "0", "no"],
        }),
        "probability" => json!({"type": "number"}),
        "time" => json!({"type": "datetime"}),
        "model_version" | "request_id" => json!({"type": "string"}),
        _ => json!({"type": "integer"}),
    };
    let describe = |name: &str| match name {
        "prediction" => "the model's answer: legendary or not",
        "probability" => "the model's probability of legendary",
        "model_version" => "the served model's registry version (empty: not from a registry)",
        "time" => "when the answer was given (RFC 3339, UTC)",
        "request_id" => "the request's x-request-id",
        "generation" => "the Pokémon's generation, 1-9; empty: unknown",
        "legendary" => "the label: fill in true or false; rows left empty are not trained on",
        _ => "base stat, as sent",
    };
    let fields: Vec<Value> = COLUMNS
        .iter()
        .map(|name| {
            let mut field = kind(name);
            field["name"] = json!(name);
            field["description"] = json!(describe(name));
            field
        })
        .collect();
    let schema = json!({"fields": fields, "missingValues": [""]});
    serde_json::to_vec_pretty(&schema).unwrap_or_default()
}

/// The resources of the descriptor already there, or of none.
///
/// # Errors
/// A descriptor that is not a JSON object with a `resources` list: it is not touched.
pub(super) fn existing(bytes: Option<&[u8]>) -> Result<(Value, Vec<Value>), String> {
    let Some(bytes) = bytes else {
        return Ok((
            json!({
                "name": "legendary-payload-log",
                "title": "Rows scored by legendary serve",
                "description": "Sampled rows scored by `legendary serve --log-payloads`, one CSV resource a batch. Fill in `legendary` (true or false) to train on them: `legendary train --data <this directory>` trains on the labelled rows and skips the others.",
                "owner": "legendary serve",
            }),
            Vec::new(),
        ));
    };
    let mut descriptor: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{DESCRIPTOR} is not valid JSON ({e}); it is left as it is"))?;
    match descriptor.get_mut("resources").map(Value::take) {
        Some(Value::Array(resources)) => Ok((descriptor, resources)),
        _ => Err(format!(
            "{DESCRIPTOR} has no `resources` list; it is left as it is"
        )),
    }
}

/// One batch's resource entry.
pub(super) fn resource(name: &str, rows: usize, bytes: usize, created: &str) -> Value {
    json!({
        "name": name,
        "title": format!("Payload log batch of {created}"),
        "path": format!("{name}.csv"),
        "format": "csv",
        "mediatype": "text/csv",
        "bytes": bytes,
        "rows": rows,
        "schema": SCHEMA,
        "owner": "legendary serve",
        "created": created,
    })
}

/// The descriptor with `resources`.
pub(super) fn descriptor(mut base: Value, resources: &[Value]) -> Vec<u8> {
    base["resources"] = Value::Array(resources.to_vec());
    let mut bytes = serde_json::to_vec_pretty(&base).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_descriptor_keeps_its_resources_and_a_broken_one_is_not_touched() {
        let (base, resources) = existing(None).unwrap();
        assert!(resources.is_empty());
        let one = descriptor(
            base,
            &[resource("payloads-a", 3, 120, "2026-01-01T00:00:00Z")],
        );
        let (base, resources) = existing(Some(&one)).unwrap();
        assert_eq!(resources.len(), 1);
        assert_eq!(base["name"], "legendary-payload-log");
        assert!(existing(Some(b"{")).unwrap_err().contains("not valid JSON"));
        assert!(
            existing(Some(b"{}"))
                .unwrap_err()
                .contains("no `resources`")
        );
    }
}
