//! The `python_function` flavor of a model directory: a pure-NumPy loader shipped inside
//! the artifact (`code/legendary_pyfunc.py`), so `mlflow.pyfunc.load_model`,
//! `mlflow.pyfunc.spark_udf`, `mlflow models predict` and `mlflow models serve` load a
//! legendary forest with no package of ours installed, and answer exactly as `legendary serve`
//! does (the agreement is tested row by row against the real MLflow client, Spark's too). The
//! loader compiles the trees once for a QuickScorer evaluation, so that a million rows take
//! seconds, not a minute (docs/mlflow.md).

/// The flavor's `code` directory, added to `sys.path` by MLflow.
pub(super) const CODE_DIR: &str = "code";

/// The module MLflow imports (`_load_pyfunc(path_to_model_json)`).
pub(super) const LOADER_MODULE: &str = "legendary_pyfunc";

const LOADER: &str = include_str!("legendary_pyfunc.py");

/// What the loader needs: NumPy, and MLflow itself to load it (pandas comes with MLflow).
const REQUIREMENTS: &str = "mlflow\nnumpy\n";

const PYTHON_ENV: &str =
    "python: \"3.11\"\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n";

const CONDA: &str = "name: mlflow-env\nchannels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip\n- pip:\n  - mlflow\n  - numpy\n";

/// The flavor's files, relative to the model directory.
pub(super) fn files() -> [(&'static str, &'static [u8]); 4] {
    [
        ("code/legendary_pyfunc.py", LOADER.as_bytes()),
        ("requirements.txt", REQUIREMENTS.as_bytes()),
        ("python_env.yaml", PYTHON_ENV.as_bytes()),
        ("conda.yaml", CONDA.as_bytes()),
    ]
}
