//! How much a model may hold: a model comes from a registry or a volume nobody here
//! controls, so its size and shape are checked before they can cost memory or time.

use std::fmt;

use serde::Deserializer;
use serde::de::{Error as _, SeqAccess, Visitor};

/// Caps on what reading a model directory may cost. The forest's node graph is checked
/// before anything walks it. Each field can be set on its own, e.g. from a command-line
/// flag: `ReadLimits { max_nodes, ..ReadLimits::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most nodes in the whole forest (splits and leaves).
    pub max_nodes: usize,
    /// Most nodes in one tree.
    pub max_tree_nodes: usize,
    /// Deepest leaf, in splits from its tree's root. Every row walks each tree this far, so
    /// this also bounds the time to score a row.
    pub max_depth: usize,
}

impl Default for ReadLimits {
    /// Sized from the bundled model (`models/pokemon`, 200 trees, generations 1-9), measured:
    /// 12,190 nodes, its largest tree has 89 nodes and its deepest leaf is 15 splits down.
    ///
    /// - `max_nodes`: 262,144, 21x the bundled forest.
    /// - `max_tree_nodes`: 4,096, 46x the largest bundled tree, and above the 2,463 nodes a
    ///   tree fitted on all 1,232 rows of `data/pokemon` can have at most (2n - 1).
    /// - `max_depth`: 256, 17x the bundled depth.
    fn default() -> Self {
        Self {
            max_nodes: 1 << 18,
            max_tree_nodes: 4096,
            max_depth: 256,
        }
    }
}

/// Most names in the envelope's `input_features` and `forest_features`.
const MAX_NAMES: usize = 64;

/// Deserialises a list of at most [`MAX_NAMES`] names. Both lists must equal short fixed ones,
/// but that is checked after parsing, and a list of empty strings would cost 24 bytes of
/// memory per 3 bytes of input.
///
/// # Errors
/// When the list is longer, or not a list of strings.
pub(super) fn short_names<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {MAX_NAMES} names")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = seq.next_element::<String>()? {
                if names.len() == MAX_NAMES {
                    return Err(A::Error::invalid_length(MAX_NAMES + 1, &self));
                }
                names.push(name);
            }
            Ok(names)
        }
    }
    deserializer.deserialize_seq(Names)
}
