//! `legendary data search|show` over the bundled data package, as a person and a program
//! would run them.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::repo;

fn data(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_legendary"))
        .current_dir(repo())
        .arg("data")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn search_by_generation_lists_that_resource_with_its_size_rows_and_owner() {
    let text = stdout(&data(&["search", "--generation", "7"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("NAME"), "{text}");
    let json: Value = serde_json::from_str(&stdout(&data(&[
        "search",
        "--generation",
        "7",
        "--format",
        "json",
    ])))
    .unwrap();
    let entry = &json[0];
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(entry["name"], "pokemon-generation-7");
    assert_eq!(entry["owner"], "legendary");
    assert_eq!(entry["location"], "data/pokemon/generation-7.csv");
    let (rows, bytes) = (
        entry["rows"].as_u64().unwrap(),
        entry["bytes"].as_u64().unwrap(),
    );
    assert_eq!(
        bytes,
        std::fs::metadata(repo().join("data/pokemon/generation-7.csv"))
            .unwrap()
            .len()
    );
    for cell in [
        "pokemon-generation-7",
        "legendary",
        &rows.to_string(),
        &bytes.to_string(),
    ] {
        assert!(lines[1].contains(cell), "{cell} missing from {}", lines[1]);
    }
}

#[test]
fn search_by_text_and_owner_and_show_by_name() {
    let all: Value = serde_json::from_str(&stdout(&data(&[
        "search",
        "--owner",
        "LEGENDARY",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 9);
    let none = stdout(&data(&["search", "no-such-thing"]));
    assert_eq!(none.lines().count(), 1, "{none}");
    let card = stdout(&data(&["show", "pokemon-generation-1"]));
    assert!(card.contains("created"), "{card}");
    assert!(card.contains("sha256:"), "{card}");
    let missing = data(&["show", "pokemon-generation-10"]);
    assert!(!missing.status.success());
    let error = String::from_utf8_lossy(&missing.stderr);
    assert!(error.contains("pokemon-generation-10"), "{error}");
    assert!(error.contains("pokemon-generation-9"), "{error}");
}
