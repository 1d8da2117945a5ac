//! Seeded, stratified train/test splits and k-fold cross-validation folds.
//!
//! The shuffle uses its own small PRNG (SplitMix64) so that the same seed gives the same
//! split on every platform and with every version of every dependency.

use legendary_forest::SplitMix64;

/// Row indices of a train/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows held out for evaluation.
    pub test: Vec<usize>,
}

/// Indices of each class, each list shuffled with `seed`.
fn shuffled_by_class(labels: &[bool], seed: u64) -> [Vec<usize>; 2] {
    let mut rng = SplitMix64::new(seed);
    let mut negatives: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    let mut positives: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    rng.shuffle(&mut negatives);
    rng.shuffle(&mut positives);
    [negatives, positives]
}

/// Splits rows so that each class keeps its proportion in both parts.
///
/// `test_size` is the held-out fraction (0 < test_size < 1); each class contributes
/// `round(n_class * test_size)` rows, at least one when it has two or more.
pub(crate) fn stratified_split(labels: &[bool], test_size: f64, seed: u64) -> Split {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in shuffled_by_class(labels, seed) {
        let mut n_test = (class.len() as f64 * test_size).round() as usize;
        if class.len() >= 2 {
            n_test = n_test.clamp(1, class.len() - 1);
        }
        test.extend_from_slice(&class[..n_test]);
        train.extend_from_slice(&class[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// Stratified k-fold: `k` splits whose test parts partition the rows, each class spread
/// evenly over the folds.
pub(crate) fn kfold(labels: &[bool], k: usize, seed: u64) -> Vec<Split> {
    let k = k.max(2);
    let mut folds: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut next = 0;
    for class in shuffled_by_class(labels, seed) {
        // Deal rows round-robin, continuing where the previous class stopped, so fold
        // sizes differ by at most one.
        for i in class {
            folds[next % k].push(i);
            next += 1;
        }
    }
    (0..k)
        .map(|f| {
            let mut test = folds[f].clone();
            test.sort_unstable();
            let mut train: Vec<usize> = folds
                .iter()
                .enumerate()
                .filter(|(g, _)| *g != f)
                .flat_map(|(_, rows)| rows.iter().copied())
                .collect();
            train.sort_unstable();
            Split { train, test }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<bool> {
        (0..100).map(|i| i % 10 == 0).collect()
    }

    #[test]
    fn split_is_stratified_disjoint_and_complete() {
        let y = labels();
        let s = stratified_split(&y, 0.2, 7);
        assert_eq!(s.test.len(), 20);
        assert_eq!(s.test.iter().filter(|&&i| y[i]).count(), 2);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_split_and_other_seed_other_split() {
        let y = labels();
        assert_eq!(stratified_split(&y, 0.2, 1), stratified_split(&y, 0.2, 1));
        assert_ne!(stratified_split(&y, 0.2, 1), stratified_split(&y, 0.2, 2));
    }

    #[test]
    fn kfold_test_parts_partition_the_rows_with_balanced_classes() {
        let y = labels();
        let folds = kfold(&y, 5, 3);
        let mut seen: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.test.len(), 20);
            assert_eq!(f.test.iter().filter(|&&i| y[i]).count(), 2);
            assert_eq!(f.train.len() + f.test.len(), 100);
        }
    }
}
