//! Files built to hurt the reader: foreign globals, `os.system` by REDUCE, huge declared
//! arrays, truncated zips, trees with cycles, memory-amplifying pickles. Each is refused with
//! an error that says why, having cost little.

use super::{Format, SkForest, SklearnError, SklearnLimits};
use legendary_forest::ReadLimits;

fn read(bytes: &[u8], format: Format) -> Result<SkForest, SklearnError> {
    SkForest::read(
        bytes,
        format,
        &SklearnLimits::default(),
        &ReadLimits::default(),
    )
}

/// A protocol-4 pickle of `body` (opcodes), ending with STOP.
fn pickle(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80, 4];
    out.extend_from_slice(body);
    out.push(b'.');
    out
}

fn unicode(s: &str) -> Vec<u8> {
    let mut out = vec![0x8c, s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// `module.name` by STACK_GLOBAL.
fn global(module: &str, name: &str) -> Vec<u8> {
    let mut out = unicode(module);
    out.extend(unicode(name));
    out.push(0x93);
    out
}

fn err(result: Result<SkForest, SklearnError>) -> String {
    match result {
        Ok(_) => panic!("a hostile file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_reduce_of_os_system_is_refused_by_name_and_runs_nothing() {
    let marker = std::env::temp_dir().join(format!("legendary-pwned-{}", std::process::id()));
    let command = format!("touch {}", marker.display());
    for module in ["os", "posix", "nt", "subprocess", "builtins"] {
        let name = if module == "builtins" {
            "eval"
        } else {
            "system"
        };
        let mut body = global(module, name);
        body.extend(unicode(&command));
        body.push(0x85); // TUPLE1
        body.push(b'R'); // REDUCE
        let message = err(read(&pickle(&body), Format::Pickle));
        assert!(
            message.starts_with(&format!("{module}.{name} is not allowed")),
            "{message}"
        );
    }
    // Protocol 2's GLOBAL opcode, too.
    let mut body = b"cos\nsystem\n".to_vec();
    body.extend(unicode(&command));
    body.extend([0x85, b'R']);
    assert!(err(read(&pickle(&body), Format::Pickle)).starts_with("os.system is not allowed"));
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn other_scikit_learn_classes_are_not_supported_by_name() {
    let mut body = global("sklearn.pipeline", "Pipeline");
    body.extend([b')', 0x81]); // EMPTY_TUPLE, NEWOBJ
    let message = err(read(&pickle(&body), Format::Pickle));
    assert!(
        message.starts_with("sklearn.pipeline.Pipeline is not supported: "),
        "{message}"
    );
    let mut body = global("sklearn.ensemble._gb", "GradientBoostingClassifier");
    body.extend([b')', 0x81]);
    assert!(
        err(read(&pickle(&body), Format::Pickle))
            .contains("GradientBoostingClassifier is not supported")
    );
}

#[test]
fn amplifying_and_malformed_pickles_hit_a_limit_or_a_clear_error() {
    // DUP forever: each byte would be a 24-byte value.
    let mut body = vec![b']'];
    body.extend(std::iter::repeat_n(b'2', (1 << 20) + 10));
    assert!(err(read(&pickle(&body), Format::Pickle)).contains("SklearnLimits::max_stack"));
    // A list appended to itself, again and again: bounded by max_values.
    let mut body = vec![b']', 0x94]; // EMPTY_LIST, MEMOIZE
    for _ in 0..(1 << 20) {
        body.extend([b'h', 0, b'a']); // BINGET 0, APPEND
    }
    assert!(err(read(&pickle(&body), Format::Pickle)).contains("SklearnLimits::max_values"));
    // Truncated, protocol 0, out-of-band buffers, a memo key never set.
    assert!(err(read(&[0x80, 4, 0x8c, 200, b'a'], Format::Pickle)).contains("truncated"));
    assert!(err(read(b"(lp0\n.", Format::Pickle)).contains("protocol 0 and 1"));
    assert!(err(read(&pickle(&[0x97]), Format::Pickle)).contains("out-of-band"));
    assert!(err(read(&pickle(&[b'h', 9]), Format::Pickle)).contains("memo key 9"));
    // An array whose declared shape is far larger than its bytes.
    let mut body = global("numpy._core.numeric", "_frombuffer");
    body.push(b'('); // MARK
    body.extend([b'C', 8]);
    body.extend([0; 8]);
    body.extend(global("numpy", "dtype"));
    body.extend(unicode("f8"));
    body.extend([0x89, 0x88, 0x87, b'R']); // False, True, TUPLE3, REDUCE
    body.extend([0x8a, 8]);
    body.extend((1_u64 << 62).to_le_bytes());
    body.push(0x85); // shape (2^62,)
    body.extend(unicode("C"));
    body.extend([b't', b'R']); // TUPLE, REDUCE
    let marked = body;
    let message = err(read(&pickle(&marked), Format::Pickle));
    assert!(message.contains("does not hold"), "{message}");
}

#[test]
fn broken_archives_are_refused() {
    assert!(err(read(b"PK\x03\x04not really", Format::Skops)).contains("not a zip archive"));
    assert!(err(read(b"", Format::Skops)).contains("not a zip archive"));
}

/// A node record: left, right, feature, threshold.
type RawNode = (i64, i64, i64, f64);

/// Pickle opcodes for a small fitted `DecisionTreeClassifier` of two features and classes
/// `[0, 1]`, with `nodes` as `(left, right, feature, threshold)` and two values per node.
fn tree_pickle(nodes: &[RawNode], values: &[f64]) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, v: i32) {
        out.push(b'J');
        out.extend(v.to_le_bytes());
    }
    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.push(b'B');
        out.extend((b.len() as u32).to_le_bytes());
        out.extend(b);
    }
    fn dtype(out: &mut Vec<u8>, typestr: &str) {
        out.extend(global("numpy", "dtype"));
        out.extend(unicode(typestr));
        out.extend([0x89, 0x88, 0x87, b'R']);
    }
    /// `_frombuffer(data, dtype, shape, 'C')`, the dtype written by `dtype_ops`.
    fn array(out: &mut Vec<u8>, data: &[u8], dtype_ops: &dyn Fn(&mut Vec<u8>), shape: &[i32]) {
        out.extend(global("numpy._core.numeric", "_frombuffer"));
        out.push(b'(');
        bytes(out, data);
        dtype_ops(out);
        out.push(b'(');
        for &d in shape {
            int(out, d);
        }
        out.push(b't');
        out.extend(unicode("C"));
        out.extend([b't', b'R']);
    }
    let record = |out: &mut Vec<u8>| {
        dtype(out, "V32");
        // BUILD state: (3, '|', None, names, fields, 32, 1, 16)
        out.push(b'(');
        int(out, 3);
        out.extend(unicode("|"));
        out.push(b'N');
        let names = ["left_child", "right_child", "feature", "threshold"];
        out.push(b'(');
        for n in names {
            out.extend(unicode(n));
        }
        out.push(b't');
        out.extend([b'}', b'(']);
        for (i, n) in names.iter().enumerate() {
            out.extend(unicode(n));
            dtype(out, if i == 3 { "f8" } else { "i8" });
            int(out, 8 * i as i32);
            out.push(0x86);
        }
        out.push(b'u');
        int(out, 32);
        int(out, 1);
        int(out, 16);
        out.extend([b't', b'b']);
    };
    let mut raw = Vec::new();
    for &(l, r, f, t) in nodes {
        raw.extend(l.to_le_bytes());
        raw.extend(r.to_le_bytes());
        raw.extend(f.to_le_bytes());
        raw.extend(t.to_le_bytes());
    }
    let vbytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let n = nodes.len() as i32;
    let mut out = global("sklearn.tree._classes", "DecisionTreeClassifier");
    out.extend([b')', 0x81, b'}', b'(']);
    out.extend(unicode("n_features_in_"));
    int(&mut out, 2);
    out.extend(unicode("n_outputs_"));
    int(&mut out, 1);
    out.extend(unicode("_sklearn_version"));
    out.extend(unicode("1.9.1"));
    out.extend(unicode("classes_"));
    let classes: Vec<u8> = [0_i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    array(&mut out, &classes, &|o| dtype(o, "i8"), &[2]);
    out.extend(unicode("tree_"));
    out.extend(global("sklearn.tree._tree", "Tree"));
    int(&mut out, 2);
    array(&mut out, &2_i64.to_le_bytes(), &|o| dtype(o, "i8"), &[1]);
    int(&mut out, 1);
    out.extend([0x87, b'R', b'}', b'(']);
    out.extend(unicode("max_depth"));
    int(&mut out, 1);
    out.extend(unicode("node_count"));
    int(&mut out, n);
    out.extend(unicode("nodes"));
    array(&mut out, &raw, &record, &[n]);
    out.extend(unicode("values"));
    array(&mut out, &vbytes, &|o| dtype(o, "f8"), &[n, 1, 2]);
    out.extend([b'u', b'b']); // the Tree's state
    out.extend([b'u', b'b']); // the estimator's state
    pickle(&out)
}

const STUMP: [RawNode; 3] = [(1, 2, 1, 50.5), (-1, -1, -2, -2.0), (-1, -1, -2, -2.0)];
const STUMP_VALUES: [f64; 6] = [0.5, 0.5, 0.9, 0.1, 0.2, 0.8];

#[test]
fn a_hand_built_decision_tree_pickle_reads_and_walks_as_scikit_learn() {
    let forest =
        read(&tree_pickle(&STUMP, &STUMP_VALUES), Format::Pickle).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forest.n_features, 2);
    assert_eq!(forest.sklearn_version.as_deref(), Some("1.9.1"));
    let mut proba = [0.0; 2];
    forest.proba_into(&[0.0, 50.5], &mut proba);
    assert_eq!(proba, [0.9, 0.1]);
    // 50.500001 is 50.5 in float32: left, as scikit-learn sends it.
    assert_eq!(
        forest.predict_json(&[0.0, 50.500_001]),
        serde_json::json!(0)
    );
    assert_eq!(forest.predict_json(&[0.0, 50.51]), serde_json::json!(1));
    // The smartcore copy agrees with the walk.
    crate::into_smartcore::SmartcoreForest::build_checked(&forest)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn trees_that_are_not_trees_are_refused_naming_the_node() {
    let cases: [(&[RawNode], &str); 5] = [
        (
            &[(1, 2, 0, 1.0), (0, 2, 0, 1.0), (-1, -1, -2, -2.0)],
            "node 1: child 0 is not a later node",
        ),
        (
            &[(1, 1, 0, 1.0), (-1, -1, -2, -2.0), (-1, -1, -2, -2.0)],
            "two parents",
        ),
        (
            &[(1, 7, 0, 1.0), (-1, -1, -2, -2.0), (-1, -1, -2, -2.0)],
            "child 7 is not a later node",
        ),
        (
            &[(1, 2, 2, 1.0), (-1, -1, -2, -2.0), (-1, -1, -2, -2.0)],
            "feature 2 is not below n_features 2",
        ),
        (
            &[(2, 2, 0, 1.0), (-1, -1, -2, -2.0), (-1, -1, -2, -2.0)],
            "two parents",
        ),
    ];
    for (nodes, expected) in cases {
        let message = err(read(&tree_pickle(nodes, &STUMP_VALUES), Format::Pickle));
        assert!(message.contains(expected), "{message}");
    }
    // A node count that disagrees with the arrays.
    let message = err(read(
        &tree_pickle(&STUMP[..2], &STUMP_VALUES[..4]),
        Format::Pickle,
    ));
    assert!(
        message.contains("is not reached") || message.contains("not a later node"),
        "{message}"
    );
}

/// A `model.skops` zip of `entries` (deflated).
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options)
            .unwrap_or_else(|e| panic!("{e}"));
        zip.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

/// A schema whose `classes_` is the array in `file`.
fn schema(file: &str) -> String {
    format!(
        r#"{{"__class__": "DecisionTreeClassifier", "__module__": "sklearn.tree._classes",
            "__loader__": "ObjectNode", "content": {{"__class__": "dict", "__module__": "builtins",
            "__loader__": "DictNode", "content": {{"classes_": {{"__class__": "ndarray",
            "__module__": "numpy", "__loader__": "NdArrayNode", "type": "numpy",
            "file": "{file}"}}}}}}, "protocol": 2}}"#
    )
}

fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[test]
fn hostile_archives_are_refused_within_their_caps() {
    // A header declaring 2^40 float64 items over 16 bytes.
    let huge = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
        &[0; 16],
    );
    let zip = archive(&[
        ("schema.json", schema("a.npy").as_bytes()),
        ("a.npy", &huge),
    ]);
    assert!(err(read(&zip, Format::Skops)).contains("does not hold"));
    // A zip bomb: 4 MiB of zeros against a 1 MiB cap costs at most the cap.
    let zeros = vec![0_u8; 4 << 20];
    let zip = archive(&[
        ("schema.json", schema("a.npy").as_bytes()),
        ("a.npy", &zeros),
    ]);
    let limits = SklearnLimits {
        max_unpacked_bytes: 1 << 20,
        ..SklearnLimits::default()
    };
    let message = match SkForest::read(&zip, Format::Skops, &limits, &ReadLimits::default()) {
        Ok(_) => panic!("a zip bomb was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("SklearnLimits::max_unpacked_bytes"),
        "{message}"
    );
    // Truncated: the central directory is gone.
    let good = archive(&[("schema.json", schema("a.npy").as_bytes())]);
    let message = err(read(&good[..good.len() - 30], Format::Skops));
    assert!(message.contains("not a zip archive"), "{message}");
    // A function node, and a class outside the list.
    let function = r#"{"__class__": "system", "__module__": "os", "__loader__": "FunctionNode",
        "content": "os.system", "protocol": 2}"#;
    let message = err(read(
        &archive(&[("schema.json", function.as_bytes())]),
        Format::Skops,
    ));
    assert!(message.starts_with("os.system is not allowed"), "{message}");
    let pipeline = r#"{"__class__": "Pipeline", "__module__": "sklearn.pipeline",
        "__loader__": "ObjectNode", "protocol": 2}"#;
    let message = err(read(
        &archive(&[("schema.json", pipeline.as_bytes())]),
        Format::Skops,
    ));
    assert!(
        message.starts_with("sklearn.pipeline.Pipeline is not supported"),
        "{message}"
    );
    // A node that contains itself through a back-reference.
    let cyclic = r#"{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
        "__id__": 7, "content": [{"__loader__": "CachedNode", "__id__": 7}], "protocol": 2}"#;
    let message = err(read(
        &archive(&[("schema.json", cyclic.as_bytes())]),
        Format::Skops,
    ));
    assert!(message.contains("contains itself"), "{message}");
}

#[test]
fn a_shared_tuple_passed_to_many_calls_is_counted_each_time() {
    // One 100,000-item tuple in the memo, then passed to `Tree(...)` 20 times: 2.1 million
    // values of copies from 200 kB of input.
    let mut body = vec![b'('];
    for _ in 0..100_000 {
        body.extend([b'K', 1]);
    }
    body.extend([b't', 0x94]); // TUPLE, MEMOIZE (key 0)
    body.push(b'0');
    for _ in 0..20 {
        body.extend(global("sklearn.tree._tree", "Tree"));
        body.extend([b'h', 0, b'R', b'0']); // BINGET 0, REDUCE, POP
    }
    body.push(b'N');
    // A deep stack is allowed here, so that the copies are what is counted.
    let limits = SklearnLimits {
        max_stack: 1 << 20,
        ..SklearnLimits::default()
    };
    let message = err(SkForest::read(
        &pickle(&body),
        Format::Pickle,
        &limits,
        &ReadLimits::default(),
    ));
    assert!(message.contains("SklearnLimits::max_values"), "{message}");
}

#[test]
fn truncated_and_mutated_pickles_are_refused_or_read_never_panicking() {
    let good = tree_pickle(&STUMP, &STUMP_VALUES);
    for n in 0..good.len() {
        assert!(
            read(&good[..n], Format::Pickle).is_err(),
            "truncated at {n}"
        );
    }
    let mut rng = legendary_forest::SplitMix64::new(16);
    for _ in 0..5000 {
        let mut bad = good.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bad.len());
            bad[at] = rng.below(256) as u8;
        }
        // Either answer is fine; a panic or a hang is not.
        let _ = read(&bad, Format::Pickle);
    }
}
