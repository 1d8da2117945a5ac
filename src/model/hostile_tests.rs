//! Hostile model directories: forests whose trees are not trees, forests and files over the
//! caps. Each is built from the bundled model, so everything but the flaw is real.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use legendary_forest::{ForestError, ModelError};

use super::{ArtifactError, ForestModel, ReadLimits, read_dir, read_dir_with};

fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pokemon")
}

/// The bundled `model.json`, parsed once.
fn envelope() -> &'static Value {
    static ENVELOPE: OnceLock<Value> = OnceLock::new();
    ENVELOPE.get_or_init(|| {
        let bytes = std::fs::read(bundled_dir().join("model.json")).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    })
}

/// The bundled envelope with its forest's trees replaced by `trees` (lists of nodes); each
/// keeps the rest of the bundled first tree (parameters, classes, width).
fn with_trees(trees: &[Vec<Value>]) -> Vec<u8> {
    let mut envelope = envelope().clone();
    let template = envelope["forest"]["trees"][0].clone();
    let trees: Vec<Value> = trees
        .iter()
        .map(|nodes| {
            let mut tree = template.clone();
            tree["nodes"] = Value::Array(nodes.clone());
            tree
        })
        .collect();
    envelope["forest"]["trees"] = Value::Array(trees);
    serde_json::to_vec(&envelope).unwrap()
}

fn split(true_child: usize, false_child: usize) -> Value {
    json!({"output": 0, "n_node_samples": 10, "split_feature": 6, "split_value": 500.0,
           "split_score": 0.1, "true_child": true_child, "false_child": false_child,
           "impurity": 0.3})
}

fn leaf(output: usize) -> Value {
    json!({"output": output, "n_node_samples": 5, "split_feature": 0, "split_value": null,
           "split_score": null, "true_child": null, "false_child": null, "impurity": 0.0})
}

/// `levels` splits whose two children are the same next node, then a leaf: 2^levels paths.
fn shared_chain(levels: usize) -> Vec<Value> {
    let mut nodes: Vec<Value> = (0..levels).map(|i| split(i + 1, i + 1)).collect();
    nodes.push(leaf(1));
    nodes
}

/// A ladder: levels of two splits that both point to the next level's pair (2^levels paths,
/// and no split has two equal children).
fn shared_ladder(levels: usize) -> Vec<Value> {
    let mut nodes = vec![split(1, 2)];
    for level in 0..levels {
        let next = 2 * level + 3;
        nodes.push(split(next, next + 1));
        nodes.push(split(next, next + 1));
    }
    nodes.push(leaf(0));
    nodes.push(leaf(1));
    nodes
}

/// A tree `depth` splits deep: split `i` (node 2i) has a leaf (node 2i+1) and the next split.
fn chain(depth: usize) -> Vec<Value> {
    let mut nodes = Vec::new();
    for i in 0..depth {
        nodes.push(split(2 * i + 1, 2 * i + 2));
        nodes.push(leaf(0));
    }
    nodes.push(leaf(1));
    nodes
}

fn load(bytes: &[u8], limits: &ReadLimits) -> Result<ForestModel, ModelError> {
    ForestModel::from_json(bytes, limits)
}

/// The `(tree, node, problem)` a refused forest names.
fn node_error(bytes: &[u8]) -> (usize, usize, String) {
    match load(bytes, &ReadLimits::default()) {
        Err(ModelError::Forest(ForestError::Node {
            tree,
            node,
            problem,
        })) => (tree, node, problem),
        other => panic!("expected a node error, got {other:?}"),
    }
}

#[test]
fn shared_children_over_48_levels_are_refused_at_once() {
    // Laid out by walking every path, these would be 2^48 nodes: the process would abort on
    // allocation long before the assertion, so passing proves the load is not exponential.
    for (nodes, shared, parents) in [
        (shared_chain(48), 1, "as both children of node 0"),
        (shared_ladder(48), 3, "from node 1 and node 2"),
    ] {
        let bytes = with_trees(&[nodes]);
        let started = Instant::now();
        let (tree, node, problem) = node_error(&bytes);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!((tree, node), (0, shared), "{problem}");
        assert!(problem.contains("reached twice"), "{problem}");
        assert!(problem.contains(parents), "{problem}");
        assert!(problem.contains("a split's children must be distinct nodes"));
    }
}

#[test]
fn a_link_back_to_an_ancestor_is_a_cycle() {
    // 0 -> (1, 2), 1 -> (3, 4), 3 -> (1, 5): smartcore's predict would loop 1 -> 3 -> 1 forever.
    let nodes = vec![
        split(1, 2),
        split(3, 4),
        leaf(0),
        split(1, 5),
        leaf(1),
        leaf(0),
    ];
    let (tree, node, problem) = node_error(&with_trees(&[vec![leaf(0)], nodes]));
    assert_eq!((tree, node), (1, 3));
    assert_eq!(problem, "links back to node 1, its ancestor (a cycle)");
    // Back to the root.
    let nodes = vec![split(1, 2), split(0, 3), leaf(0), leaf(1)];
    let (_, node, problem) = node_error(&with_trees(&[nodes]));
    assert_eq!(
        (node, problem.as_str()),
        (1, "links back to node 0, its ancestor (a cycle)")
    );
}

#[test]
fn a_split_linking_to_itself_is_refused() {
    let nodes = vec![split(1, 2), leaf(0), split(2, 3), leaf(1)];
    let (tree, node, problem) = node_error(&with_trees(&[nodes]));
    assert_eq!(
        (tree, node, problem.as_str()),
        (0, 2, "links to itself (a cycle)")
    );
}

#[test]
fn a_child_out_of_range_is_refused() {
    let nodes = vec![split(1, 7), leaf(0), leaf(1)];
    let (_, node, problem) = node_error(&with_trees(&[nodes]));
    assert_eq!(node, 0);
    assert_eq!(problem, "child 7 is out of range (the tree has 3 nodes)");
    // usize::MAX must not overflow anything on the way to the error.
    let mut far = split(1, 2);
    far["false_child"] = json!(u64::MAX);
    let (_, node, problem) = node_error(&with_trees(&[vec![far, leaf(0), leaf(1)]]));
    assert_eq!(node, 0);
    assert!(problem.contains("out of range"), "{problem}");
}

#[test]
fn unreachable_nodes_one_child_splits_and_unknown_classes_are_refused() {
    let (_, node, problem) =
        node_error(&with_trees(&[vec![split(1, 2), leaf(0), leaf(1), leaf(1)]]));
    assert_eq!(node, 3);
    assert!(problem.contains("not reachable from the root"), "{problem}");

    let mut one_child = split(1, 2);
    one_child["false_child"] = Value::Null;
    let (_, node, problem) = node_error(&with_trees(&[vec![one_child, leaf(0), leaf(1)]]));
    assert_eq!((node, problem.as_str()), (0, "a split with one child"));

    // smartcore counts votes in a vector indexed by class: class 2 of 2 would panic there.
    let (_, node, problem) = node_error(&with_trees(&[vec![split(1, 2), leaf(0), leaf(2)]]));
    assert_eq!(node, 2);
    assert!(
        problem.contains("class 2; the forest has 2 classes"),
        "{problem}"
    );
}

#[test]
fn a_tree_deeper_than_the_cap_is_refused_and_one_at_the_cap_loads() {
    let limits = ReadLimits::default();
    let model = load(&with_trees(&[chain(limits.max_depth)]), &limits);
    assert!(model.is_ok(), "{model:?}");
    let (_, node, problem) = node_error(&with_trees(&[chain(limits.max_depth + 1)]));
    assert_eq!(node, 2 * limits.max_depth + 1);
    assert!(
        problem.contains("at depth 257 (splits from the root), deeper than the limit of 256"),
        "{problem}"
    );
}

#[test]
fn forests_over_the_node_caps_are_refused_before_their_nodes_are_kept() {
    let limits = ReadLimits::default();
    // Leaves that no split links to: the count refuses them before the graph is looked at.
    let compact = json!({"output": 0, "n_node_samples": 1, "split_feature": 0});
    let big_tree = vec![compact.clone(); limits.max_tree_nodes + 1];
    match load(&with_trees(&[vec![leaf(0)], big_tree]), &limits) {
        Err(ModelError::Forest(e @ ForestError::TooManyNodes { .. })) => assert_eq!(
            e.to_string(),
            "tree 1 has 4097 nodes, more than the limit of 4096 (ReadLimits::max_tree_nodes)"
        ),
        other => panic!("{other:?}"),
    }
    let trees = limits.max_nodes / limits.max_tree_nodes + 1;
    let full_tree = vec![compact; limits.max_tree_nodes];
    match load(&with_trees(&vec![full_tree; trees]), &limits) {
        Err(ModelError::Forest(ForestError::TooManyNodes {
            what, found, limit, ..
        })) => {
            assert_eq!(what, "the forest");
            assert_eq!((found, limit), (trees * limits.max_tree_nodes, 262_144));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_bundled_model_loads_at_exactly_its_measured_size_and_not_one_below() {
    // The numbers `ReadLimits::default` was sized from.
    let exact = ReadLimits {
        max_model_bytes: 1_957_905,
        max_file_bytes: 7_593,
        max_nodes: 12_190,
        max_tree_nodes: 89,
        max_depth: 15,
    };
    let dir = read_dir_with(&bundled_dir(), &exact).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dir.model.n_trees(), 200);
    // Every cap one below what the bundled model needs is refused, naming what it caps.
    let one_below = |shrink: fn(&mut ReadLimits)| {
        let mut limits = exact.clone();
        shrink(&mut limits);
        limits
    };
    let cases = [
        (
            one_below(|l| l.max_model_bytes -= 1),
            "model.json: 1957905 bytes, over the limit of 1957904",
        ),
        (
            one_below(|l| l.max_file_bytes -= 1),
            "metrics.json: 7593 bytes, over the limit of 7592",
        ),
        (
            one_below(|l| l.max_nodes -= 1),
            "the forest has 12190 nodes, more than the limit of 12189",
        ),
        (
            one_below(|l| l.max_tree_nodes -= 1),
            "has 89 nodes, more than the limit of 88",
        ),
        (
            one_below(|l| l.max_depth -= 1),
            "at depth 15 (splits from the root), deeper than the limit of 14",
        ),
    ];
    for (limits, message) in cases {
        let e = read_dir_with(&bundled_dir(), &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{e}");
    }
}

/// A copy of the bundled model directory.
fn bundled_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(bundled_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn files_over_the_default_caps_are_refused_without_being_read() {
    let limits = ReadLimits::default();
    for (file, limit) in [
        ("model.json", limits.max_model_bytes),
        ("MLmodel", limits.max_file_bytes),
        ("input_example.json", limits.max_file_bytes),
        ("metrics.json", limits.max_file_bytes),
        ("feature_importance.json", limits.max_file_bytes),
    ] {
        let dir = bundled_copy();
        let path = dir.path().join(file);
        // A sparse file one byte over: never read, so its (zero) bytes do not matter.
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(limit + 1)
            .unwrap();
        match read_dir(dir.path()) {
            Err(e @ ArtifactError::TooLarge { .. }) => {
                let message = e.to_string();
                let expected = format!(
                    "{}: {} bytes, over the limit of {limit} bytes",
                    path.display(),
                    limit + 1
                );
                assert!(message.starts_with(&expected), "{message}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn an_mlmodel_padded_past_its_cap_is_refused() {
    let dir = bundled_copy();
    let path = dir.path().join("MLmodel");
    let mut text = std::fs::read_to_string(&path).unwrap();
    while text.len() <= 64 << 10 {
        text.push_str("# padding\n");
    }
    std::fs::write(&path, &text).unwrap();
    let e = read_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("MLmodel:"), "{e}");
    assert!(
        e.contains("over the limit of 65536 bytes (ReadLimits::max_file_bytes)"),
        "{e}"
    );
}

#[test]
fn a_directory_where_model_json_should_be_is_refused() {
    let dir = bundled_copy();
    let path = dir.path().join("model.json");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let e = read_dir(dir.path()).unwrap_err();
    assert!(matches!(e, ArtifactError::NotAFile { .. }), "{e:?}");
}

#[test]
fn lists_that_would_cost_far_more_memory_than_their_bytes_are_refused() {
    // Bootstrap masks, which smartcore would read at 24 bytes per `[]`.
    let mut masks = envelope().clone();
    masks["forest"]["samples"] = json!([[], []]);
    let e = load(&serde_json::to_vec(&masks).unwrap(), &ReadLimits::default()).unwrap_err();
    assert!(e.to_string().contains("keep_samples"), "{e}");
    // Name lists longer than any feature set.
    let mut names = envelope().clone();
    names["input_features"] = json!(vec![""; 65]);
    let e = load(&serde_json::to_vec(&names).unwrap(), &ReadLimits::default()).unwrap_err();
    assert!(e.to_string().contains("at most 64 names"), "{e}");
}

#[test]
fn an_mlmodel_alias_bomb_is_refused_quickly() {
    // 10^12 scalars through YAML aliases, in 1 KB: the cap on bytes cannot stop this one,
    // nor can serde_yaml_ng's repetition limit (24M strings fit under it): aliases are
    // refused before the parser runs.
    let dir = bundled_copy();
    let path = dir.path().join("MLmodel");
    let mut bomb = String::from("bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = format!("*a{}", i - 1);
        bomb.push_str(&format!("  a{i}: &a{i} [{}]\n", vec![p; 10].join(", ")));
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("flavors:\n", &format!("{bomb}flavors:\n  bomb: *a11\n"));
    std::fs::write(&path, &text).unwrap();
    let started = Instant::now();
    let e = read_dir(dir.path()).unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(e.contains("line 3 uses a YAML anchor or alias"), "{e}");
}

#[test]
fn quickscorer_takes_signed_zero_thresholds_and_values_exactly_as_the_walk() {
    // -0.0 equals 0.0: QuickScorer's integer keys must not order them apart.
    let with = |value: Value| {
        let mut s = split(1, 2);
        s["split_value"] = value;
        vec![s, leaf(0), leaf(1)]
    };
    let mut deeper = vec![split(1, 2), split(3, 4), leaf(1), leaf(0), leaf(1)];
    deeper[1]["split_value"] = json!(-0.0);
    let mut on_defense = with(json!(-0.0));
    on_defense[0]["split_feature"] = json!(2);
    let bytes = with_trees(&[on_defense, with(json!(-0.0)), with(json!(0.0)), deeper]);
    let model =
        super::Model::from(load(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}")));
    let mut values = Vec::new();
    for i in 0..200 {
        let x = [f64::NAN, 0.0, -0.0, 1.0, -1.0, 255.0][i % 6];
        values.extend([x, 100.0, -x, 50.0, x, 0.0]);
    }
    let quick = model.proba_batch(&values);
    let walked = model.walk_proba_batch(&values);
    assert_eq!(quick.len(), 200);
    for (q, w) in quick.iter().zip(&walked) {
        assert_eq!(q.to_bits(), w.to_bits());
    }
}

#[test]
fn quickscorer_ranks_thresholds_off_the_half_grid_exactly_as_the_walk() {
    // Thresholds no integer-trained forest has: the block kernel ranks the values instead of
    // doubling them, and must still send every row where the walk does.
    let thresholds = [
        45.25, 1e-300, -1e-300, 3e9, 7e-5, 80.5, 80.0, 1e308, -2.75, 100.0,
    ];
    // A chain per tree: split i (node 2i) goes left to a leaf, right to split i + 1.
    let chain = |shift: usize| {
        let mut nodes = Vec::new();
        for (i, t) in thresholds.iter().enumerate() {
            let mut s = split(2 * i + 1, 2 * i + 2);
            s["split_value"] = json!(t);
            s["split_feature"] = json!((i + shift) % 15);
            nodes.push(s);
            nodes.push(leaf((i + shift) % 2));
        }
        // The last split's right child, node 2 * len.
        nodes.push(leaf(shift % 2));
        nodes
    };
    let trees: Vec<Vec<Value>> = (0..12).map(chain).collect();
    let model = super::Model::from(
        load(&with_trees(&trees), &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}")),
    );
    let mut values = Vec::new();
    let odd = [
        f64::NAN,
        45.25,
        45.3,
        1e-300,
        0.0,
        -0.0,
        3e9,
        3.0000001e9,
        80.0,
        80.5,
        1e308,
        f64::INFINITY,
        -2.75,
        -3.0,
        100.0,
        99.99,
    ];
    for i in 0..300 {
        values.extend((0..6).map(|j| odd[(i * 7 + j * 3) % odd.len()]));
    }
    let quick = model.proba_batch(&values);
    let walked = model.walk_proba_batch(&values);
    assert_eq!(quick.len(), 300);
    for (q, w) in quick.iter().zip(&walked) {
        assert_eq!(q.to_bits(), w.to_bits());
    }
}
