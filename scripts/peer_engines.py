"""The bundled forest rebuilt exactly for each peer engine: a LightGBM text model for lleaves,
a Treelite model (compiled to C by tl2cgen, gcc -O3) and an ONNX `TreeEnsemble`.

Each builder takes a `Forest` and a cache directory and returns `predict(x)`: the
probability of legendary for rows of the 15 forest columns (float64, C order), one thread.
The trees keep smartcore's semantics: a split sends `x <= split_value` to `true_child`
(left) and everything else, NaN included, to `false_child`; a leaf's value is the legendary
fraction recovered from its Gini impurity; the forest's answer is the mean over trees.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src/model/pyfunc"))
import legendary_pyfunc  # noqa: E402  (the repo's own NumPy loader)


# ---- the forest ----------------------------------------------------------------------------


class Forest:
    """The smartcore trees of `model.json` as plain lists, with each leaf's probability."""

    def __init__(self, path):
        self.envelope = json.loads(path.read_text())
        forest = self.envelope["forest"]
        self.positive = forest["classes"].index(1)
        self.n_features = len(self.envelope["forest_features"])
        self.feature_set = self.envelope["feature_set"]
        self.trees = forest["trees"]
        self.reference = legendary_pyfunc.LegendaryForest(self.envelope)
        self.digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]

    @staticmethod
    def is_split(node):
        return node.get("true_child") is not None and node.get("false_child") is not None

    def leaf_proba(self, node):
        # The same formula as FlatForest's leaf_probability and legendary_pyfunc._leaf_proba.
        g = min(max(node.get("impurity") or 0.0, 0.0), 0.5)
        majority = (1.0 + np.sqrt(1.0 - 2.0 * g)) / 2.0
        return float(majority if node["output"] == self.positive else 1.0 - majority)

    def columns(self, stats):
        return np.ascontiguousarray(legendary_pyfunc._columns(stats, self.feature_set))

    def n_nodes(self):
        return sum(len(t["nodes"]) for t in self.trees)


# ---- lleaves: a LightGBM text model --------------------------------------------------------

# decision_type bits: 0 categorical, 1 default_left, 2-3 missing type (2 = NaN). 8 is a
# numerical `x <= threshold` whose NaN goes right, as smartcore's.
LGBM_LEQ_NAN_RIGHT = 8


def lightgbm_text(forest):
    """The forest as a LightGBM v3 text model: splits numbered in file order, leaves as ~k,
    `average_output` so the result is the mean of the leaf values (summed, then divided by the
    number of trees)."""
    blocks = []
    for k, tree in enumerate(forest.trees):
        nodes = tree["nodes"]
        split_ix, leaf_ix = {}, {}
        for i, node in enumerate(nodes):
            numbering = split_ix if Forest.is_split(node) else leaf_ix
            numbering[i] = len(numbering)

        def child(i):
            return split_ix[i] if i in split_ix else ~leaf_ix[i]

        splits = [nodes[i] for i in split_ix]
        leaves = [forest.leaf_proba(nodes[i]) for i in leaf_ix]
        lines = [f"Tree={k}", f"num_leaves={len(leaves)}", "num_cat=0"]
        if splits:
            lines += [
                "split_feature=" + " ".join(str(n["split_feature"]) for n in splits),
                "split_gain=" + " ".join("0" for _ in splits),
                "threshold=" + " ".join(repr(float(n["split_value"])) for n in splits),
                "decision_type=" + " ".join(str(LGBM_LEQ_NAN_RIGHT) for _ in splits),
                "left_child=" + " ".join(str(child(n["true_child"])) for n in splits),
                "right_child=" + " ".join(str(child(n["false_child"])) for n in splits),
            ]
        lines += ["leaf_value=" + " ".join(repr(v) for v in leaves), "is_linear=0", "shrinkage=1"]
        blocks.append("\n".join(lines) + "\n")
    header = [
        "tree",
        "version=v3",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        f"max_feature_idx={forest.n_features - 1}",
        "objective=regression",
        "average_output",
        "feature_names=" + " ".join(forest.envelope["forest_features"]),
        "feature_infos=" + " ".join("[0:1000]" for _ in range(forest.n_features)),
        "tree_sizes=" + " ".join(str(len(b) + 1) for b in blocks),
    ]
    return "\n".join(header) + "\n\n" + "\n".join(blocks) + "\n\nend of trees\n\npandas_categorical:null\n"


def build_lleaves(forest, cache):
    import lleaves

    path = cache / "model.lgbm.txt"
    path.write_text(lightgbm_text(forest))
    model = lleaves.Model(model_file=str(path))
    # Defaults otherwise (fblocksize 34, inlining, fp64): lleaves' tuned configuration.
    model.compile(cache=str(cache / "lleaves.o"))
    return lambda x: model.predict(x, n_jobs=1)


# ---- Treelite model builder -> tl2cgen -----------------------------------------------------


def build_treelite(forest):
    import treelite
    from treelite.model_builder import (
        Metadata,
        ModelBuilder,
        PostProcessorFunc,
        TreeAnnotation,
    )

    n = len(forest.trees)
    builder = ModelBuilder(
        threshold_type="float64",
        leaf_output_type="float64",
        metadata=Metadata(
            num_feature=forest.n_features,
            task_type="kRegressor",
            average_tree_output=True,
            num_target=1,
            num_class=[1],
            leaf_vector_shape=(1, 1),
        ),
        tree_annotation=TreeAnnotation(num_tree=n, target_id=[0] * n, class_id=[0] * n),
        postprocessor=PostProcessorFunc(name="identity"),
        base_scores=[0.0],
    )
    for tree in forest.trees:
        builder.start_tree()
        for i, node in enumerate(tree["nodes"]):
            builder.start_node(i)
            if Forest.is_split(node):
                builder.numerical_test(
                    node["split_feature"],
                    float(node["split_value"]),
                    default_left=False,  # NaN goes right
                    opname="<=",
                    left_child_key=node["true_child"],
                    right_child_key=node["false_child"],
                )
            else:
                builder.leaf(forest.leaf_proba(node))
            builder.end_node()
        builder.end_tree()
    model = builder.commit()
    assert isinstance(model, treelite.Model)
    return model


def build_tl2cgen(forest, cache):
    import tl2cgen

    lib = cache / "tl2cgen.so"
    if not lib.exists():
        model = build_treelite(forest)
        # parallel_comp splits the C source so gcc can use both cores; -O3 is tl2cgen's
        # default for gcc, passed again to be explicit.
        tl2cgen.export_lib(
            model, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 8},
            nthread=os.cpu_count(), options=["-O3"],
        )
    predictor = tl2cgen.Predictor(str(lib), nthread=1)

    def predict(x):
        return predictor.predict(tl2cgen.DMatrix(x, dtype="float64")).reshape(len(x))

    return predict


# ---- ONNX TreeEnsemble (ai.onnx.ml opset 5) ------------------------------------------------


def onnx_model(forest):
    """One `TreeEnsemble` node: BRANCH_LEQ splits, AVERAGE over trees, double in and out.
    (The older TreeEnsembleRegressor/Classifier output float32 only, 1e-8 away from legendary.)"""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    roots, feat, split, modes, tid, fid, tleaf, fleaf, track = ([] for _ in range(9))
    leaf_weights = []
    for tree in forest.trees:
        nodes = tree["nodes"]
        if not Forest.is_split(nodes[0]):
            raise SystemExit("a one-leaf tree; TreeEnsemble needs a split at the root")
        base = len(feat)
        index = {}
        for i, node in enumerate(nodes):
            if Forest.is_split(node):
                index[i] = len(index)
        leaf_of = {}
        for i, node in enumerate(nodes):
            if not Forest.is_split(node):
                leaf_of[i] = len(leaf_weights)
                leaf_weights.append(forest.leaf_proba(node))
        roots.append(base)
        for i in index:
            node = nodes[i]
            feat.append(node["split_feature"])
            split.append(float(node["split_value"]))
            modes.append(0)  # BRANCH_LEQ
            track.append(0)  # NaN takes the false branch: right
            for child, ids, leafs in ((node["true_child"], tid, tleaf),
                                      (node["false_child"], fid, fleaf)):
                if child in index:
                    ids.append(base + index[child])
                    leafs.append(0)
                else:
                    ids.append(leaf_of[child])
                    leafs.append(1)
    node = helper.make_node(
        "TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml",
        aggregate_function=0,  # AVERAGE
        post_transform=0,  # NONE
        n_targets=1,
        tree_roots=roots,
        nodes_featureids=feat,
        nodes_splits=numpy_helper.from_array(np.array(split, dtype=np.float64)),
        nodes_modes=numpy_helper.from_array(np.array(modes, dtype=np.uint8)),
        nodes_truenodeids=tid,
        nodes_trueleafs=tleaf,
        nodes_falsenodeids=fid,
        nodes_falseleafs=fleaf,
        nodes_missing_value_tracks_true=track,
        leaf_targetids=[0] * len(leaf_weights),
        leaf_weights=numpy_helper.from_array(np.array(leaf_weights, dtype=np.float64)),
    )
    graph = helper.make_graph(
        [node], "legendary",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, forest.n_features])],
        [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, [None, 1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)]
    )
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def build_onnxruntime(forest, cache):
    import onnxruntime as ort

    path = cache / "model.onnx"
    path.write_bytes(onnx_model(forest).SerializeToString())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"X": x})[0].reshape(len(x))


ENGINES = {
    "lleaves": build_lleaves,
    "tl2cgen": build_tl2cgen,
    "onnxruntime": build_onnxruntime,
}
VERSIONS = {
    "lleaves": ["lleaves", "llvmlite"],
    "tl2cgen": ["treelite", "tl2cgen"],
    "onnxruntime": ["onnx", "onnxruntime"],
}
