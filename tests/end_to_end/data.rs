//! Data where it lives, on a REAL S3 server (Garage) and a loopback HTTP server, with a real
//! `mlflow server`: `legendary train --data s3://…`, `--data http://…/pokemon-cleaned.csv` and
//! `…/datapackage.json`, the run's dataset input naming that source, and the data catalogue
//! (`legendary data search`) over a package in the bucket. Run by `scripts/test.sh`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::s3::{root, store_at, text};
use crate::support::mlflow_server::venv_bin;
use crate::support::repo;

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn train_reads_a_data_package_from_the_bucket_and_the_run_names_that_source() {
    let setup = root();
    let uri = format!("s3://{}/datasets/pokemon", setup.garage.bucket);
    store_at(&setup.garage, &uri)
        .upload_dir("", &repo().join("data/pokemon"))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = setup.train(
        &out.path().join("model"),
        // An experiment of its own: MLflow keeps one dataset per (name, digest) in an
        // experiment, so the bundled data logged locally elsewhere would be reused here.
        &[
            "--data",
            &format!("{uri}/"),
            "--run-name",
            "data-from-s3",
            "--experiment",
            "data-from-s3",
        ],
    );
    eprintln!("fetch data + train + log in {:?}", started.elapsed());
    assert!(o.status.success(), "{}", text(&o));
    let run = setup.python(
        r#"
import json, mlflow
r = mlflow.search_runs(experiment_names=["data-from-s3"], filter_string="attributes.run_name = 'data-from-s3'", output_format="list")[0]
d = r.inputs.dataset_inputs[0].dataset
print(json.dumps({"source_type": d.source_type, "source": json.loads(d.source), "sha": r.data.params["data_sha256"]}))
"#,
    );
    assert_eq!(run["source_type"], "s3");
    assert_eq!(run["source"]["uri"], format!("{uri}/"));
    // The same bytes as the bundled package: the same digest.
    let local = legendary::dataset::load(
        &repo().join("data/pokemon"),
        &legendary::dataset::Generations::all(),
    )
    .unwrap();
    assert_eq!(run["sha"], local.sha256);

    // Without a tracking server too; and a prefix with nothing is named.
    let mut no_tracking = setup.legendary();
    no_tracking.env_remove("MLFLOW_TRACKING_URI");
    let o = no_tracking
        .args([
            "train",
            "--n-trees",
            "10",
            "--cv-folds",
            "0",
            "--data",
            &uri,
            "--output",
        ])
        .arg(out.path().join("untracked"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = setup.train(
        &out.path().join("none"),
        &[
            "--data",
            &format!("s3://{}/no-data-here/", setup.garage.bucket),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no artifacts found at `s3://"),
        "{}",
        text(&o)
    );
}

/// `python3 -m http.server` on a free loopback port, serving `dir`.
fn http_server(dir: &Path) -> (crate::support::watchdog::Watched, String) {
    let port = crate::support::free_port();
    let mut command = crate::support::watchdog::command(&venv_bin("python"));
    command
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let server = crate::support::watchdog::Watched::spawn(command, "http.server");
    crate::support::wait_until(
        "http.server to listen",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
    (server, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn train_reads_the_demos_csv_and_a_data_package_over_http() {
    let setup = root();
    // The bundled data in the demo's `pokemon-cleaned.csv` shape and spellings.
    let bundled = legendary::dataset::load(
        &repo().join("data/pokemon"),
        &legendary::dataset::Generations::all(),
    )
    .unwrap();
    let site = tempfile::tempdir().unwrap();
    let mut csv =
        String::from("#,Name,HP,Attack,Defense,Sp_Atk,Sp_Def,Speed,Generation,Legendary\n");
    for p in &bundled.rows {
        let s = p.stats;
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            p.number,
            p.name,
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
            p.generation,
            if p.legendary { "True" } else { "False" }
        ));
    }
    std::fs::write(site.path().join("pokemon-cleaned.csv"), csv).unwrap();
    let package = site.path().join("pokemon");
    std::fs::create_dir(&package).unwrap();
    for entry in std::fs::read_dir(repo().join("data/pokemon")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, package.join(path.file_name().unwrap())).unwrap();
    }
    let (_server, base) = http_server(site.path());
    let out = tempfile::tempdir().unwrap();

    let url = format!("{base}/pokemon-cleaned.csv");
    let o = setup.train(
        &out.path().join("csv"),
        &[
            "--data",
            &url,
            "--generations",
            "1-7",
            "--run-name",
            "data-from-http-csv",
            "--experiment",
            "data-from-http",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let run = setup.python(
        r#"
import json, mlflow
r = mlflow.search_runs(experiment_names=["data-from-http"], filter_string="attributes.run_name = 'data-from-http-csv'", output_format="list")[0]
d = r.inputs.dataset_inputs[0].dataset
print(json.dumps({"source_type": d.source_type, "source": json.loads(d.source), "rows": json.loads(d.profile)["num_rows"]}))
"#,
    );
    assert_eq!(run["source_type"], "http");
    assert_eq!(run["source"]["url"], url);
    let gen_1_to_7 = bundled.rows.iter().filter(|p| p.generation <= 7).count();
    assert_eq!(run["rows"], gen_1_to_7);

    // A data package over HTTP: the descriptor, then every file it lists, hashes checked.
    let o = setup.train(
        &out.path().join("package"),
        &["--data", &format!("{base}/pokemon/datapackage.json")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = setup.train(
        &out.path().join("missing"),
        &["--data", &format!("{base}/no-such.csv")],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no-such.csv: no such object"),
        "{}",
        text(&o)
    );
}

#[tokio::test]
#[ignore = "needs garage (scripts/install-garage.sh)"]
async fn the_catalogue_reads_a_data_package_in_the_bucket() {
    let setup = root();
    let uri = format!("s3://{}/catalogue/pokemon/", setup.garage.bucket);
    store_at(&setup.garage, &uri)
        .upload_dir("", &repo().join("data/pokemon"))
        .await
        .unwrap();
    let o = setup
        .legendary()
        .args([
            "data",
            "search",
            "--generation",
            "7",
            "--format",
            "json",
            "--data",
            &uri,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let found: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(found[0]["name"], "pokemon-generation-7");
    assert_eq!(found[0]["location"], format!("{uri}generation-7.csv"));
}
