//! scikit-learn models saved by the real MLflow Python client (`scripts/sklearn-fixtures.py`,
//! run once from `.venv`), read by the restricted readers and compared row by row with
//! scikit-learn's own `predict`/`predict_proba`: labels identical, probabilities within
//! 1e-12, regressions within 1e-9 relative.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use legendary::model::ReadLimits;
use legendary::model::sklearn::{Class, SklearnModel};
use serde::Deserialize;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture directory, written once per test binary.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let python = repo().join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/mlflow-venv.sh first",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let status = std::process::Command::new(python)
            .arg(repo().join("scripts/sklearn-fixtures.py"))
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "sklearn-fixtures.py failed");
        dir
    })
    .path()
}

#[derive(Deserialize)]
struct Expected {
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    predict: Vec<serde_json::Value>,
    classes: Option<Vec<serde_json::Value>>,
    predict_proba: Option<Vec<Vec<f64>>>,
}

/// Loads case `name` and checks every row; returns (rows, load time in ms).
fn check(name: &str, class: Class, format: &str, columns_known: bool) -> (usize, f64) {
    let dir = fixtures().join(name);
    let bytes = std::fs::read(dir.join("expected.json")).unwrap_or_else(|e| panic!("{e}"));
    let expected: Expected = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let model = SklearnModel::read_dir(&dir, &ReadLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(model.forest.class, class, "{name}");
    assert_eq!(model.serialization_format, format, "{name}");
    assert_eq!(
        model.columns.as_ref(),
        columns_known.then_some(&expected.columns),
        "{name}"
    );
    if let (Some(labels), Some(classes)) = (&model.forest.labels, &expected.classes) {
        let ours: Vec<_> = (0..labels.len()).map(|i| labels.json(i)).collect();
        assert_eq!(&ours, classes, "{name}: classes_");
    }
    let mut proba = vec![0.0; expected.classes.as_ref().map_or(1, Vec::len)];
    for (i, row) in expected.rows.iter().enumerate() {
        let ours = model.forest.predict_json(row);
        match (&ours, &expected.predict[i]) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b))
                if expected.classes.is_none() =>
            {
                let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(0.0));
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{name} row {i}: {a} vs {b}"
                );
            }
            (a, b) => assert_eq!(a, b, "{name} row {i} {row:?}"),
        }
        if let Some(p) = &expected.predict_proba {
            model.forest.proba_into(row, &mut proba);
            for (a, b) in proba.iter().zip(&p[i]) {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "{name} row {i}: {proba:?} vs {:?}",
                    p[i]
                );
            }
        }
    }
    (expected.rows.len(), ms)
}

macro_rules! case {
    ($test:ident, $name:literal, $class:ident, $format:literal, $columns:literal) => {
        #[test]
        #[ignore = "needs the mlflow venv (scripts/test.sh)"]
        fn $test() {
            let (rows, ms) = check($name, Class::$class, $format, $columns);
            eprintln!("{}: {rows} rows agree; loaded in {ms:.1} ms", $name);
            assert!(rows > 1232);
        }
    };
}

case!(
    random_forest_bool_skops,
    "rf-bool-skops",
    RandomForestClassifier,
    "skops",
    true
);
case!(
    random_forest_bool_pickle,
    "rf-bool-pickle",
    RandomForestClassifier,
    "pickle",
    false
);
case!(
    random_forest_bool_cloudpickle,
    "rf-bool-cloudpickle",
    RandomForestClassifier,
    "cloudpickle",
    true
);
case!(
    random_forest_int_no_signature,
    "rf-int-cloudpickle-nosig",
    RandomForestClassifier,
    "cloudpickle",
    false
);
case!(
    extra_trees_strings_skops,
    "et-str-skops",
    ExtraTreesClassifier,
    "skops",
    true
);
// Fitted on an array, so no feature_names_in_: the columns come from the signature.
case!(
    extra_trees_strings_pickle,
    "et-str-pickle",
    ExtraTreesClassifier,
    "pickle",
    true
);
case!(
    decision_tree_int_skops,
    "dt-int-skops",
    DecisionTreeClassifier,
    "skops",
    true
);
// Fitted on an array too: the signature names the columns.
case!(
    decision_tree_int_cloudpickle,
    "dt-int-cloudpickle",
    DecisionTreeClassifier,
    "cloudpickle",
    true
);
case!(
    random_forest_regressor_skops,
    "rfr-skops",
    RandomForestRegressor,
    "skops",
    true
);
case!(
    extra_trees_regressor_pickle,
    "etr-pickle",
    ExtraTreesRegressor,
    "pickle",
    false
);
case!(
    decision_tree_regressor_cloudpickle,
    "dtr-cloudpickle",
    DecisionTreeRegressor,
    "cloudpickle",
    true
);

#[test]
#[ignore = "needs the mlflow venv (scripts/test.sh)"]
fn a_scikit_learn_0_24_layout_pickle_serves_as_the_modern_model_did() {
    let (rows, ms) = check(
        "rf-legacy-0.24-pickle",
        Class::RandomForestClassifier,
        "pickle",
        false,
    );
    let dir = fixtures().join("rf-legacy-0.24-pickle");
    let model =
        SklearnModel::read_dir(&dir, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.sklearn_version.as_deref(), Some("0.24.2"));
    assert_eq!(model.forest.sklearn_version.as_deref(), Some("0.24.2"));
    eprintln!("rf-legacy-0.24-pickle: {rows} rows agree; loaded in {ms:.1} ms");
}
