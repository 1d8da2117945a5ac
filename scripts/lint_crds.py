#!/usr/bin/env python3
"""Split custom resources out of a manifest stream for scripts/lint-deploy.sh.

    lint_crds.py IN OUT [LABEL]

Writes every document of IN except the custom resources listed below to OUT
(for kubernetes-validate --strict, which bundles schemas for built-in kinds
only) and checks each custom resource here instead:

- ServiceMonitor (monitoring.coreos.com/v1): against the hand-written subset
  of the Prometheus Operator's CRD schema below (only the fields a scrape of
  this server can need; unknown fields are errors, as in --strict), plus
  scrapeTimeout <= interval; and, when IN also holds Services, that a Service
  in the same namespace matches spec.selector and has a port named like each
  endpoint's `port`.

The schema is not the CRD's own (that ships with the operator, not with any
package reachable here): it is narrower, so it can reject a valid field this
project does not use, never the other way round for the fields it lists.
Exits 1 on any finding, printing each; other custom resources pass through to
OUT, where kubernetes-validate reports them as unknown kinds.
"""

from __future__ import annotations

import re
import sys

import jsonschema
import yaml

DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
RELABEL = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sourceLabels": {"type": "array", "items": {"type": "string"}},
            "separator": {"type": "string"},
            "targetLabel": {"type": "string"},
            "regex": {"type": "string"},
            "modulus": {"type": "integer"},
            "replacement": {"type": "string"},
            "action": {"enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                                "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                                "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                                "dropequal", "DropEqual"]},
        },
    },
}
ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["port"]}, {"required": ["targetPort"]}],
    "properties": {
        "port": {"type": "string", "minLength": 1},
        "targetPort": {"type": ["integer", "string"]},
        "path": {"type": "string", "pattern": "^/"},
        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
        "interval": {"type": "string", "pattern": DURATION},
        "scrapeTimeout": {"type": "string", "pattern": DURATION},
        "honorLabels": {"type": "boolean"},
        "honorTimestamps": {"type": "boolean"},
        "followRedirects": {"type": "boolean"},
        "enableHttp2": {"type": "boolean"},
        "filterRunning": {"type": "boolean"},
        "params": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "relabelings": RELABEL,
        "metricRelabelings": RELABEL,
    },
}
SERVICE_MONITOR = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253},
                "namespace": {"type": "string", "pattern": DNS_SUBDOMAIN},
                "labels": STRING_MAP,
                "annotations": STRING_MAP,
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": LABEL_SELECTOR,
                "endpoints": {"type": "array", "minItems": 1, "items": ENDPOINT},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"},
                                   "matchNames": {"type": "array", "items": {"type": "string"}}},
                },
                "jobLabel": {"type": "string"},
                "targetLabels": {"type": "array", "items": {"type": "string"}},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "sampleLimit": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def seconds(duration: str) -> float:
    units = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", duration))


def selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def check_service_monitor(doc: dict, services: list[dict]) -> list[str]:
    name = (doc.get("metadata") or {}).get("name", "?")
    errors = [f"ServiceMonitor {name}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
              for e in jsonschema.Draft202012Validator(SERVICE_MONITOR).iter_errors(doc)]
    if errors:
        return errors
    for ep in doc["spec"]["endpoints"]:
        if "interval" in ep and "scrapeTimeout" in ep and seconds(ep["scrapeTimeout"]) > seconds(ep["interval"]):
            errors.append(f"ServiceMonitor {name}: scrapeTimeout {ep['scrapeTimeout']} exceeds interval "
                          f"{ep['interval']}")
    if services:
        ns = doc["metadata"].get("namespace")
        matched = [s for s in services if s["metadata"].get("namespace") == ns
                   and selects(doc["spec"]["selector"], s["metadata"].get("labels") or {})]
        if not matched:
            errors.append(f"ServiceMonitor {name}: spec.selector matches no Service in namespace {ns or '(none)'}")
        for ep in doc["spec"]["endpoints"]:
            ports = {p.get("name") for s in matched for p in s["spec"].get("ports") or []}
            if "port" in ep and matched and ep["port"] not in ports:
                errors.append(f"ServiceMonitor {name}: endpoint port {ep['port']!r} is not a port name of "
                              f"{', '.join(s['metadata']['name'] for s in matched)} ({', '.join(sorted(map(str, ports)))})")
    return errors


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    label = sys.argv[3] if len(sys.argv) > 3 else src
    with open(src) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    services = [d for d in docs if d.get("apiVersion") == "v1" and d.get("kind") == "Service"]
    core, errors, checked = [], [], []
    for doc in docs:
        if doc.get("kind") == "ServiceMonitor" and str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            errors += check_service_monitor(doc, services)
            checked.append(f"ServiceMonitor {(doc.get('metadata') or {}).get('name', '?')}")
        else:
            core.append(doc)
    with open(out, "w") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)
    for line in errors:
        print(f"ERROR {label}: {line}")
    if checked and not errors:
        print(f"ok  {label}: {', '.join(checked)} (hand-written schema{', Service cross-check' if services else ''})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
