#!/usr/bin/env python3
"""Split custom resources out of a manifest stream for scripts/lint-deploy.sh.

    lint_crds.py IN OUT [LABEL] [--context FILE]...

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

- PrometheusRule (monitoring.coreos.com/v1): against a hand-written subset of
  its CRD schema too (groups of recording and alerting rules, each rule either
  `record` or `alert`, names unique); the PromQL itself is checked by promtool
  in scripts/check-drift-rules.sh.

- ServingRuntime, ClusterServingRuntime (serving.kserve.io/v1alpha1) and
  InferenceService (serving.kserve.io/v1beta1): against KServe's own CRD
  schemas, vendored in testdata/kserve (see its README for the version), made
  strict as kubectl's server-side field validation is: an object without
  x-kubernetes-preserve-unknown-fields accepts only the properties it lists,
  and a list-type map or set refuses duplicate keys. metadata is checked
  against a narrow ObjectMeta (name, generateName, namespace, labels,
  annotations). Then what KServe itself refuses or fails on later: a
  namespace on a cluster-scoped kind (kustomize's `namespace:` adds one, as
  it does not know a CRD's scope); an InferenceService name outside KServe's
  `[a-z]([-a-z0-9]*[a-z0-9])?`; a runtime without the container
  `kserve-container`, with a `{{...}}` placeholder other than the
  InferenceService's .Name, .Namespace, .Labels.KEY or .Annotations.KEY, or
  with one model format auto-selected at two priorities. An InferenceService
  whose spec.predictor.model.runtime is a runtime found in IN or in a
  --context file (read for this only) is cross-checked against it: its
  modelFormat (and version) and protocolVersion must be supported, and the
  runtime's args followed by its own (KServe appends them) must not repeat an
  option, which legendary's command line refuses.

Exits 1 on any finding, printing each; other custom resources pass through to
OUT, where kubernetes-validate reports them as unknown kinds.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import re
import sys
from pathlib import Path

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

RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "properties": {
        "record": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "alert": {"type": "string", "minLength": 1},
        "expr": {"type": ["string", "integer"], "minLength": 1},
        "for": {"type": "string", "pattern": DURATION},
        "keep_firing_for": {"type": "string", "pattern": DURATION},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": SERVICE_MONITOR["properties"]["metadata"],
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": DURATION},
                            "limit": {"type": "integer", "minimum": 0},
                            "partial_response_strategy": {"type": "string"},
                            "rules": {"type": "array", "items": RULE},
                        },
                    },
                },
            },
        },
    },
}


def check_prometheus_rule(doc: dict) -> list[str]:
    name = (doc.get("metadata") or {}).get("name", "?")
    errors = [f"PrometheusRule {name}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
              for e in jsonschema.Draft202012Validator(PROMETHEUS_RULE).iter_errors(doc)]
    if errors:
        return errors
    groups = [g["name"] for g in doc["spec"]["groups"]]
    errors += [f"PrometheusRule {name}: group {g!r} twice" for g in sorted(set(groups)) if groups.count(g) > 1]
    for g in doc["spec"]["groups"]:
        if any("record" in r and "for" in r for r in g["rules"]):
            errors.append(f"PrometheusRule {name}: group {g['name']!r}: `for` on a recording rule")
    return errors


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


KSERVE_SCHEMAS = Path(__file__).resolve().parent / "testdata" / "kserve"
KSERVE_GROUP = "serving.kserve.io"
KSERVE_KINDS = {"ServingRuntime": "servingruntimes", "ClusterServingRuntime": "clusterservingruntimes",
                "InferenceService": "inferenceservices"}
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
# KServe's validating webhook (IsvcNameFmt, pkg/apis/serving/v1beta1).
ISVC_NAME = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# What KServe's ReplacePlaceholders can fill in: Go text/template over the
# InferenceService's ObjectMeta; anything else fails when the pod is built.
PLACEHOLDER = re.compile(r"{{(.*?)}}")
PLACEHOLDER_OK = re.compile(r"^\s*\.(Name|Namespace|(Labels|Annotations)\.[A-Za-z_][A-Za-z0-9_]*)\s*$"
                            r"|^\s*index \.(Labels|Annotations) \"[^\"]+\"\s*$")
OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
    "properties": {
        "name": {"type": "string", "pattern": DNS_SUBDOMAIN, "maxLength": 253},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}


def strict(node):
    """The schema with unknown fields made errors, as the API server's strict
    field validation treats them: an object that neither lists
    additionalProperties nor preserves unknown fields keeps only its properties
    (none, if it lists none: the API server would prune them all)."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "anyOf", "allOf", "oneOf"):
            out[key] = strict(value)
        else:
            out[key] = value
    if node.get("type") == "object" and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def list_type(validator, kind, instance, schema):
    """x-kubernetes-list-type: a map's items are unique by their keys (a missing
    key counts as its default), a set's items are unique."""
    if not validator.is_type(instance, "array"):
        return
    if kind == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        defaults = {k: ((schema.get("items") or {}).get("properties") or {}).get(k, {}).get("default") for k in keys}
        seen = {}
        for i, item in enumerate(instance):
            if isinstance(item, dict):
                key = json.dumps([item.get(k, defaults[k]) for k in keys])
                if key in seen:
                    yield jsonschema.ValidationError(
                        f"items {seen[key]} and {i} have the same {', '.join(keys)} {key} (a list-type map)")
                seen.setdefault(key, i)
    elif kind == "set":
        seen = {}
        for i, item in enumerate(instance):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                yield jsonschema.ValidationError(f"items {seen[key]} and {i} are equal (a list-type set)")
            seen.setdefault(key, i)


KubeValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"x-kubernetes-list-type": list_type})


@functools.cache
def kserve_crd(kind: str) -> dict:
    with gzip.open(KSERVE_SCHEMAS / f"{KSERVE_KINDS[kind]}.{KSERVE_GROUP}.json.gz") as f:
        return json.load(f)


@functools.cache
def kserve_validator(kind: str, version: str):
    crd = kserve_crd(kind)
    schema = strict(crd["versions"][version])
    schema["properties"] = {**schema["properties"], "metadata": OBJECT_META,
                            "apiVersion": {"const": f"{KSERVE_GROUP}/{version}"}, "kind": {"const": kind}}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return KubeValidator(schema)


def is_kserve(doc: dict) -> bool:
    return doc.get("kind") in KSERVE_KINDS and str(doc.get("apiVersion", "")).startswith(KSERVE_GROUP + "/")


def where(error) -> str:
    return "/".join(map(str, error.absolute_path)) or "(root)"


def check_runtime(doc: dict, who: str) -> list[str]:
    spec = doc.get("spec") or {}
    errors = []
    if not any(c.get("name") == "kserve-container" for c in spec.get("containers") or []):
        errors.append(f"{who}: no container named kserve-container (KServe merges the InferenceService's "
                      "predictor into that one, and refuses a runtime without it)")
    for field in sorted(set(PLACEHOLDER.findall(json.dumps(spec.get("containers") or [])))):
        if not PLACEHOLDER_OK.match(field):
            errors.append(f"{who}: placeholder {{{{{field}}}}} is not one KServe can fill in (.Name, .Namespace, "
                          ".Labels.KEY, .Annotations.KEY of the InferenceService)")
    priorities = {}
    for fmt in spec.get("supportedModelFormats") or []:
        if fmt.get("autoSelect") and fmt.get("priority") is not None:
            first = priorities.setdefault(fmt["name"], fmt["priority"])
            if first != fmt["priority"]:
                errors.append(f"{who}: model format {fmt['name']} is auto-selected at priorities {first} and "
                              f"{fmt['priority']} (KServe's webhook refuses different priorities for one format)")
    return errors


def options(args: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if a.startswith("--") and a != "--"]


def check_against_runtime(isvc: dict, who: str, runtime: dict) -> list[str]:
    model = isvc["spec"]["predictor"]["model"]
    rspec = runtime["spec"]
    rwho = f"{runtime['kind']} {runtime['metadata']['name']}"
    errors = []
    fmt = model.get("modelFormat")
    formats = rspec.get("supportedModelFormats") or []
    if fmt is None:
        errors.append(f"{who}: spec.predictor.model has no modelFormat (KServe requires one)")
    elif not any(f.get("name") == fmt["name"] and ("version" not in fmt or f.get("version") == fmt["version"])
               for f in formats):
        listed = ", ".join(f"{f.get('name')}" + (f":{f['version']}" if "version" in f else "") for f in formats)
        errors.append(f"{who}: modelFormat {fmt['name']}{':' + fmt['version'] if 'version' in fmt else ''} "
                      f"is not supported by {rwho} ({listed or 'none'})")
    protocols = rspec.get("protocolVersions") or []
    if "protocolVersion" in model and protocols and model["protocolVersion"] not in protocols:
        errors.append(f"{who}: protocolVersion {model['protocolVersion']} is not one of {rwho}'s "
                      f"({', '.join(protocols)})")
    container = next((c for c in rspec.get("containers") or [] if c.get("name") == "kserve-container"), {})
    seen, repeated = set(), []
    for opt in options(container.get("args") or []) + options(model.get("args") or []):
        if opt in seen and opt not in repeated:
            repeated.append(opt)
        seen.add(opt)
    if repeated:
        errors.append(f"{who}: {', '.join(repeated)} would be given twice (KServe appends the model's args to "
                      f"{rwho}'s, and legendary refuses a repeated option): set the value through env instead")
    return errors


def find_runtimes(isvc: dict, runtimes: list[dict]) -> list[dict]:
    """The runtimes KServe may use: a ServingRuntime of that name in the
    InferenceService's namespace, else a ClusterServingRuntime of that name.
    Both are checked, as a cluster may have either."""
    name = isvc["spec"]["predictor"]["model"].get("runtime")
    ns = isvc["metadata"].get("namespace")
    return [r for kind in RUNTIME_KINDS for r in runtimes
            if r["kind"] == kind and r["metadata"].get("name") == name
            and (kind == "ClusterServingRuntime" or r["metadata"].get("namespace") == ns)]


def same_runtime(cluster: dict, runtimes: list[dict]) -> list[str]:
    """A ServingRuntime and a ClusterServingRuntime of one name must run the
    same pod: which of the two an InferenceService gets depends on what is
    installed in its namespace. Only auto-selection may differ."""
    errors = []
    name = cluster["metadata"]["name"]
    mine = {k: v for k, v in cluster["spec"].items() if k != "supportedModelFormats"}
    for r in runtimes:
        if r["kind"] == "ServingRuntime" and r["metadata"].get("name") == name:
            theirs = {k: v for k, v in r["spec"].items() if k != "supportedModelFormats"}
            diff = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
            if diff:
                errors.append(f"ClusterServingRuntime {name}: spec.{', spec.'.join(diff)} differ from "
                              f"ServingRuntime {name}'s: keep the two in step")
            formats = lambda spec: sorted((str(f.get("name")), str(f.get("version", "")))  # noqa: E731
                                          for f in spec.get("supportedModelFormats") or [] if isinstance(f, dict))
            if formats(cluster["spec"]) != formats(r["spec"]):
                errors.append(f"ClusterServingRuntime {name}: supports other model formats than "
                              f"ServingRuntime {name}: keep the two in step")
    return errors


def check_kserve(doc: dict, runtimes: list[dict]) -> tuple[list[str], list[str]]:
    """Errors, and the cross-checks made."""
    kind = doc["kind"]
    who = f"{kind} {(doc.get('metadata') or {}).get('name', '?')}"
    version = str(doc["apiVersion"]).split("/", 1)[1]
    if version not in kserve_crd(kind)["versions"]:
        return [f"{who}: {KSERVE_GROUP}/{version} is not a served version of {kind} "
                f"(vendored: {', '.join(kserve_crd(kind)['versions'])})"], []
    errors = [f"{who}: {where(e)}: {e.message}" for e in kserve_validator(kind, version).iter_errors(doc)]
    if errors:
        return errors, []
    meta = doc["metadata"]
    if kserve_crd(kind)["scope"] == "Cluster" and "namespace" in meta:
        errors.append(f"{who}: metadata.namespace is set on a cluster-scoped kind (kustomize's `namespace:` adds "
                      "one to every custom resource; keep this one out of such a kustomization)")
    crossed = []
    if kind == "ClusterServingRuntime":
        errors += same_runtime(doc, runtimes)
        if any(r["kind"] == "ServingRuntime" and r["metadata"].get("name") == meta.get("name") for r in runtimes):
            crossed.append(f"{who} = ServingRuntime {meta.get('name')}")
    if kind in RUNTIME_KINDS:
        return errors + check_runtime(doc, who), crossed
    if "name" in meta and not re.match(ISVC_NAME, meta["name"]):
        errors.append(f"{who}: KServe refuses the name: lower-case letters, digits and '-', starting with a "
                      "letter")
    model = ((doc.get("spec") or {}).get("predictor") or {}).get("model")
    if model is None or "runtime" not in model:
        return errors, []
    found = find_runtimes(doc, runtimes)
    for runtime in found:
        errors += check_against_runtime(doc, who, runtime)
    return errors, [f"{who} -> {' and '.join(r['kind'] for r in found)} {model['runtime']}"] if found else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("src", metavar="IN")
    parser.add_argument("out", metavar="OUT")
    parser.add_argument("label", metavar="LABEL", nargs="?")
    parser.add_argument("--context", action="append", default=[], metavar="FILE",
                        help="more manifests whose KServe runtimes InferenceServices may name")
    args = parser.parse_args()
    label = args.label or args.src
    with open(args.src) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    services = [d for d in docs if d.get("apiVersion") == "v1" and d.get("kind") == "Service"]
    runtimes = [d for d in docs if is_kserve(d) and d["kind"] in RUNTIME_KINDS]
    # A runtime of IN wins over a --context one of the same kind, name and namespace.
    ident = lambda d: (d["kind"], *(((d.get("metadata") or {}).get(k)) for k in ("name", "namespace")))  # noqa: E731
    known = {ident(d) for d in runtimes}
    for path in args.context:
        with open(path) as f:
            runtimes += [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and is_kserve(d)
                         and d["kind"] in RUNTIME_KINDS and ident(d) not in known]
    # Only well-formed runtimes are looked up (a broken one is reported on its own).
    runtimes = [r for r in runtimes if isinstance(r.get("metadata"), dict) and isinstance(r.get("spec"), dict)]
    core, errors, monitors, kserve, crossed = [], [], [], [], []
    for doc in docs:
        if doc.get("kind") == "ServiceMonitor" and str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            errors += check_service_monitor(doc, services)
            monitors.append(f"ServiceMonitor {(doc.get('metadata') or {}).get('name', '?')}")
        elif doc.get("kind") == "PrometheusRule" and str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            errors += check_prometheus_rule(doc)
            monitors.append(f"PrometheusRule {(doc.get('metadata') or {}).get('name', '?')}")
        elif is_kserve(doc):
            found, made = check_kserve(doc, runtimes)
            errors += found
            crossed += made
            kserve.append(f"{doc['kind']} {(doc.get('metadata') or {}).get('name', '?')}")
        else:
            core.append(doc)
    with open(args.out, "w") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)
    for line in errors:
        print(f"ERROR {label}: {line}")
    if errors:
        return 1
    if monitors:
        print(f"ok  {label}: {', '.join(monitors)} (hand-written schema{', Service cross-check' if services else ''})")
    if kserve:
        ref = kserve_crd("InferenceService")["source"]["ref"]
        print(f"ok  {label}: {', '.join(kserve)} (KServe {ref} CRD schemas, strict"
              f"{'; ' + ', '.join(crossed) if crossed else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
