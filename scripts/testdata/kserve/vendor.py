#!/usr/bin/env python3
"""Extract the schemas scripts/lint_crds.py validates KServe resources against.

    vendor.py KSERVE_GIT_DIR REF

Reads KServe's generated CRDs at REF (a tag) from a clone of
https://github.com/kserve/kserve (`git show`, so a bare clone works too) and
writes, beside this script, one gzipped JSON file per CRD: its group, kind,
scope and the openAPIV3Schema of each served version, unchanged, plus where
they came from. Nothing else of the CRD is kept (names, printer columns,
conversion). The output is deterministic (sorted keys, gzip mtime 0), so
re-running it at the same REF changes no byte.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import yaml

CRDS = ["servingruntimes", "clusterservingruntimes", "inferenceservices"]


def main() -> int:
    git_dir, ref = sys.argv[1], sys.argv[2]
    git = lambda *args: subprocess.run(["git", "-C", git_dir, *args], check=True,  # noqa: E731
                                       capture_output=True, text=True).stdout
    commit = git("rev-parse", f"{ref}^{{commit}}").strip()
    for plural in CRDS:
        path = f"config/crd/full/serving.kserve.io_{plural}.yaml"
        crd = yaml.safe_load(git("show", f"{commit}:{path}"))
        spec = crd["spec"]
        out = {
            "source": {"repository": "https://github.com/kserve/kserve", "ref": ref, "commit": commit,
                       "path": path, "license": "Apache-2.0"},
            "group": spec["group"],
            "kind": spec["names"]["kind"],
            "scope": spec["scope"],
            "versions": {v["name"]: v["schema"]["openAPIV3Schema"] for v in spec["versions"] if v.get("served")},
        }
        data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        target = Path(__file__).with_name(f"{plural}.{spec['group']}.json.gz")
        with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(data)
        print(f"{target.name}: {out['kind']} {', '.join(out['versions'])} ({len(data)} bytes of JSON)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
