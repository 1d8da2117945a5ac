//! A selection of generations such as `1-6,9`, parsed once at the command line.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The generations a run trains on: a non-empty set of numbers in `1..=9`, or `all`: every
/// generation the data package has, whichever they are (a catalogue that gains a generation
/// file is trained on it without a changed flag, which is what the retraining loop needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generations(BTreeSet<u8>, bool);

impl Generations {
    /// `all`: every generation the data has (1 to 9 at most).
    pub fn all() -> Self {
        Self((1..=9).collect(), true)
    }

    /// Exactly these generations (the ones a package was found to hold).
    pub(crate) fn exactly(generations: impl IntoIterator<Item = u8>) -> Self {
        Self(generations.into_iter().collect(), false)
    }

    /// True for `all`: a generation the data does not have is not missing.
    pub fn is_all(&self) -> bool {
        self.1
    }

    /// True when `generation` is selected.
    pub fn contains(&self, generation: u8) -> bool {
        self.0.contains(&generation)
    }

    /// The selected generations, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().copied()
    }
}

impl FromStr for Generations {
    type Err = String;

    /// Parses comma-separated numbers and inclusive ranges: `1-6,9`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::all());
        }
        let mut set = BTreeSet::new();
        for part in s.split(',').map(str::trim) {
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (parse_one(lo)?, parse_one(hi)?),
                None => {
                    let n = parse_one(part)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(format!("generation range '{part}' runs backwards"));
            }
            set.extend(lo..=hi);
        }
        Ok(Self(set, false))
    }
}

fn parse_one(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(n) if (1..=9).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not a generation: expected a number from 1 to 9 (e.g. '1-6,9')"
        )),
    }
}

impl fmt::Display for Generations {
    /// Writes the selection back in its compact form, e.g. `1-6,9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.1 {
            return f.write_str("all");
        }
        let gens: Vec<u8> = self.iter().collect();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < gens.len() {
            let start = gens[i];
            let mut end = start;
            while i + 1 < gens.len() && gens[i + 1] == end + 1 {
                i += 1;
                end = gens[i];
            }
            parts.push(if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            });
            i += 1;
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_single_numbers_combine() {
        let g: Generations = "1-3, 5,9".parse().unwrap();
        assert_eq!(g.iter().collect::<Vec<_>>(), vec![1, 2, 3, 5, 9]);
        assert_eq!(g.to_string(), "1-3,5,9");
    }

    #[test]
    fn out_of_range_and_garbage_are_rejected_with_the_culprit_named() {
        assert!("0-3".parse::<Generations>().unwrap_err().contains("'0'"));
        assert!("10".parse::<Generations>().unwrap_err().contains("'10'"));
        assert!("a".parse::<Generations>().is_err());
        assert!("".parse::<Generations>().is_err());
        assert!(
            "6-1"
                .parse::<Generations>()
                .unwrap_err()
                .contains("backwards")
        );
    }
}
