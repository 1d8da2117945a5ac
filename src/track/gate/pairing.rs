//! The rows the gate judges both models on, and each model's answers there: rows neither
//! model was fitted on.
//!
//! The challenger is its evaluation fit, on the rows its training held out. The champion as
//! registered may be refitted on every row (`refit_all`), so its answers on old rows come
//! from its own run's `gate/holdout_predictions.csv` (its evaluation fit's answers). The
//! hold-out is a function of the stat line (see `crate::dataset::holdout_split`), so the two
//! hold-outs are the same rows on the data both saw; rows of generations the champion never
//! trained on (a new generation) are answered by the registered champion itself, which has
//! never seen them. A held-out row the champion trained on is left out, and counted.

use std::collections::HashMap;

use crate::dataset::Generations;
use crate::model::Model;
use crate::train::{HOLDOUT_HEADER, HeldOut};

/// One model's answers on a list of rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Answers {
    /// The probability of legendary.
    pub proba: Vec<f64>,
    /// Whether the model called it legendary (its own threshold rule).
    pub decided: Vec<bool>,
}

impl Answers {
    /// `model`'s answers on `rows`.
    pub(crate) fn of(model: &Model, rows: &[[f64; 6]]) -> Self {
        let proba = model.proba_rows(rows);
        let decided = model.decide_all(&proba);
        Self { proba, decided }
    }

    /// Answers deciding at 0.5, for tests.
    #[cfg(test)]
    pub(crate) fn at_half(proba: &[f64]) -> Self {
        Self {
            proba: proba.to_vec(),
            decided: proba.iter().map(|&p| p > 0.5).collect(),
        }
    }

    fn push(&mut self, proba: f64, decided: bool) {
        self.proba.push(proba);
        self.decided.push(decided);
    }
}

/// A stat line as a key (the bits of its six values, -0 as 0).
fn key(stats: &[f64; 6]) -> [u64; 6] {
    stats.map(|v| if v == 0.0 { 0.0f64 } else { v }.to_bits())
}

/// The most rows a logged hold-out may have: far above any real one, a bound on what a
/// registry's artifact can make the gate hold.
const MAX_LOGGED_ROWS: usize = 1_000_000;

/// A champion's evaluation-fit answers on its held-out rows, by stat line.
#[derive(Debug, Default)]
pub(crate) struct LoggedHoldout {
    by_line: HashMap<[u64; 6], (f64, bool)>,
}

impl LoggedHoldout {
    /// Reads `holdout_predictions.csv` as `train` writes it.
    ///
    /// # Errors
    /// Another header, a short line or a value that is not a number, naming the line.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(HOLDOUT_HEADER) {
            return Err(format!("its header is not '{HOLDOUT_HEADER}'"));
        }
        let mut by_line = HashMap::new();
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            if by_line.len() >= MAX_LOGGED_ROWS {
                return Err(format!("it has more than {MAX_LOGGED_ROWS} rows"));
            }
            let bad = || format!("line {} is not a held-out row: '{line}'", n + 2);
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != 11 {
                return Err(bad());
            }
            let mut stats = [0.0; 6];
            for (s, f) in stats.iter_mut().zip(&fields[..6]) {
                *s = f
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(bad)?;
            }
            let proba: f64 = fields[8]
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(bad)?;
            let decided: bool = fields[9].parse().map_err(|_| bad())?;
            by_line.insert(key(&stats), (proba, decided));
        }
        Ok(Self { by_line })
    }

    /// How many stat lines it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_line.len()
    }
}

/// What the gate knows of the champion beyond the registered model.
#[derive(Debug, Default)]
pub(crate) struct ChampionRecord {
    /// Its run's logged hold-out answers, when the run has them.
    pub logged: Option<LoggedHoldout>,
    /// The generations its run trained on, when the run says.
    pub generations: Option<Generations>,
    /// Whether the registered model was refitted on every row of its data (`refit_all`).
    pub refitted: bool,
    /// The digest of the data its run trained on, when the run says.
    pub data_sha256: Option<String>,
}

/// The rows both models are judged on.
#[derive(Debug, Default)]
pub(crate) struct Paired {
    /// The label of each row.
    pub labels: Vec<bool>,
    /// The generation of each row (the slices).
    pub generations: Vec<u8>,
    /// The champion's answers.
    pub champion: Answers,
    /// The challenger's answers.
    pub challenger: Answers,
    /// Rows whose champion answer came from its run's logged hold-out.
    pub from_log: usize,
    /// Rows the registered champion answered (generations it never trained on).
    pub from_model: usize,
    /// Held-out rows left out: the champion trained on them.
    pub excluded: usize,
    /// Held-out rows left out as copies of a paired row's stat line and label.
    pub copies: usize,
}

impl Paired {
    /// How the champion's answers were obtained, in words (for the record and the table).
    pub(crate) fn champion_source(&self) -> String {
        let mut parts = Vec::new();
        if self.from_log > 0 {
            parts.push(format!(
                "{} rows from its run's evaluation fit (gate/holdout_predictions.csv)",
                self.from_log
            ));
        }
        if self.from_model > 0 {
            parts.push(format!(
                "{} rows scored by the registered model (of generations it never trained on, or it was not refitted on the held-out rows)",
                self.from_model
            ));
        }
        if self.copies > 0 {
            parts.push(format!(
                "{} held-out rows left out as copies of a stat line already paired",
                self.copies
            ));
        }
        if self.excluded > 0 {
            parts.push(format!(
                "{} held-out rows left out: it trained on them",
                self.excluded
            ));
        }
        parts.join("; ")
    }
}

/// Pairs the challenger's answers on `held_out` with the champion's (see the module docs).
/// `champion_model` holds the registered champion's answers on every held-out row. `None`
/// when no row can be paired fairly (a refitted champion of the same generations with no
/// logged hold-out): the caller falls back to the champion's own logged score.
pub(crate) fn pair(
    held_out: &HeldOut,
    challenger: &Answers,
    champion_model: &Answers,
    record: &ChampionRecord,
) -> Option<Paired> {
    let mut paired = Paired::default();
    let mut seen = std::collections::HashSet::new();
    for (i, stats) in held_out.rows.iter().enumerate() {
        // Each stat line once per label: both models answer copies identically, so copies
        // add weight, not evidence (Arceus's 18 formes share one line, and would count as 18
        // independent rows in the interval).
        if !seen.insert((key(stats), held_out.labels[i])) {
            paired.copies += 1;
            continue;
        }
        let generation = held_out.generations[i];
        let unseen = record
            .generations
            .as_ref()
            .is_some_and(|g| !g.contains(generation));
        let logged = record
            .logged
            .as_ref()
            .and_then(|l| l.by_line.get(&key(stats)).copied());
        let answer = match logged {
            Some(answer) => {
                paired.from_log += 1;
                answer
            }
            // A new generation, or a champion scored as registered because it was not
            // refitted and has no log (an older model: its own split held these out).
            None if unseen || (record.logged.is_none() && !record.refitted) => {
                paired.from_model += 1;
                (champion_model.proba[i], champion_model.decided[i])
            }
            None => {
                paired.excluded += 1;
                continue;
            }
        };
        paired.labels.push(held_out.labels[i]);
        paired.generations.push(generation);
        paired.champion.push(answer.0, answer.1);
        paired
            .challenger
            .push(challenger.proba[i], challenger.decided[i]);
    }
    (!paired.labels.is_empty()).then_some(paired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_out() -> HeldOut {
        HeldOut {
            rows: vec![
                [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                [2.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                [3.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            ],
            labels: vec![true, false, false],
            generations: vec![1, 2, 9],
            data_sha256: String::new(),
        }
    }

    const LOG: &str = "hp,attack,defense,special_attack,special_defense,speed,generation,legendary,probability,decision,threshold\n\
        1,2,3,4,5,6,1,true,0.9,true,0.5\n";

    #[test]
    fn logged_rows_pair_new_generations_are_scored_and_seen_rows_are_left_out() {
        let record = ChampionRecord {
            logged: Some(LoggedHoldout::parse(LOG).unwrap()),
            generations: Some("1-8".parse().unwrap()),
            refitted: true,
            data_sha256: None,
        };
        let p = pair(
            &held_out(),
            &Answers::at_half(&[0.8, 0.1, 0.2]),
            &Answers::at_half(&[0.99, 0.01, 0.3]),
            &record,
        )
        .unwrap();
        // Row 1 from the log (not the refitted model's 0.99), row 2 left out (generation 2
        // was trained on and is not in the log), row 3 scored by the model (generation 9).
        assert_eq!(p.champion, Answers::at_half(&[0.9, 0.3]));
        assert_eq!(p.challenger, Answers::at_half(&[0.8, 0.2]));
        assert_eq!((p.from_log, p.from_model, p.excluded), (1, 1, 1));
        assert_eq!(p.generations, vec![1, 9]);
        assert!(p.champion_source().contains("1 held-out rows left out"));
    }

    #[test]
    fn copies_of_a_stat_line_are_paired_once_per_label() {
        let mut held = held_out();
        held.rows.push(held.rows[0]);
        held.labels.push(true);
        held.generations.push(1);
        held.rows.push(held.rows[0]);
        held.labels.push(false);
        held.generations.push(1);
        let record = ChampionRecord::default();
        let p = pair(
            &held,
            &Answers::at_half(&[0.8, 0.1, 0.2, 0.8, 0.8]),
            &Answers::at_half(&[0.9, 0.1, 0.3, 0.9, 0.9]),
            &record,
        )
        .unwrap();
        assert_eq!(p.labels, vec![true, false, false, false]);
        assert_eq!(p.copies, 1);
        assert!(
            p.champion_source()
                .contains("1 held-out rows left out as copies")
        );
    }

    #[test]
    fn a_refitted_champion_without_a_log_pairs_only_on_unseen_generations() {
        let record = ChampionRecord {
            logged: None,
            generations: Some("1-9".parse().unwrap()),
            refitted: true,
            data_sha256: None,
        };
        let none = pair(
            &held_out(),
            &Answers::at_half(&[0.8, 0.1, 0.2]),
            &Answers::at_half(&[0.9, 0.1, 0.3]),
            &record,
        );
        assert!(none.is_none());
        // An older champion, not refitted: scored as registered on every row.
        let record = ChampionRecord {
            refitted: false,
            ..record
        };
        let p = pair(
            &held_out(),
            &Answers::at_half(&[0.8, 0.1, 0.2]),
            &Answers::at_half(&[0.9, 0.1, 0.3]),
            &record,
        )
        .unwrap();
        assert_eq!(p.from_model, 3);
    }

    #[test]
    fn a_malformed_log_is_refused_naming_the_line() {
        for (text, expected) in [
            ("a,b\n", "header"),
            (&*format!("{LOG}1,2,3\n"), "line 3"),
            (
                &*format!("{LOG}1,2,3,4,5,6,1,true,1.5,true,0.5\n"),
                "line 3",
            ),
            (
                &*format!("{LOG}1,2,3,4,5,x,1,true,0.5,true,0.5\n"),
                "line 3",
            ),
            (
                &*format!("{LOG}1,2,3,4,5,6,1,true,0.5,maybe,0.5\n"),
                "line 3",
            ),
        ] {
            let e = LoggedHoldout::parse(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
        assert_eq!(LoggedHoldout::parse(LOG).unwrap().len(), 1);
    }
}
