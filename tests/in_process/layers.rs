//! The crate's layering, checked on its source: every top-level module uses only modules
//! below it in [`ORDER`] (so there is no import cycle), the command line stays in `cli.rs`,
//! and nothing but `run.rs` and `main.rs` reaches for the commands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::repo;

/// Top-level modules, top to bottom: the commands, their configs, the server over the web
/// routes over the shared HTTP core, then the domain (tracking, acquisition, training), the
/// MLflow client, the model, the scoring protocol and the data; object stores at the bottom
/// (the MLflow client uses them, and data may come from them), and the scrubber of secrets
/// that both use.
const ORDER: &[&str] = &[
    "run",
    "cli",
    "sweep",
    "server",
    "config",
    "web",
    "http",
    "track",
    "acquire",
    "sandbox",
    "report",
    "predict",
    "train",
    "explain",
    "mlflow",
    "model",
    "scoring",
    "dataset",
    "embedded",
    "telemetry",
    "store",
    "cancel",
    "redact",
];

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(repo().join("src")).unwrap();
            out.push((
                rel.to_string_lossy().replace('\\', "/"),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

/// The code of a file without its comments (doc links name modules they do not use).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d}`: the first name of each item at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_module_uses_only_the_modules_below_it() {
    let mut files = Vec::new();
    sources(&repo().join("src"), &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let top = path.split('/').next().unwrap().trim_end_matches(".rs");
        if top == "lib" || top == "main" {
            continue;
        }
        assert!(ORDER.contains(&top), "{top} is not placed in ORDER");
        for used in uses(&code(text)) {
            if used != top {
                edges.entry(top.to_owned()).or_default().insert(used);
            }
        }
    }
    let rank = |m: &str| {
        ORDER
            .iter()
            .position(|o| *o == m)
            .unwrap_or_else(|| panic!("crate::{m} is not a top-level module in ORDER"))
    };
    let upward: Vec<String> = edges
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
        .filter(|(from, to)| rank(from) >= rank(to))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(upward.is_empty(), "modules that call up: {upward:?}");
    // The graph is not empty: the check sees the real imports.
    assert!(edges["server"].contains("web") && edges["web"].contains("http"));
}

#[test]
fn the_command_line_stays_in_cli_rs() {
    let mut files = Vec::new();
    sources(&repo().join("src"), &mut files);
    for (path, text) in &files {
        let code = code(text);
        // `cli.rs` and its submodules (`cli/data.rs`) are the command line.
        if path != "cli.rs" && !path.starts_with("cli/") {
            assert!(!code.contains("clap"), "{path} uses clap");
            assert!(!text.contains("ServeArgs"), "{path} names ServeArgs");
        }
        if path != "run.rs" && path != "main.rs" {
            assert!(
                !code.contains("crate::run") && !code.contains("crate::cli"),
                "{path} reaches for the commands"
            );
        }
    }
}
