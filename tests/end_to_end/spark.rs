//! MLflow's Spark client scores a legendary model exactly as `legendary predict` does:
//! `mlflow.pyfunc.spark_udf` on the registry's Production version, in a local Spark (PySpark 4,
//! `local[2]`, from the venv `scripts/mlflow-venv.sh spark` makes outside the repository), on
//! every Pokémon of the bundled data set, as a boolean column that filters, and as
//! probabilities to the bit; `mlflow.pyfunc.load_model` in the same venv too. One Spark
//! session, one small forest: the test takes about a minute, most of it Spark starting.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::models::data_set_csv;
use super::train_serve::{legendary, mlflow, text, train};

const NAME: &str = "pokemon-spark";

/// The Python of the PySpark venv: `LEGENDARY_TEST_SPARK_PYTHON` (`scripts/test.sh` sets it),
/// else what `scripts/mlflow-venv.sh spark` prints, which makes the venv first if it is missing.
fn spark_python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        crate::support::installed("LEGENDARY_TEST_SPARK_PYTHON", "mlflow-venv.sh", &["spark"])
    })
}

/// Runs `script` with the PySpark venv's Python against the test server, its Spark workers on
/// the same interpreter; returns the JSON of its last line.
fn spark(script: &str) -> Value {
    let python = spark_python();
    let out = Command::new(python)
        .args(["-W", "ignore", "-c", script])
        .env("MLFLOW_TRACKING_URI", mlflow().uri())
        .env("PYSPARK_PYTHON", python)
        .env("PYSPARK_DRIVER_PYTHON", python)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .unwrap();
    assert!(out.status.success(), "pyspark failed: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
}

/// Slow (about a minute): a JVM and Spark start, and each Spark worker imports MLflow and
/// loads the model.
#[test]
#[ignore = "needs a real mlflow server and PySpark: scripts/test.sh runs it"]
fn spark_udf_decides_and_scores_every_pokemon_as_legendary_predict_does() {
    let work = tempfile::tempdir().unwrap();
    let o = train(
        &work.path().join("model"),
        &["--register-as", NAME, "--stage", "Production"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = work.path().join("pokemon.csv");
    let rows = data_set_csv(&csv);
    let uri = format!("models:/{NAME}/Production");
    let predicted = legendary()
        .args(["predict", "--model-uri", &uri, "--input"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(predicted.status.success(), "{}", text(&predicted));
    let ours: Vec<(bool, f64)> = String::from_utf8_lossy(&predicted.stdout)
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.rsplit(',');
            let p = cells.next().unwrap().parse().unwrap();
            (cells.next().unwrap() == "true", p)
        })
        .collect();
    assert_eq!(ours.len(), rows);

    let seen = spark(&format!(
        r#"
import json
import mlflow, pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.functions import col, struct
spark = (SparkSession.builder.master("local[2]").appName("legendary-spark-parity")
    .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
    .config("spark.driver.host", "127.0.0.1").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
stats = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
pdf = pd.read_csv("{csv}").astype(float)
df = spark.createDataFrame(pdf.assign(row=range(len(pdf))), schema=None).repartition(2)
uri = "{uri}"
# No result_type: Spark's type comes from the signature's boolean output.
legendary = mlflow.pyfunc.spark_udf(spark, uri)
proba = mlflow.pyfunc.spark_udf(spark, uri, result_type="double",
    params={{"predict_method": "predict_proba"}})
scored = df.select("row", legendary(struct(*stats)).alias("legendary"),
    proba(struct(*stats)).alias("proba"))
got = scored.orderBy("row").collect()
model = mlflow.pyfunc.load_model(uri)
print(json.dumps({{
    "type": dict(scored.dtypes)["legendary"],
    "filtered": df.filter(legendary(struct(*stats))).count(),
    "rows": [r["row"] for r in got],
    "decisions": [r["legendary"] for r in got],
    "proba": [r["proba"] for r in got],
    "pyfunc": [bool(p) for p in model.predict(pdf)],
    "pyfunc_proba": [float(p) for p in model.predict(pdf, params={{"predict_method": "predict_proba"}})],
}}))
spark.stop()
"#,
        csv = csv.display()
    ));

    assert_eq!(seen["type"], "boolean", "{}", seen["type"]);
    let column = |name: &str| seen[name].as_array().unwrap().clone();
    let rows_seen: Vec<usize> = serde_json::from_value(seen["rows"].clone()).unwrap();
    assert_eq!(rows_seen, (0..rows).collect::<Vec<_>>());
    let decisions: Vec<bool> = serde_json::from_value(Value::Array(column("decisions"))).unwrap();
    let proba: Vec<f64> = serde_json::from_value(Value::Array(column("proba"))).unwrap();
    let pyfunc: Vec<bool> = serde_json::from_value(Value::Array(column("pyfunc"))).unwrap();
    let pyfunc_proba: Vec<f64> =
        serde_json::from_value(Value::Array(column("pyfunc_proba"))).unwrap();
    for (i, (yes, p)) in ours.iter().enumerate() {
        assert_eq!(decisions[i], *yes, "spark_udf, row {i}");
        assert_eq!(pyfunc[i], *yes, "pyfunc, row {i}");
        assert_eq!(proba[i].to_bits(), p.to_bits(), "spark_udf, row {i}");
        assert_eq!(pyfunc_proba[i].to_bits(), p.to_bits(), "pyfunc, row {i}");
    }
    let legendary = ours.iter().filter(|(yes, _)| *yes).count();
    assert!(legendary > 0 && legendary < rows, "{legendary} of {rows}");
    assert_eq!(seen["filtered"], legendary);
}
