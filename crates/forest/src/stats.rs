//! The six base stats every model here reads: one struct, and the names, the order and the
//! row conversions derived from it by one macro, so they cannot disagree.

use serde::{Deserialize, Serialize};

/// Declares [`Stats`] and [`FEATURES`] from one list of fields.
macro_rules! stats {
    ($($(#[doc = $doc:literal])* $field:ident),* $(,)?) => {
        /// The six base stats of one Pokémon (or one value per stat, such as its Shapley
        /// contributions), in the order a row holds them.
        #[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct Stats {
            $($(#[doc = $doc])* pub $field: f64,)*
        }

        /// The six base stats' names, in the order a row holds them: [`Stats`]' fields.
        pub const FEATURES: [&str; 6] = [$(stringify!($field)),*];

        impl From<[f64; 6]> for Stats {
            fn from([$($field),*]: [f64; 6]) -> Self {
                Self { $($field),* }
            }
        }

        impl From<Stats> for [f64; 6] {
            fn from(stats: Stats) -> Self {
                [$(stats.$field),*]
            }
        }
    };
}

stats! {
    /// HP.
    hp,
    /// Attack.
    attack,
    /// Defense.
    defense,
    /// Special attack.
    special_attack,
    /// Special defense.
    special_defense,
    /// Speed.
    speed,
}

/// [`FEATURES`] followed by `rest`: the header of a table that holds the six stats and more
/// (a data package's required columns, the payload log's), so the stat names are written
/// once. `N` must be `6 + rest.len()`; in a `const` a wrong `N` fails to compile.
///
/// # Panics
/// When `N` is not `6 + rest.len()` (at compile time in a `const`).
pub const fn features_then<const N: usize>(rest: &[&'static str]) -> [&'static str; N] {
    assert!(N == FEATURES.len() + rest.len(), "N must be 6 + rest.len()");
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < FEATURES.len() {
            FEATURES[i]
        } else {
            rest[i - FEATURES.len()]
        };
        i += 1;
    }
    out
}

impl Stats {
    /// The six values in [`FEATURES`] order.
    pub fn values(self) -> [f64; 6] {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_then_puts_the_stats_first() {
        const WITH: [&str; 8] = features_then(&["generation", "legendary"]);
        assert_eq!(&WITH[..6], FEATURES);
        assert_eq!(&WITH[6..], ["generation", "legendary"]);
    }

    #[test]
    fn the_names_the_fields_and_the_row_order_agree() {
        assert_eq!(
            FEATURES,
            [
                "hp",
                "attack",
                "defense",
                "special_attack",
                "special_defense",
                "speed"
            ]
        );
        let stats = Stats::from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(stats.special_attack, 4.0);
        assert_eq!(stats.values(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let json = serde_json::to_value(stats).unwrap_or_default();
        let keys: Vec<&str> = json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut sorted = FEATURES.to_vec();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }
}
