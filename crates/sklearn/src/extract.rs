//! From the inert value tree to checked trees: finds the estimator, its classes, columns and
//! each tree's node arrays (0.24's 7-field records or 1.3+'s 8, counts or fractions in
//! `value`), and proves every tree a tree before anything walks it: children after their
//! parent and in range, each node reached once, features below `n_features`, within the
//! node and depth caps. skops and pickle both skip these checks; a walk trusts them.

use super::value::{Array, ArrayData, Class, Dtype, Heap, Obj, Value};
use super::{Labels, SkForest, SkNode, SkTree, SklearnError};
use legendary_forest::ReadLimits;

fn bad(message: impl Into<String>) -> SklearnError {
    SklearnError::Malformed(message.into())
}

/// Most columns and classes an estimator may have.
const MAX_WIDTH: usize = 1024;

/// A little-endian number of `dtype` at `bytes[offset..]`, as f64 or i64.
fn number(dtype: &Dtype, bytes: &[u8], offset: usize) -> Option<Value> {
    let raw = bytes.get(offset..offset.checked_add(dtype.size)?)?;
    if dtype.big_endian && dtype.size > 1 {
        return None;
    }
    let mut b8 = [0_u8; 8];
    Some(match (dtype.kind, dtype.size) {
        (b'b', 1) => Value::Bool(raw[0] != 0),
        (b'f', 8) => {
            b8.copy_from_slice(raw);
            Value::Float(f64::from_le_bytes(b8))
        }
        (b'f', 4) => Value::Float(f64::from(f32::from_le_bytes([
            raw[0], raw[1], raw[2], raw[3],
        ]))),
        (b'i', n @ (1 | 2 | 4 | 8)) => {
            let fill = if raw[n - 1] & 0x80 != 0 { 0xff } else { 0 };
            b8 = [fill; 8];
            b8[..n].copy_from_slice(raw);
            Value::Int(i64::from_le_bytes(b8))
        }
        (b'u', n @ (1 | 2 | 4 | 8)) => {
            b8[..n].copy_from_slice(raw);
            Value::Int(i64::try_from(u64::from_le_bytes(b8)).ok()?)
        }
        _ => return None,
    })
}

/// A numpy scalar (`numpy.core.multiarray.scalar(dtype, bytes)`, or a 0-d skops array).
///
/// # Errors
/// When the dtype is not a number or boolean.
pub(crate) fn scalar(dtype: &Dtype, raw: &[u8]) -> Result<Value, SklearnError> {
    if raw.len() != dtype.size {
        return Err(bad("a numpy scalar of the wrong size"));
    }
    number(dtype, raw, 0)
        .ok_or_else(|| bad(format!("numpy scalar of kind '{}'", char::from(dtype.kind))))
}

struct View<'h> {
    heap: &'h Heap,
}

impl<'h> View<'h> {
    /// An instance's class and its state dict.
    fn instance(&self, v: &Value) -> Option<(Class, &'h [Value], Option<&'h Value>)> {
        match self.heap.get(v)? {
            Obj::Instance { class, args, state } => Some((*class, args, state.as_ref())),
            _ => None,
        }
    }

    fn attr(&self, state: Option<&'h Value>, name: &str) -> Option<&'h Value> {
        let state = state?;
        // `(dict, slots)` when a class has __slots__; scikit-learn's do not, but it is cheap.
        let dict = match self.heap.get(state) {
            Some(Obj::Tuple(items)) => items.first()?,
            _ => state,
        };
        self.heap.dict_get(dict, name)
    }

    fn array(&self, v: &Value, what: &str) -> Result<&'h Array, SklearnError> {
        match self.heap.get(v) {
            Some(Obj::Array(a)) => {
                a.check()?;
                Ok(a)
            }
            _ => Err(bad(format!("{what} is not a numpy array"))),
        }
    }

    fn int(v: Option<&Value>, what: &str) -> Result<usize, SklearnError> {
        match v {
            Some(Value::Int(n)) => {
                usize::try_from(*n).map_err(|_| bad(format!("{what} is negative")))
            }
            _ => Err(bad(format!("{what} is missing or not an integer"))),
        }
    }

    /// The items of a 1-d array as values (numbers, booleans or strings).
    fn items(&self, a: &Array) -> Result<Vec<Value>, SklearnError> {
        let n = a.len()?;
        match &a.data {
            ArrayData::Objects(items) => Ok(items.clone()),
            ArrayData::Raw(bytes) if a.dtype.kind == b'U' => (0..n)
                .map(|i| {
                    let item = &bytes[i * a.dtype.size..(i + 1) * a.dtype.size];
                    let text: String = item
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .take_while(|&c| c != 0)
                        .map(|c| char::from_u32(c).ok_or_else(|| bad("bad UCS-4 text")))
                        .collect::<Result<_, _>>()?;
                    Ok(Value::Str(text.into()))
                })
                .collect(),
            ArrayData::Raw(bytes) => (0..n)
                .map(|i| {
                    number(&a.dtype, bytes, i * a.dtype.size).ok_or_else(|| {
                        bad(format!(
                            "array items of kind '{}'",
                            char::from(a.dtype.kind)
                        ))
                    })
                })
                .collect(),
            ArrayData::Empty => Err(bad("an array was never filled")),
        }
    }
}

fn labels(items: Vec<Value>) -> Result<Labels, SklearnError> {
    let all = |f: fn(&Value) -> bool| items.iter().all(f);
    Ok(if all(|v| matches!(v, Value::Bool(_))) {
        Labels::Bool(
            items
                .iter()
                .map(|v| matches!(v, Value::Bool(true)))
                .collect(),
        )
    } else if all(|v| matches!(v, Value::Int(_))) {
        Labels::Int(
            items
                .iter()
                .map(|v| if let Value::Int(i) = v { *i } else { 0 })
                .collect(),
        )
    } else if all(|v| matches!(v, Value::Float(_) | Value::Int(_))) {
        Labels::Float(
            items
                .iter()
                .map(|v| match v {
                    Value::Float(f) => *f,
                    Value::Int(i) => *i as f64,
                    _ => 0.0,
                })
                .collect(),
        )
    } else if all(|v| matches!(v, Value::Str(_))) {
        Labels::Str(
            items
                .iter()
                .map(|v| {
                    if let Value::Str(s) = v {
                        s.to_string()
                    } else {
                        String::new()
                    }
                })
                .collect(),
        )
    } else {
        return Err(SklearnError::NotSupported(
            "classes_ of mixed types".to_owned(),
        ));
    })
}

/// The estimator at `top`, checked, with every tree proven a tree within `limits`.
///
/// # Errors
/// [`SklearnError`] naming what is missing, unsupported or out of bounds.
pub(crate) fn forest(
    heap: &Heap,
    top: &Value,
    limits: &ReadLimits,
) -> Result<SkForest, SklearnError> {
    let view = View { heap };
    let (class, _, state) = view
        .instance(top)
        .ok_or_else(|| bad("the file does not hold an estimator"))?;
    if class == Class::Tree {
        return Err(SklearnError::NotSupported(
            "a bare sklearn.tree._tree.Tree".to_owned(),
        ));
    }
    if let Some(n) = view.attr(state, "n_outputs_")
        && *n != Value::Int(1)
    {
        return Err(SklearnError::NotSupported(
            "multi-output estimators".to_owned(),
        ));
    }
    let labels = if class.is_classifier() {
        let classes = view
            .attr(state, "classes_")
            .ok_or_else(|| bad("a classifier without classes_ (not fitted?)"))?;
        let classes = view.array(classes, "classes_")?;
        if classes.shape.len() != 1 {
            return Err(SklearnError::NotSupported(
                "multi-output classes_".to_owned(),
            ));
        }
        let labels = labels(view.items(classes)?)?;
        if !(2..=MAX_WIDTH).contains(&labels.len()) {
            return Err(bad(format!(
                "{} classes; 2 to {MAX_WIDTH} are served",
                labels.len()
            )));
        }
        Some(labels)
    } else {
        None
    };
    let n_features = View::int(
        view.attr(state, "n_features_in_")
            .or_else(|| view.attr(state, "n_features_")),
        "n_features_in_",
    )?;
    if !(1..=MAX_WIDTH).contains(&n_features) {
        return Err(bad(format!(
            "{n_features} features; 1 to {MAX_WIDTH} are served"
        )));
    }
    let feature_names = match view.attr(state, "feature_names_in_") {
        Some(names) => {
            let items = view.items(view.array(names, "feature_names_in_")?)?;
            let names = items
                .into_iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.to_string()),
                    _ => Err(bad("feature_names_in_ holds a non-string")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if names.len() != n_features {
                return Err(bad("feature_names_in_ does not name every feature"));
            }
            Some(names)
        }
        None => None,
    };
    let sklearn_version = match view.attr(state, "_sklearn_version") {
        Some(Value::Str(s)) => Some(s.to_string()),
        _ => None,
    };
    let estimators: Vec<&Value> = if class.is_single_tree() {
        vec![top]
    } else {
        let list = view
            .attr(state, "estimators_")
            .ok_or_else(|| bad("a forest without estimators_ (not fitted?)"))?;
        let list = heap
            .seq(list)
            .ok_or_else(|| bad("estimators_ is not a list"))?;
        list.iter().collect()
    };
    if estimators.is_empty() {
        return Err(bad("a forest without trees"));
    }
    let n_values = labels.as_ref().map_or(1, Labels::len);
    let mut total = 0_usize;
    let mut trees = Vec::with_capacity(estimators.len());
    for (i, est) in estimators.into_iter().enumerate() {
        let (sub, _, sub_state) = view
            .instance(est)
            .ok_or_else(|| bad(format!("estimators_[{i}] is not an estimator")))?;
        if !sub.is_single_tree() || sub.is_classifier() != class.is_classifier() {
            return Err(SklearnError::NotSupported(format!(
                "a {} inside a {}",
                sub.name(),
                class.name()
            )));
        }
        let tree_value = view
            .attr(sub_state, "tree_")
            .ok_or_else(|| bad(format!("tree {i} has no tree_")))?;
        let tree = tree(&view, tree_value, n_features, n_values, limits).map_err(|e| match e {
            SklearnError::Malformed(m) => bad(format!("tree {i}: {m}")),
            other => other,
        })?;
        total += tree.nodes.len();
        if total > limits.max_nodes {
            return Err(SklearnError::Limit(format!(
                "the forest has more than {} nodes (ReadLimits::max_nodes)",
                limits.max_nodes
            )));
        }
        trees.push(tree);
    }
    Ok(SkForest {
        class,
        labels,
        n_features,
        feature_names,
        sklearn_version,
        trees,
    })
}

/// Integer field `name` of a node record, as the file's platform wrote it (`intp`).
fn int_field<'d>(dtype: &'d Dtype, name: &str) -> Result<(&'d Dtype, usize), SklearnError> {
    dtype
        .field(name)
        .filter(|(d, _)| d.kind == b'i' && matches!(d.size, 4 | 8))
        .ok_or_else(|| bad(format!("node records have no integer field '{name}'")))
}

fn tree(
    view: &View<'_>,
    value: &Value,
    n_features: usize,
    n_values: usize,
    limits: &ReadLimits,
) -> Result<SkTree, SklearnError> {
    let (class, args, state) = view
        .instance(value)
        .filter(|(c, _, _)| *c == Class::Tree)
        .ok_or_else(|| bad("tree_ is not a sklearn.tree._tree.Tree"))?;
    debug_assert_eq!(class, Class::Tree);
    if View::int(args.first(), "Tree n_features")? != n_features {
        return Err(bad("its n_features differs from the estimator's"));
    }
    if args.get(2).is_some_and(|n| *n != Value::Int(1)) {
        return Err(SklearnError::NotSupported("multi-output trees".to_owned()));
    }
    let count = View::int(view.attr(state, "node_count"), "node_count")?;
    if count == 0 || count > limits.max_tree_nodes {
        return Err(SklearnError::Limit(format!(
            "a tree has {count} nodes; 1 to {} are read (ReadLimits::max_tree_nodes)",
            limits.max_tree_nodes
        )));
    }
    let nodes = view.array(
        view.attr(state, "nodes").ok_or_else(|| bad("no nodes"))?,
        "nodes",
    )?;
    let values = view.array(
        view.attr(state, "values").ok_or_else(|| bad("no values"))?,
        "values",
    )?;
    if nodes.shape != [count] {
        return Err(bad(format!(
            "nodes has shape {:?}, not [{count}]",
            nodes.shape
        )));
    }
    if values.shape != [count, 1, n_values] || values.dtype.kind != b'f' || values.dtype.size != 8 {
        return Err(bad(format!(
            "values has shape {:?}, not [{count}, 1, {n_values}] float64",
            values.shape
        )));
    }
    if values.fortran && n_values > 1 {
        return Err(bad("values is in Fortran order"));
    }
    let (ArrayData::Raw(raw), ArrayData::Raw(vraw)) = (&nodes.data, &values.data) else {
        return Err(bad("node arrays without bytes"));
    };
    let d = &nodes.dtype;
    let fields = [
        int_field(d, "left_child")?,
        int_field(d, "right_child")?,
        int_field(d, "feature")?,
    ];
    let threshold = d
        .field("threshold")
        .filter(|(t, _)| t.kind == b'f' && t.size == 8)
        .ok_or_else(|| bad("node records have no float64 threshold"))?;
    let missing = d.field("missing_go_to_left");
    let get = |i: usize, (dt, off): (&Dtype, usize)| number(dt, raw, i * d.size + off);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let ints: Vec<i64> = fields
            .iter()
            .map(|&f| match get(i, f) {
                Some(Value::Int(v)) => Ok(v),
                _ => Err(bad("a node field is unreadable")),
            })
            .collect::<Result<_, _>>()?;
        let Some(Value::Float(t)) = get(i, threshold) else {
            return Err(bad("a threshold is unreadable"));
        };
        let missing_left =
            missing.is_some_and(|f| matches!(get(i, f), Some(Value::Int(v)) if v != 0));
        out.push((ints[0], ints[1], ints[2], t, missing_left));
    }
    let leaf_values = (0..count * n_values)
        .map(|k| match number(&values.dtype, vraw, k * 8) {
            Some(Value::Float(v)) if v.is_finite() => Ok(v),
            _ => Err(bad("a leaf value is not a finite number")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    prove_tree(&out, leaf_values, n_features, n_values, limits)
}

/// One node as a file stores it: left and right child (`-1` for a leaf), feature, threshold
/// and where a NaN goes.
pub(crate) type RawNode = (i64, i64, i64, f64, bool);

/// Proves `raw` a tree of `n_features` columns within `limits` (children after their parent,
/// each node reached once from the root, finite thresholds) and pairs it with its leaf values
/// (`n_values` finite numbers per node). The one check every tree passes, read from a model
/// file or from the compiled form (the model compiler's output).
///
/// # Errors
/// [`SklearnError::Malformed`] naming the node, or [`SklearnError::Limit`] for the depth.
pub(crate) fn prove_tree(
    raw: &[RawNode],
    values: Vec<f64>,
    n_features: usize,
    n_values: usize,
    limits: &ReadLimits,
) -> Result<SkTree, SklearnError> {
    let count = raw.len();
    if count == 0 || count > limits.max_tree_nodes {
        return Err(SklearnError::Limit(format!(
            "a tree has {count} nodes; 1 to {} are read (ReadLimits::max_tree_nodes)",
            limits.max_tree_nodes
        )));
    }
    if values.len() != count.saturating_mul(n_values) {
        return Err(bad(format!(
            "a tree of {count} nodes has {} values, not {n_values} per node",
            values.len()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("a leaf value is not a finite number"));
    }
    let mut reached = vec![false; count];
    let mut depth_of = vec![0_usize; count];
    reached[0] = true;
    let mut nodes_out = Vec::with_capacity(count);
    let mut depth = 0;
    for (i, &(l, r, f, t, missing_left)) in raw.iter().enumerate() {
        let node_err = |p: String| bad(format!("node {i}: {p}"));
        if !reached[i] {
            return Err(node_err("is not reached from the root".to_owned()));
        }
        if l == -1 && r == -1 {
            nodes_out.push(SkNode::leaf());
            continue;
        }
        let child = |c: i64| {
            usize::try_from(c)
                .ok()
                .filter(|&c| c > i && c < count)
                .ok_or_else(|| node_err(format!("child {c} is not a later node of this tree")))
        };
        let (l, r) = (child(l)?, child(r)?);
        let feature = usize::try_from(f)
            .ok()
            .filter(|&f| f < n_features)
            .ok_or_else(|| node_err(format!("feature {f} is not below n_features {n_features}")))?;
        if !t.is_finite() {
            return Err(node_err("its threshold is not a finite number".to_owned()));
        }
        for c in [l, r] {
            if reached[c] || l == r {
                return Err(node_err(format!(
                    "node {c} has two parents (a cycle or a DAG)"
                )));
            }
            reached[c] = true;
            depth_of[c] = depth_of[i] + 1;
            depth = depth.max(depth_of[c]);
        }
        if depth > limits.max_depth {
            return Err(SklearnError::Limit(format!(
                "a tree is deeper than {} (ReadLimits::max_depth)",
                limits.max_depth
            )));
        }
        nodes_out.push(SkNode {
            left: l as u32,
            right: r as u32,
            feature: feature as u32,
            threshold: t,
            missing_left,
        });
    }
    Ok(SkTree {
        nodes: nodes_out,
        values,
        n_values,
        depth,
    })
}
