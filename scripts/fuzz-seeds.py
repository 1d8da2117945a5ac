#!/usr/bin/env python3
"""Writes the fuzz seed corpus fuzz/corpus/parse/ from tests/fixtures/scoring-corpus.jsonl.

Each seed is one selector byte (the Content-Type index in fuzz_targets/parse.rs) followed by
a corpus request body. Run from the repository root: python3 scripts/fuzz-seeds.py
"""
import json
import pathlib

CONTENT_TYPES = [
    "application/json",
    "text/csv",
    None,
    "application/json; format=pandas-split",
    "text/csv; charset=utf-8",
]

root = pathlib.Path(__file__).resolve().parent.parent
out = root / "fuzz" / "corpus" / "parse"
out.mkdir(parents=True, exist_ok=True)
count = 0
for line in (root / "tests" / "fixtures" / "scoring-corpus.jsonl").read_text().splitlines():
    case = json.loads(line)
    if case["method"] != "POST" or case["path"] != "/invocations" or case["case"].startswith("r"):
        continue
    content_type = case["headers"].get("Content-Type")
    selector = CONTENT_TYPES.index(content_type) if content_type in CONTENT_TYPES else 0
    (out / case["case"]).write_bytes(bytes([selector]) + case["body"].encode())
    count += 1
print(f"wrote {count} seeds to {out.relative_to(root)}")
