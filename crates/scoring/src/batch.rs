//! [`Batch`], the parsed request, and the row-major builder the parsers write into.

use super::ScoringError;

/// A parsed request: row-major f64 values, `n_rows x n_cols`, columns in the model's feature order.
///
/// Guarantees: every value is finite. It may have no rows (an empty frame that names every
/// column, answered with no predictions, as MLflow answers it).
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    n_rows: usize,
    n_cols: usize,
    values: Vec<f64>,
}

impl Batch {
    /// A batch of `values`, row-major, `n_cols` to a row; the caller has checked that every
    /// value is finite and that `values.len()` is a multiple of `n_cols`.
    pub(crate) fn from_row_major(n_cols: usize, values: Vec<f64>) -> Self {
        Self {
            n_rows: values.len().checked_div(n_cols).unwrap_or(0),
            n_cols,
            values,
        }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns: the model's feature count.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Row `i` in feature order.
    ///
    /// # Panics
    /// If `i >= n_rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// Grows a row-major buffer one row at a time and enforces the row limit.
///
/// A fresh row is filled with NaN, which no parser ever writes (they reject non-finite
/// values), so a NaN left in a finished row marks a missing cell.
#[derive(Debug)]
pub(crate) struct Builder {
    n_cols: usize,
    n_rows: usize,
    max_rows: usize,
    values: Vec<f64>,
}

impl Builder {
    /// An empty builder with room for about `rows_hint` rows (capped by `max_rows`).
    pub(crate) fn new(n_cols: usize, max_rows: usize, rows_hint: usize) -> Self {
        let rows = rows_hint.min(max_rows).min(1 << 20);
        Self {
            n_cols,
            n_rows: 0,
            max_rows,
            values: Vec::with_capacity(rows * n_cols),
        }
    }

    /// Makes room for about `rows_hint` more rows (capped by the row limit).
    pub(crate) fn reserve_rows(&mut self, rows_hint: usize) {
        let rows = rows_hint.min(self.max_rows - self.n_rows).min(1 << 20);
        self.values.reserve(rows * self.n_cols);
    }

    /// Rows started so far.
    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Starts a row of NaN and returns its index.
    ///
    /// # Errors
    /// 413 once the row limit is passed.
    pub(crate) fn push_row(&mut self) -> Result<usize, ScoringError> {
        if self.n_rows >= self.max_rows {
            return Err(ScoringError::too_many_rows(self.max_rows));
        }
        self.values
            .resize(self.values.len() + self.n_cols, f64::NAN);
        self.n_rows += 1;
        Ok(self.n_rows - 1)
    }

    /// Writes `value` into column `col` of the last row.
    pub(crate) fn set(&mut self, col: usize, value: f64) {
        let at = self.values.len() - self.n_cols + col;
        self.values[at] = value;
    }

    /// Row `i` as written so far.
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// The first column of the last row that was never written, if any.
    pub(crate) fn missing_in_last_row(&self) -> Option<usize> {
        self.n_rows
            .checked_sub(1)
            .and_then(|last| self.row(last).iter().position(|v| v.is_nan()))
    }

    /// The finished batch. The caller has checked for missing cells.
    pub(crate) fn finish(self) -> Batch {
        Batch {
            n_rows: self.n_rows,
            n_cols: self.n_cols,
            values: self.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScoringErrorKind;

    #[test]
    fn builder_stops_at_the_row_limit_with_413() {
        let mut builder = Builder::new(1, 1, 10);
        builder.push_row().unwrap();
        builder.set(0, 1.0);
        assert_eq!(
            builder.push_row().unwrap_err().kind(),
            ScoringErrorKind::TooManyRows
        );
        assert_eq!(builder.finish().values(), &[1.0]);
    }
}
