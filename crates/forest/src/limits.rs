//! How much a model may hold: a model comes from a registry or a volume nobody here
//! controls, so its size and shape are checked before they can cost memory or time.

use std::fmt;

use serde::Deserializer;
use serde::de::{Error as _, SeqAccess, Visitor};

/// Caps on what reading a model directory may cost. Files are checked against their caps
/// before and while they are read; the forest's node graph is checked before anything walks
/// it. Each field can be set on its own, e.g. from a command-line flag:
/// `ReadLimits { max_model_bytes, ..ReadLimits::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest `model.json`, in bytes.
    pub max_model_bytes: u64,
    /// Largest of the other files read: `MLmodel`, `input_example.json`, `metrics.json` and
    /// `feature_importance.json`, in bytes.
    pub max_file_bytes: u64,
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
    /// `model.json` is 1,957,905 bytes with 12,190 nodes, its largest tree has 89 nodes and
    /// its deepest leaf is 15 splits down; the largest other file is `metrics.json`, 4,240 bytes
    /// (`MLmodel` is 1,359).
    ///
    /// - `max_model_bytes`: 32 MiB, 17x the bundled model.
    /// - `max_nodes`: 262,144, 21x the bundled forest. The bundled model writes 161 bytes per
    ///   node, so a normally written forest reaches the byte cap first (at ~209,000 nodes);
    ///   this cap is for compact JSON, which packs a node into as little as ~50 bytes.
    ///   Measured with `legendary predict` (debug build): the bundled model peaks at 21 MB
    ///   RSS; the bundled trees repeated up to the byte cap (208,818 nodes) at 87 MB, and,
    ///   with the optional fields dropped, up to the node cap (262,116 nodes, 27.7 MB) at
    ///   91 MB: inside the Deployment's 320 Mi with room for the model still being served.
    /// - `max_tree_nodes`: 4,096, 46x the largest bundled tree, and above the 2,463 nodes a
    ///   tree fitted on all 1,232 rows of `data/pokemon` can have at most (2n - 1).
    /// - `max_depth`: 256, 17x the bundled depth.
    /// - `max_file_bytes`: 64 KiB, 15x `metrics.json`.
    fn default() -> Self {
        Self {
            max_model_bytes: 32 << 20,
            max_file_bytes: 64 << 10,
            max_nodes: 1 << 18,
            max_tree_nodes: 4096,
            max_depth: 256,
        }
    }
}

impl ReadLimits {
    /// The limits of a model whose compiled form may take `budget` bytes (the sandbox's
    /// `--model-max-bytes`): files up to that size, and as many nodes as a sixteenth of it
    /// (no compiled node is smaller), so the budget, not a count, decides what is served.
    /// The per-tree caps stay the defaults.
    pub fn for_budget(budget: u64) -> Self {
        Self {
            max_model_bytes: budget,
            max_nodes: usize::try_from(budget / 16).unwrap_or(usize::MAX),
            ..Self::default()
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
pub(crate) fn short_names<'de, D: Deserializer<'de>>(
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
