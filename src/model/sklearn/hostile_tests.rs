//! Files built to hurt the reader: foreign globals, `os.system` by REDUCE, huge declared
//! arrays, truncated zips, trees with cycles, memory-amplifying pickles. Each is refused with
//! an error that says why, having cost little.

use super::{Format, SkForest, SklearnError, SklearnLimits};
use crate::model::ReadLimits;

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
