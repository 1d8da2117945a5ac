//! One self-contained binary: run from `/`, with no flags and no files around it, `legendary
//! serve` answers the original demo's two requests with the model compiled into it, prints a
//! URL to click, and the web page's search works.

use serde_json::Value;

use crate::support::process::Server;
use crate::support::{DEMO, DEMO_LEGENDARY};

#[tokio::test]
async fn from_the_root_directory_the_bundled_model_answers_the_demo() {
    let server = Server::start_in_dir(std::path::Path::new("/"), &[]);
    let listening = server
        .log
        .iter()
        .find(|l| l.contains("listening"))
        .cloned()
        .unwrap_or_default();
    assert!(
        listening.contains("\"url\":\"http://127.0.0.1:"),
        "{listening}"
    );
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    for (body, expected) in [(DEMO, [false; 5]), (DEMO_LEGENDARY, [true; 5])] {
        let got: Vec<bool> = client
            .post(format!("{base}/invocations"))
            .header("content-type", "application/json; format=pandas-split")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
    let found: Value = client
        .get(format!("{base}/pokedex?q=mewtwo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found.to_string().contains("Mewtwo"), "{found}");
}

/// `train`, `sweep` and `data search` from a directory with no `data/pokemon` (after `cargo
/// install`) read the bundled data package: the same files as the repository's, so the same
/// digest.
#[test]
fn away_from_the_repository_train_sweep_and_the_catalogue_use_the_bundled_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_legendary"))
            .current_dir(dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{args:?}: {text}");
        text
    };
    run(&[
        "train",
        "--n-trees",
        "10",
        "--cv-folds",
        "0",
        "--output",
        "m",
    ]);
    let metrics: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("m/metrics.json")).unwrap()).unwrap();
    let repo: Value = serde_json::from_slice(
        &std::fs::read(crate::support::repo().join("models/pokemon/metrics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        metrics["data"]["sha256"], repo["data"]["sha256"],
        "{metrics}"
    );
    // And it says where the rows came from: no data/pokemon exists here.
    let background =
        std::fs::read_to_string(dir.path().join("m/explanation_background.json")).unwrap();
    assert!(
        background.contains("the data package embedded in legendary"),
        "{background}"
    );
    std::fs::write(
        dir.path().join("grid.toml"),
        "metric = \"roc_auc\"\ncv_folds = 0\n[params]\nn_trees = [10]\n",
    )
    .unwrap();
    let said = run(&["sweep", "--grid", "grid.toml", "--output", "best"]);
    assert!(said.contains("best: configuration 0"), "{said}");
    let said = run(&["data", "search", "--generation", "7"]);
    assert!(said.contains("pokemon-generation-7"), "{said}");
    assert!(!said.contains("pokemon-generation-6"), "{said}");
}
