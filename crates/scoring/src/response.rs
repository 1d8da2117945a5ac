//! The answer body for a successful request, in the dialect the client asked in.

use serde::Serialize;

use super::Dialect;
use crate::python_json;

/// `{"predictions": [false, true]}` for [`Dialect::Mlflow2`], with the `", "` separators of
/// MLflow's `json.dump`, or the bare list `[false, true]` for [`Dialect::Legacy1`].
pub fn render(predictions: &[bool], dialect: Dialect) -> Vec<u8> {
    answer(predictions, dialect, 20 + 7 * predictions.len())
}

/// As [`render`], for probabilities (`params.predict_method` `predict_proba`), written as
/// Python's `repr` writes floats.
pub fn render_probabilities(probabilities: &[f64], dialect: Dialect) -> Vec<u8> {
    answer(probabilities, dialect, 20 + 22 * probabilities.len())
}

/// As [`render`], for predictions of any JSON type (a scikit-learn model's labels or values).
pub fn render_values(predictions: &[serde_json::Value], dialect: Dialect) -> Vec<u8> {
    answer(predictions, dialect, 20 + 8 * predictions.len())
}

fn answer<T: Serialize>(predictions: &[T], dialect: Dialect, capacity: usize) -> Vec<u8> {
    #[derive(Serialize)]
    struct Answer<'a, T> {
        predictions: &'a [T],
    }
    let mut out = Vec::with_capacity(capacity);
    // Booleans and JSON values always serialise.
    let _ = match dialect {
        Dialect::Mlflow2 => python_json::write(&mut out, &Answer { predictions }),
        Dialect::Legacy1 => python_json::write(&mut out, predictions),
    };
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow2_answers_wrap_the_list_like_json_dump() {
        assert_eq!(
            render(&[false, true], Dialect::Mlflow2),
            br#"{"predictions": [false, true]}"#
        );
        assert_eq!(render(&[], Dialect::Mlflow2), br#"{"predictions": []}"#);
    }

    #[test]
    fn values_keep_their_own_type() {
        let values = [
            serde_json::json!("legendary"),
            serde_json::json!(3),
            serde_json::json!(1.5),
        ];
        assert_eq!(
            render_values(&values, Dialect::Mlflow2),
            br#"{"predictions": ["legendary", 3, 1.5]}"#
        );
    }

    #[test]
    fn legacy1_answers_are_the_bare_list() {
        assert_eq!(render(&[true], Dialect::Legacy1), b"[true]");
        assert_eq!(render(&[false, false], Dialect::Legacy1), b"[false, false]");
    }
}
