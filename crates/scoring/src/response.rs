//! The answer body for a successful request, in the dialect the client asked in.

use super::Dialect;

/// `{"predictions": [false, true]}` for [`Dialect::Mlflow2`], with the `", "` separators of
/// MLflow's `json.dump`, or the bare list `[false, true]` for [`Dialect::Legacy1`].
pub fn render(predictions: &[bool], dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + 7 * predictions.len());
    if dialect == Dialect::Mlflow2 {
        out.extend_from_slice(b"{\"predictions\": ");
    }
    out.push(b'[');
    for (i, &prediction) in predictions.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(if prediction { b"true" } else { b"false" });
    }
    out.push(b']');
    if dialect == Dialect::Mlflow2 {
        out.push(b'}');
    }
    out
}

/// As [`render`], for predictions of any JSON type (a scikit-learn model's labels or values).
pub fn render_values(predictions: &[serde_json::Value], dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + 8 * predictions.len());
    if dialect == Dialect::Mlflow2 {
        out.extend_from_slice(b"{\"predictions\": ");
    }
    out.push(b'[');
    for (i, prediction) in predictions.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(prediction.to_string().as_bytes());
    }
    out.push(b']');
    if dialect == Dialect::Mlflow2 {
        out.push(b'}');
    }
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
