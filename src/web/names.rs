//! How a typed name is compared with the data set's names: people type `flabebe` for
//! `Flabébé` (which the data stores decomposed, `e` + U+0301), `mr mime` for `Mr. Mime`,
//! `farfetchd` for `Farfetch’d` and `mega mewtwo` for `Mewtwo-Mega-X`. Both sides are folded
//! the same way, then compared word by word, so accents, punctuation and word order do not
//! matter.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A name or a query folded for matching: lowercase words without accents or punctuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Folded {
    /// The words, in order (`["mewtwo", "mega", "x"]`).
    words: Vec<String>,
    /// The words run together (`"mewtwomegax"`), so `hooh` still finds `Ho-Oh`.
    joined: String,
}

/// How well a name matches a query; smaller is better, `None` is no match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    /// The same name (`mr mime` for `Mr. Mime`).
    Exact,
    /// The name starts with the query (`mew` for `Mewtwo`).
    Prefix,
    /// Every word of the query starts a word of the name, in any order (`mega mewtwo`).
    Words,
    /// Every word of the query is somewhere in the name (`two` for `Mewtwo`).
    Inside,
}

impl Folded {
    /// Folds `text`: Unicode NFD with the combining marks dropped, lowercase, apostrophes and
    /// full stops removed (`Farfetch’d`, `Mr.`), any other non-alphanumeric character a word
    /// break (`-`, `:`, spaces, `%`).
    pub(super) fn new(text: &str) -> Self {
        let mut words = Vec::new();
        let mut word = String::new();
        for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !matches!(c, '\'' | '’' | 'ʼ' | '‘' | '.') && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        let joined = words.concat();
        Self { words, joined }
    }

    /// Nothing left to match on (an empty query, or only punctuation).
    pub(super) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The query as a whole number, if that is all it is (`150`, `#150`).
    pub(super) fn number(&self) -> Option<u32> {
        match self.words.as_slice() {
            [only] if only.bytes().all(|b| b.is_ascii_digit()) => only.parse().ok(),
            _ => None,
        }
    }

    /// How `self` (a name) matches `query`.
    pub(super) fn rank(&self, query: &Self) -> Option<Rank> {
        if self.joined == query.joined {
            Some(Rank::Exact)
        } else if self.joined.starts_with(&query.joined) {
            Some(Rank::Prefix)
        } else if query
            .words
            .iter()
            .all(|q| self.words.iter().any(|w| w.starts_with(q.as_str())))
        {
            Some(Rank::Words)
        } else if query.words.iter().all(|q| self.joined.contains(q.as_str())) {
            Some(Rank::Inside)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(name: &str, query: &str) -> Option<Rank> {
        Folded::new(name).rank(&Folded::new(query))
    }

    #[test]
    fn accents_are_ignored_whether_stored_decomposed_or_typed_composed() {
        let decomposed = "Flabe\u{301}be\u{301}";
        for query in ["flabebe", "FLABÉBÉ", "Flab\u{e9}b\u{e9}", decomposed] {
            assert_eq!(rank(decomposed, query), Some(Rank::Exact), "{query}");
        }
    }

    #[test]
    fn apostrophes_and_full_stops_vanish_and_other_punctuation_breaks_words() {
        assert_eq!(rank("Mr. Mime", "mr mime"), Some(Rank::Exact));
        assert_eq!(rank("Mr. Mime", "mr.mime"), Some(Rank::Exact));
        assert_eq!(rank("Mr. Mime", "mrmime"), Some(Rank::Exact));
        assert_eq!(rank("Farfetch’d", "farfetch'd"), Some(Rank::Exact));
        assert_eq!(rank("Farfetch’d", "farfetchd"), Some(Rank::Exact));
        assert_eq!(rank("Ho-Oh", "ho oh"), Some(Rank::Exact));
        assert_eq!(rank("Ho-Oh", "hooh"), Some(Rank::Exact));
        assert_eq!(rank("Type: Null", "type null"), Some(Rank::Exact));
        assert_eq!(
            Folded::new("Oricorio-Pa'u").words,
            ["oricorio", "pau"].map(str::to_owned)
        );
    }

    #[test]
    fn forme_words_match_in_any_order() {
        assert_eq!(rank("Mewtwo-Mega-X", "mega mewtwo"), Some(Rank::Words));
        assert_eq!(rank("Mewtwo-Mega-X", "mewtwo mega"), Some(Rank::Prefix));
        assert_eq!(rank("Mr. Mime-Galar", "galar mr mime"), Some(Rank::Words));
        assert_eq!(rank("Mewtwo", "mega mewtwo"), None);
    }

    #[test]
    fn a_word_inside_a_name_still_matches_but_ranks_last() {
        assert_eq!(rank("Mewtwo", "two"), Some(Rank::Inside));
        assert!(Rank::Exact < Rank::Prefix && Rank::Words < Rank::Inside);
        assert_eq!(rank("Pikachu", "mew"), None);
    }

    #[test]
    fn a_pure_number_is_a_pokedex_number() {
        assert_eq!(Folded::new("150").number(), Some(150));
        assert_eq!(Folded::new(" #150 ").number(), Some(150));
        assert_eq!(Folded::new("150 mewtwo").number(), None);
        assert_eq!(Folded::new("99999999999").number(), None);
        assert!(Folded::new(" -.' ").is_empty());
    }
}
