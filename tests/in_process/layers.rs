//! The layering: the workspace's crates are the layers (the compiler refuses a crate that
//! names one above it), and `docs/design.md`'s map of them is checked against
//! `cargo metadata`. Within the binary crate, the command line stays in `cli.rs`, and nothing
//! but `run.rs` and `main.rs` reaches for the commands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::repo;

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

/// The workspace's crates and the workspace crates each depends on (normal dependencies),
/// as `cargo metadata` reports them.
fn crate_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// The layer map of `docs/design.md`: the rows of the table under "## Crates", top to
/// bottom, as (crate, the workspace crates it uses).
fn documented_layers() -> Vec<(String, BTreeSet<String>)> {
    let design = std::fs::read_to_string(repo().join("docs/design.md")).unwrap();
    let section = design.split("\n## Crates").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|n| n.trim().trim_matches('`').to_owned())
            .filter(|n| n.starts_with("legendary"))
            .collect()
    };
    section
        .lines()
        .filter(|l| l.starts_with("| `legendary"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), names(cells[2]))
        })
        .collect()
}

#[test]
fn the_crates_are_the_layers_of_the_documented_map() {
    let graph = crate_graph();
    let layers = documented_layers();
    let documented: BTreeMap<String, BTreeSet<String>> = layers.iter().cloned().collect();
    assert_eq!(
        graph, documented,
        "docs/design.md's crate map and cargo metadata differ"
    );
    // Top to bottom: a crate uses only crates documented below it.
    for (i, (name, uses)) in layers.iter().enumerate() {
        for used in uses {
            let below = layers[i + 1..].iter().any(|(n, _)| n == used);
            assert!(
                below,
                "{name} uses {used}, which is not below it in the map"
            );
        }
    }
    // The map is the real one: the binary uses every crate below it.
    assert_eq!(graph["legendary"].len(), 4, "{graph:?}");
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
