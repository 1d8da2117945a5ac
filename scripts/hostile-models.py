#!/usr/bin/env python3
"""Hostile scikit-learn model directories, made by the real scikit-learn and pickle.

Usage: .venv/bin/python scripts/hostile-models.py OUT_DIR

Each directory under OUT_DIR is an MLflow model directory (`MLmodel` with a `sklearn` flavor)
whose file is small on disk but costs its reader far more than its size when shared objects
are copied per reference:

- `pickle-shared-tree`: a forest of 128 references to one 2,047-node, 1,024-class tree
  (pickle stores the tree once; a reader that copies `values` per reference needs ~2 GB);
- `pickle-shared-leaf`: 262,000 references to one single-leaf tree;

legendary compiles models in a confined child process (`src/sandbox`): the tests in
`tests/process/sandbox.rs` assert that each is refused, that the server's memory and threads
stay bounded, and that the model already served keeps serving.
"""

import os
import pickle
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

OUT = sys.argv[1]


def mlmodel(fmt, file_name):
    return (
        "flavors:\n"
        "  sklearn:\n"
        f"    pickled_model: {file_name}\n"
        f"    serialization_format: {fmt}\n"
        "    sklearn_version: 1.7.2\n"
        "model_uuid: 0123456789abcdef0123456789abcdef\n"
        "utc_time_created: '2026-12-06 00:00:00.000000'\n"
    )


def save(name, model, fmt):
    # skops writes every reference out in full (a 2.1 GB file for the shared tree), so only
    # pickle, which stores a shared object once, makes these small.
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    file_name = "model.pkl"
    with open(os.path.join(d, file_name), "wb") as f:
        pickle.dump(model, f, protocol=4)
    with open(os.path.join(d, "MLmodel"), "w") as f:
        f.write(mlmodel(fmt, file_name))


def forest_of(tree, n, classes):
    rf = RandomForestClassifier(n_estimators=n)
    rf.estimators_ = [tree] * n
    rf.classes_ = classes
    rf.n_classes_ = len(classes)
    rf.n_features_in_ = 6
    rf.n_outputs_ = 1
    return rf


rng = np.random.default_rng(0)
X = rng.random((4096, 6))

# One deep, wide tree: 1,024 leaves (2,047 nodes), 1,024 classes.
y = np.arange(4096) % 1024
wide = DecisionTreeClassifier(max_leaf_nodes=1024, random_state=0).fit(X, y)
shared = forest_of(wide, 128, wide.classes_)
save("pickle-shared-tree", shared, "pickle")

# One single-leaf tree: two classes on one repeated row, so no split is possible.
single = DecisionTreeClassifier(random_state=0).fit(np.vstack([X[0], X[0]]), [0, 1])
save("pickle-shared-leaf", forest_of(single, 262_000, np.array([0, 1])), "pickle")

print("\n".join(sorted(os.listdir(OUT))))
