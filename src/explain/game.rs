//! Exact Shapley values of a six-player game given by the value of every coalition: the pure
//! arithmetic, apart from any model, so it can be checked on games whose values are known.

/// Players: the six stats.
pub(super) const PLAYERS: usize = 6;

/// Coalitions of six players: bit `i` of a coalition's index is set when player `i` is in it.
pub(super) const COALITIONS: usize = 1 << PLAYERS;

/// The coalition of every player.
pub(super) const EVERYONE: usize = COALITIONS - 1;

/// Shapley weight of a coalition of `s` players that a seventh-to-join player joins:
/// `s! (n - s - 1)! / n!` for n = 6, i.e. 1/6, 1/30, 1/60, 1/60, 1/30, 1/6.
const WEIGHTS: [f64; PLAYERS] = [
    1.0 / 6.0,
    1.0 / 30.0,
    1.0 / 60.0,
    1.0 / 60.0,
    1.0 / 30.0,
    1.0 / 6.0,
];

/// The Shapley value of each player of the game `v` (`v[S]` is the value of coalition `S`):
/// `φ_i = Σ_{S ∌ i} w(|S|) (v(S ∪ {i}) − v(S))`. Their sum is `v(everyone) − v(nobody)` up
/// to rounding of a few units in the last place.
pub(super) fn shapley(v: &[f64; COALITIONS]) -> [f64; PLAYERS] {
    let mut phi = [0.0; PLAYERS];
    for (i, phi) in phi.iter_mut().enumerate() {
        let bit = 1 << i;
        for s in (0..COALITIONS).filter(|s| s & bit == 0) {
            *phi += WEIGHTS[s.count_ones() as usize] * (v[s | bit] - v[s]);
        }
    }
    phi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(f: impl Fn(usize) -> f64) -> [f64; COALITIONS] {
        std::array::from_fn(f)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-14
    }

    #[test]
    fn the_weights_are_the_shapley_weights() {
        let factorial = |n: usize| (1..=n).product::<usize>() as f64;
        for (s, w) in WEIGHTS.iter().enumerate() {
            assert!(close(
                *w,
                factorial(s) * factorial(PLAYERS - s - 1) / factorial(PLAYERS)
            ));
        }
        // Each player joins one coalition of each size's worth of orderings: they sum to 1.
        let total: f64 = (0..PLAYERS)
            .map(|s| {
                let choose = factorial(PLAYERS - 1) / (factorial(s) * factorial(PLAYERS - 1 - s));
                choose * WEIGHTS[s]
            })
            .sum();
        assert!(close(total, 1.0));
    }

    #[test]
    fn an_additive_game_gives_each_player_its_own_part() {
        let parts = [0.5, -1.25, 2.0, 0.0, 3.5, -0.75];
        let v = game(|s| {
            7.0 + (0..PLAYERS)
                .filter(|i| s >> i & 1 == 1)
                .map(|i| parts[i])
                .sum::<f64>()
        });
        let phi = shapley(&v);
        for (p, want) in phi.iter().zip(parts) {
            assert!(close(*p, want), "{phi:?}");
        }
    }

    #[test]
    fn a_unanimity_game_is_shared_equally_and_outsiders_are_dummies() {
        // v(S) = 1 when S holds players 0, 2 and 5, else 0.
        let team = 0b100101;
        let phi = shapley(&game(|s| f64::from(u8::from(s & team == team))));
        for (i, p) in phi.iter().enumerate() {
            let want = if team >> i & 1 == 1 { 1.0 / 3.0 } else { 0.0 };
            assert!(close(*p, want), "player {i}: {phi:?}");
        }
    }

    #[test]
    fn symmetric_players_get_equal_values_and_the_values_sum_to_the_gain() {
        // Players 1 and 4 are interchangeable; the game is otherwise lopsided.
        let v = game(|s| {
            let has = |i: usize| f64::from(u8::from(s >> i & 1 == 1));
            let pair = has(1) + has(4);
            (1.0 + has(0)) * pair * pair + 3.0 * has(2) * has(3) - 0.5 * has(5) + 0.1
        });
        let phi = shapley(&v);
        assert!(close(phi[1], phi[4]), "{phi:?}");
        assert!((phi.iter().sum::<f64>() - (v[EVERYONE] - v[0])).abs() < 1e-13);
    }

    #[test]
    fn the_maximum_game_matches_its_shapley_values_by_orderings() {
        // v(S) = max of the players' numbers in S (0 when empty), checked against the
        // definition: the average marginal contribution over all 720 orderings.
        let numbers = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0];
        let v = game(|s| {
            (0..PLAYERS)
                .filter(|i| s >> i & 1 == 1)
                .map(|i| numbers[i])
                .fold(0.0, f64::max)
        });
        let mut by_orderings = [0.0; PLAYERS];
        let mut order: Vec<usize> = (0..PLAYERS).collect();
        let mut count = 0.0;
        permutations(&mut order, 0, &mut |order| {
            let mut s = 0;
            for &i in order {
                by_orderings[i] += v[s | 1 << i] - v[s];
                s |= 1 << i;
            }
            count += 1.0;
        });
        let phi = shapley(&v);
        for (p, o) in phi.iter().zip(by_orderings) {
            assert!(close(*p, o / count), "{phi:?}");
        }
    }

    fn permutations(items: &mut [usize], k: usize, visit: &mut impl FnMut(&[usize])) {
        if k == items.len() {
            visit(items);
            return;
        }
        for i in k..items.len() {
            items.swap(k, i);
            permutations(items, k + 1, visit);
            items.swap(k, i);
        }
    }
}
