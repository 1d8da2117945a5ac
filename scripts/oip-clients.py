"""Open Inference Protocol clients nobody here wrote, against `legendary serve` (and MLServer).

Two modes, each run by tests/end_to_end/oip_clients.rs in its own venv:

  oip-clients.py train DIR   (`.venv-mlserver`, scripts/mlflow-venv.sh mlserver) trains a
      scikit-learn RandomForestClassifier on the bundled data's six stats, saves it with joblib
      and writes the `model-settings.json` of MLServer's sklearn runtime, named `pokemon` as
      legendary's bundled model is, so the same requests go to both servers.

  oip-clients.py check       (`.venv-oip`, scripts/mlflow-venv.sh oip) reads on stdin
      {"legendary": {"http": "host:port", "grpc": "host:port"},
       "mlserver": {"http": ..., "grpc": ...} or null, "csv": [paths]}
      and, with tritonclient (HTTP and gRPC) and the KServe SDK (REST and gRPC):
      - asserts legendary's health, metadata and readiness, and that `infer` on every row
        (one [N, 6] FP64 tensor; FP32 and INT32 per-column tensors too) answers exactly what
        its `/invocations` answers on the same rows;
      - asserts that bad requests get a 4xx with {"error": "..."} (REST) or INVALID_ARGUMENT /
        NOT_FOUND (gRPC), never a 5xx or INTERNAL;
      - sends the same metadata, readiness, infer and bad requests to MLServer, when given,
        and records what each server answered.
      Its last stdout line is that record as JSON; an assertion failing exits non-zero.
"""

import asyncio
import csv
import json
import sys

import numpy as np

MODEL = "pokemon"
STATS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]


def load(paths):
    """The six stats and the label of every row of the bundled CSVs, in file order."""
    rows, labels = [], []
    for path in paths:
        with open(path, newline="") as f:
            for record in csv.DictReader(f):
                rows.append([float(record[s]) for s in STATS])
                labels.append(record["legendary"] == "True")
    return np.array(rows, dtype=np.float64), np.array(labels)


def train(out_dir, paths):
    import os

    import joblib
    from sklearn.ensemble import RandomForestClassifier

    x, y = load(paths)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(x, y)
    joblib.dump(forest, os.path.join(out_dir, "model.joblib"))
    settings = {
        "name": MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "1"},
    }
    with open(os.path.join(out_dir, "model-settings.json"), "w") as f:
        json.dump(settings, f)
    print(json.dumps({"rows": len(y), "legendary": int(y.sum())}))


# --- check -------------------------------------------------------------------------------


def expected_answers(http, rows):
    """What legendary's `/invocations` (MLflow's protocol) answers for `rows`."""
    import httpx

    split = {"columns": STATS, "data": rows.tolist()}
    url = f"http://{http}/invocations"
    decisions = httpx.post(url, json={"dataframe_split": split}, timeout=60)
    decisions.raise_for_status()
    proba = httpx.post(
        url,
        json={"dataframe_split": split, "params": {"predict_method": "predict_proba"}},
        timeout=60,
    )
    proba.raise_for_status()
    return (
        np.array(decisions.json()["predictions"], dtype=bool),
        np.array(proba.json()["predictions"], dtype=np.float64),
    )


def same(what, got, want):
    got = np.asarray(got).reshape(-1)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    if want.dtype == np.float64:
        # Exactly: the same f64s, bit for bit.
        assert got.dtype == np.float64, f"{what}: dtype {got.dtype}"
        bad = np.flatnonzero(got.view(np.uint64) != want.view(np.uint64))
    else:
        bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{what}: {bad.size} rows differ, first {bad[:5]}: {got[bad[:5]]} vs {want[bad[:5]]}"


def triton_http(server, rows, want, is_legendary):
    import tritonclient.http as th

    client = th.InferenceServerClient(url=server["http"], connection_timeout=60, network_timeout=60)
    call = strict if is_legendary else tolerant
    seen = {
        "live": call(client.is_server_live),
        "ready": call(client.is_server_ready),
        "server_metadata": call(client.get_server_metadata),
        "model_metadata": call(lambda: client.get_model_metadata(MODEL)),
        "model_ready": call(lambda: client.is_model_ready(MODEL)),
    }
    assert seen["live"] is True and seen["ready"] is True and seen["model_ready"] is True, seen
    matrix = th.InferInput("input", list(rows.shape), "FP64")
    matrix.set_data_from_numpy(rows, binary_data=False)
    outputs = [th.InferRequestedOutput(n, binary_data=False) for n in ("predict", "predict_proba")]
    answer = client.infer(MODEL, [matrix], outputs=outputs, request_id="triton-http")
    seen["infer"] = {k: v for k, v in answer.get_response().items() if k != "outputs"}
    seen["outputs"] = describe(answer.get_output, answer.as_numpy)
    # tritonclient's defaults: inputs as binary data after the JSON header (Triton's binary
    # tensor extension, which legendary's metadata does not list).
    binary = th.InferInput("input", [1, 6], "FP64")
    binary.set_data_from_numpy(rows[:1])
    try:
        client.infer(MODEL, [binary])
        seen["binary tensors"] = "OK"
    except th.InferenceServerException as e:
        seen["binary tensors"] = e.status()
    if is_legendary:
        assert seen["binary tensors"] == "400", seen["binary tensors"]
        for key in ("name", "version", "extensions"):
            assert key in seen["server_metadata"], seen["server_metadata"]
        meta = seen["model_metadata"]
        assert meta["name"] == MODEL and [i["name"] for i in meta["inputs"]] == STATS, meta
        assert seen["infer"]["model_name"] == MODEL and seen["infer"]["id"] == "triton-http"
        same("tritonclient HTTP [N, 6] FP64 predict", answer.as_numpy("predict"), want[0])
        same("tritonclient HTTP [N, 6] FP64 predict_proba", answer.as_numpy("predict_proba"), want[1])
        # One FP32 tensor per stat ([N, 1]); the stats are small integers, exact in FP32.
        columns = []
        for i, stat in enumerate(STATS):
            column = th.InferInput(stat, [len(rows), 1], "FP32")
            column.set_data_from_numpy(rows[:, i : i + 1].astype(np.float32), binary_data=False)
            columns.append(column)
        answer = client.infer(MODEL, columns[::-1], outputs=outputs)
        same("tritonclient HTTP per-stat FP32 predict", answer.as_numpy("predict"), want[0])
        same("tritonclient HTTP per-stat FP32 predict_proba", answer.as_numpy("predict_proba"), want[1])
    client.close()
    return seen


def triton_grpc(server, rows, want, is_legendary):
    import tritonclient.grpc as tg

    client = tg.InferenceServerClient(url=server["grpc"])
    call = strict if is_legendary else tolerant
    seen = {
        "live": call(client.is_server_live),
        "ready": call(client.is_server_ready),
        "server_metadata": call(lambda: client.get_server_metadata(as_json=True)),
        "model_metadata": call(lambda: client.get_model_metadata(MODEL, as_json=True)),
        "model_ready": call(lambda: client.is_model_ready(MODEL)),
    }
    assert seen["live"] is True and seen["ready"] is True and seen["model_ready"] is True, seen
    # tritonclient's gRPC inputs travel as raw_input_contents.
    matrix = tg.InferInput("input", list(rows.shape), "FP64")
    matrix.set_data_from_numpy(rows)
    outputs = [tg.InferRequestedOutput(n) for n in ("predict", "predict_proba")]
    answer = client.infer(MODEL, [matrix], outputs=outputs, request_id="triton-grpc")
    # (get_output(name, as_json=True) finds nothing in 2.73; the whole response does.)
    named = {o["name"]: o for o in answer.get_response(as_json=True)["outputs"]}
    seen["outputs"] = describe(named.get, answer.as_numpy)
    if is_legendary:
        same("tritonclient gRPC [N, 6] FP64 predict", answer.as_numpy("predict"), want[0])
        same("tritonclient gRPC [N, 6] FP64 predict_proba", answer.as_numpy("predict_proba"), want[1])
        # One INT32 tensor per stat ([N]).
        columns = []
        for i, stat in enumerate(STATS):
            column = tg.InferInput(stat, [len(rows)], "INT32")
            column.set_data_from_numpy(rows[:, i].astype(np.int32))
            columns.append(column)
        answer = client.infer(MODEL, columns)
        same("tritonclient gRPC per-stat INT32 predict", answer.as_numpy("predict"), want[0])
        same("tritonclient gRPC per-stat INT32 predict_proba", answer.as_numpy("predict_proba"), want[1])
    client.close()
    return seen


def describe(get_output, as_numpy):
    """Each output's datatype and shape as the server named them."""
    out = {}
    for name in ("predict", "predict_proba"):
        tensor = get_output(name)
        if tensor is None:
            out[name] = None
            continue
        out[name] = {"datatype": tensor["datatype"], "shape": [int(d) for d in tensor["shape"]]}
        assert as_numpy(name) is not None, name
    return out


async def kserve_clients(server, rows, want, is_legendary):
    """The KServe SDK's REST and gRPC clients. 0.21 has no metadata calls on either; the
    gRPC one's generated stub (the SDK's own, from the same .proto) asks for metadata."""
    from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

    call = strict_async if is_legendary else tolerant_async
    seen = {}
    base = f"http://{server['http']}"
    rest = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
    try:
        seen["rest"] = {
            "live": await call(rest.is_server_live(base)),
            "ready": await call(rest.is_server_ready(base)),
            "model_ready": await call(rest.is_model_ready(base, MODEL)),
        }
        matrix = InferInput("input", list(rows.shape), "FP64")
        matrix.set_data_from_numpy(rows, binary_data=False)
        answer = await rest.infer(base, InferRequest(MODEL, [matrix], request_id="kserve-rest"), model_name=MODEL)
        outputs = {o.name: o for o in answer.outputs}
        seen["rest"]["outputs"] = {n: {"datatype": o.datatype, "shape": list(o.shape)} for n, o in outputs.items()}
        if is_legendary:
            assert answer.id == "kserve-rest", answer.id
            same("kserve REST [N, 6] FP64 predict", outputs["predict"].as_numpy(), want[0])
            same("kserve REST [N, 6] FP64 predict_proba", outputs["predict_proba"].as_numpy(), want[1])
    finally:
        await rest.close()
    # No retries: an error is to be seen, not retried.
    grpc_client = InferenceGRPCClient(server["grpc"], retries=0, timeout=60)
    try:
        seen["grpc"] = {
            "live": await call(grpc_client.is_server_live()),
            "ready": await call(grpc_client.is_server_ready()),
            "model_ready": await call(grpc_client.is_model_ready(MODEL)),
        }
        stub = grpc_client._client_stub
        server_meta = await stub.ServerMetadata(pb.ServerMetadataRequest())
        model_meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name=MODEL))
        seen["grpc"]["server_name"] = server_meta.name
        seen["grpc"]["model_inputs"] = [i.name for i in model_meta.inputs]
        matrix = InferInput("input", list(rows.shape), "FP64")
        matrix.set_data_from_numpy(rows)
        answer = await grpc_client.infer(InferRequest(MODEL, [matrix], request_id="kserve-grpc"))
        outputs = {o.name: o for o in answer.outputs}
        seen["grpc"]["outputs"] = {n: {"datatype": o.datatype, "shape": list(o.shape)} for n, o in outputs.items()}
        if is_legendary:
            assert seen["grpc"]["model_inputs"] == STATS, seen
            same("kserve gRPC [N, 6] FP64 predict", outputs["predict"].as_numpy(), want[0])
            same("kserve gRPC [N, 6] FP64 predict_proba", outputs["predict_proba"].as_numpy(), want[1])
    finally:
        await grpc_client.close()
    if is_legendary:
        for side in ("rest", "grpc"):
            flags = seen[side]
            assert flags["live"] and flags["ready"] and flags["model_ready"], (side, flags)
    return seen


# Against legendary a failing call fails the check; against MLServer it is what it answered.
def strict(call):
    return call()


def tolerant(call):
    try:
        return call()
    except Exception as e:
        return f"raised {type(e).__name__}: {str(e)[:200]}"


async def strict_async(call):
    return await call


async def tolerant_async(call):
    try:
        return await call
    except Exception as e:
        return f"raised {type(e).__name__}: {str(e)[:200]}"


# The bad requests, each sent over REST (raw JSON, to see the status and body) and over gRPC
# (tritonclient, to see the status code).
BAD = {
    "wrong shape ([2, 5] FP64)": dict(model=MODEL, datatype="FP64", shape=[2, 5], data=[1.0] * 10),
    "shape and data disagree ([2, 6], 6 values)": dict(model=MODEL, datatype="FP64", shape=[2, 6], data=[1.0] * 6),
    "BYTES datatype": dict(model=MODEL, datatype="BYTES", shape=[1, 6], data=["a"] * 6),
    "unknown model": dict(model="nonexistent", datatype="FP64", shape=[1, 6], data=[1.0] * 6),
}


def bad_rest(server):
    import httpx

    out = {}
    for what, bad in BAD.items():
        body = {"inputs": [{"name": "input", "shape": bad["shape"], "datatype": bad["datatype"], "data": bad["data"]}]}
        r = httpx.post(f"http://{server['http']}/v2/models/{bad['model']}/infer", json=body, timeout=60)
        out[what] = rest_shape(r)
    for what, path in {
        "unknown model's metadata": "/v2/models/nonexistent",
        "unknown model's readiness": "/v2/models/nonexistent/ready",
    }.items():
        out[what] = rest_shape(httpx.get(f"http://{server['http']}{path}", timeout=60))
    return out


def rest_shape(r):
    try:
        body = r.json()
    except ValueError:
        body = r.text
    error = isinstance(body, dict) and isinstance(body.get("error"), str) and set(body) == {"error"}
    if not error and isinstance(body, str):
        # A traceback's last line says what it was.
        body = body.strip().splitlines()[-1][:200] if body.strip() else ""
    return {"status": r.status_code, "error_only": error, "body": None if error else body}


def bad_grpc(server):
    import grpc
    import tritonclient.grpc as tg
    from tritonclient.grpc import service_pb2 as pb
    from tritonclient.grpc import service_pb2_grpc as pbg

    out = {}
    channel = grpc.insecure_channel(server["grpc"])
    # The generated stub (tritonclient's), so a shape that disagrees with the data can be sent:
    # tritonclient's InferInput checks its own shapes.
    stub = pbg.GRPCInferenceServiceStub(channel)
    for what, bad in BAD.items():
        tensor = pb.ModelInferRequest().InferInputTensor(name="input", datatype=bad["datatype"], shape=bad["shape"])
        if bad["datatype"] == "BYTES":
            tensor.contents.bytes_contents.extend(v.encode() for v in bad["data"])
        else:
            tensor.contents.fp64_contents.extend(bad["data"])
        out[what] = grpc_code(lambda: stub.ModelInfer(pb.ModelInferRequest(model_name=bad["model"], inputs=[tensor]), timeout=60))
    out["unknown model's metadata"] = grpc_code(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="nonexistent"), timeout=60))
    out["unknown model's readiness"] = grpc_code(lambda: stub.ModelReady(pb.ModelReadyRequest(name="nonexistent"), timeout=60))
    # The same through tritonclient's own API: its exception carries the code.
    client = tg.InferenceServerClient(url=server["grpc"])
    try:
        client.get_model_metadata("nonexistent")
        out["tritonclient: unknown model's metadata"] = "OK"
    except tg.InferenceServerException as e:
        out["tritonclient: unknown model's metadata"] = str(e.status()).removeprefix("StatusCode.")
    client.close()
    channel.close()
    return out


def grpc_code(call):
    import grpc

    try:
        answer = call()
    except grpc.RpcError as e:
        return e.code().name
    return "OK" + (f" (ready={answer.ready})" if hasattr(answer, "ready") else "")


def kserve_in_child(config, name):
    """The KServe SDK's clients in a process of their own: its generated protobuf module and
    tritonclient's register the same `inference.*` messages, which one process refuses."""
    import subprocess

    child = subprocess.run(
        [sys.executable, "-W", "ignore", __file__, "kserve", name],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, f"the KServe SDK's checks of {name} failed:\n{child.stderr}"
    return json.loads(child.stdout.splitlines()[-1])


def kserve_main(config, name):
    rows, _ = load(config["csv"])
    want = expected_answers(config["legendary"]["http"], rows)
    seen = asyncio.run(kserve_clients(config[name], rows, want, name == "legendary"))
    print(json.dumps(seen, default=str))


def check(config):
    rows, _ = load(config["csv"])
    legendary = config["legendary"]
    want = expected_answers(legendary["http"], rows)
    report = {"rows": len(rows), "servers": {}}
    servers = {"legendary": legendary}
    if config.get("mlserver"):
        servers["mlserver"] = config["mlserver"]
    for name, server in servers.items():
        is_legendary = name == "legendary"
        seen = {
            "tritonclient http": triton_http(server, rows, want, is_legendary),
            "tritonclient grpc": triton_grpc(server, rows, want, is_legendary),
            "kserve": kserve_in_child(config, name),
            "bad rest": bad_rest(server),
            "bad grpc": bad_grpc(server),
        }
        report["servers"][name] = seen
    for what, shape in report["servers"]["legendary"]["bad rest"].items():
        assert 400 <= shape["status"] < 500 and shape["error_only"], (what, shape)
    for what, code in report["servers"]["legendary"]["bad grpc"].items():
        assert code in ("INVALID_ARGUMENT", "NOT_FOUND"), (what, code)
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] == ["train"]:
        train(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["kserve"]:
        kserve_main(json.load(sys.stdin), sys.argv[2])
    elif sys.argv[1:] == ["check"]:
        check(json.load(sys.stdin))
    else:
        sys.exit(__doc__)
