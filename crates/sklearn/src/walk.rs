//! Scoring with scikit-learn's exact arithmetic, so answers match `predict`/`predict_proba`
//! bit for bit where numpy's order of operations is known:
//!
//! - inputs are cast to float32 (scikit-learn validates `X` to `DTYPE = np.float32`), then
//!   compared with the float64 threshold: `x <= threshold` goes left;
//! - a tree's class probabilities are its leaf's values divided by their sum (counts before
//!   1.4, fractions since: both normalise the same way, as `predict_proba` does);
//! - a forest adds the trees' probabilities in order and divides by the number of trees;
//!   the label is the first class with the highest probability (`argmax`); a lone tree's
//!   label is the argmax of its raw leaf values (`DecisionTreeClassifier.predict`);
//! - a regressor's answer is the mean of its trees' leaf values.

use super::{SkForest, SkTree};

impl SkTree {
    /// The leaf `row` reaches.
    pub(crate) fn leaf(&self, row: &[f64]) -> usize {
        let mut at = 0;
        // Each step goes to a later node (checked on load), so this ends within `nodes.len()`.
        loop {
            let node = &self.nodes[at];
            if node.is_leaf() {
                return at;
            }
            let x = f64::from(row[node.feature as usize] as f32);
            let left = if x.is_nan() {
                node.missing_left
            } else {
                x <= node.threshold
            };
            at = if left { node.left } else { node.right } as usize;
        }
    }

    /// The stored values of the leaf `row` reaches.
    pub(crate) fn leaf_values(&self, row: &[f64]) -> &[f64] {
        let leaf = self.leaf(row);
        &self.values[leaf * self.n_values..(leaf + 1) * self.n_values]
    }
}

/// numpy's pairwise sum of a contiguous f64 row (`np.add.reduce` along the last axis).
fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for (j, r) in r.iter_mut().enumerate() {
                *r += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum(&a[..n2]) + numpy_sum(&a[n2..])
    }
}

/// Index of the first largest value (`np.argmax`; NaN never occurs, values are finite).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

impl SkForest {
    /// Class probabilities for `row` (`n_features` values) into `out` (one per class), as
    /// `predict_proba`. For a regressor, `out[0]` gets the prediction.
    ///
    /// # Panics
    /// If `row` is shorter than `n_features` or `out` shorter than the number of classes.
    pub fn proba_into(&self, row: &[f64], out: &mut [f64]) {
        assert!(row.len() >= self.n_features, "row too short");
        if self.labels.is_none() {
            out[0] = self.regress(row);
            return;
        }
        let k = self.trees[0].n_values;
        let out = &mut out[..k];
        out.fill(0.0);
        for tree in &self.trees {
            let values = tree.leaf_values(row);
            let mut normalizer = numpy_sum(values);
            if normalizer == 0.0 {
                normalizer = 1.0;
            }
            for (o, v) in out.iter_mut().zip(values) {
                *o += v / normalizer;
            }
        }
        if self.trees.len() > 1 || !self.class.is_single_tree() {
            let n = self.trees.len() as f64;
            for o in out.iter_mut() {
                *o /= n;
            }
        }
    }

    /// Index into the labels of the class `predict` answers for `row`.
    pub fn label_index(&self, row: &[f64]) -> usize {
        if self.class.is_single_tree() {
            return argmax(self.trees[0].leaf_values(row));
        }
        let mut proba = vec![0.0; self.trees[0].n_values];
        self.proba_into(row, &mut proba);
        argmax(&proba)
    }

    /// A regressor's prediction for `row` (the mean of the trees' leaf values).
    pub fn regress(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for tree in &self.trees {
            sum += tree.leaf_values(row)[0];
        }
        if self.class.is_single_tree() {
            sum
        } else {
            sum / self.trees.len() as f64
        }
    }

    /// What `predict` answers for `row`, as JSON: the label in its own type, or a float.
    pub fn predict_json(&self, row: &[f64]) -> serde_json::Value {
        match &self.labels {
            Some(labels) => labels.json(self.label_index(row)),
            None => self.regress(row).into(),
        }
    }
}
