#!/usr/bin/env python3
"""Replay the Dockerfile without a container engine; see scripts/docker-build-test.sh.

Phases, each failing with a message that names the Dockerfile line:

1. Build context: the repository's working tree with .dockerignore applied by
   the Python docker SDK's PatternMatcher (Docker's rules: Go filepath.Match,
   `**`, `!` exceptions, leading `/` ignored), copied into a temporary
   directory. The Dockerfile and .dockerignore are left out when .dockerignore
   lists them, as COPY never sees them then.
2. Every stage but the last (the builder): WORKDIR, ENV, ARG, COPY and RUN, in
   order. Each stage has its own root directory, bind-mounted as `/` in a
   bubblewrap sandbox for each RUN, so absolute paths in the Dockerfile
   (/build, /out ...) land in it unchanged and persist from step to step like
   image layers. The base image is not pulled: the host's /usr, /etc and /opt
   (read-only) and its Rust toolchain stand in for `rust:*-bookworm`, whose
   CARGO_HOME is replaced by the host's. `RUN --mount=type=cache` targets get a
   directory that persists across runs (under the cache directory), so the
   second run is incremental, as with BuildKit; like BuildKit, nothing written
   there is part of the stage's filesystem.
3. The last stage (the runtime): a root directory holding only what a
   distroless base gives (/etc/passwd and /etc/group with uid 65532 `nonroot`,
   CA certificates, the glibc libraries `ldd` names for the binaries copied
   in) plus its COPY instructions. Every `COPY --from=<stage>` source must
   exist in that stage's filesystem (cache mounts excluded); all missing ones
   are listed.
4. The runtime command as deploy/kubernetes/base/deployment.yaml runs it: the
   image's ENTRYPOINT with the container's args, its literal env, as
   runAsUser/runAsGroup (a real uid on the host, via setpriv), on a read-only
   bind of that root, with a tmpfs for each emptyDir volumeMount (sizeLimit
   honoured) and nothing else writable, in its own network namespace (so the
   Deployment's port is always free; requests are sent from inside it with
   nsenter). The checks: /health and /ping answer 200, the README's two demo
   requests answer [false x5] and [true x5], the server runs as that uid, and
   a probe shell in an identical sandbox can write to the emptyDir paths only.
   ConfigMap (envFrom) and Secret values are not applied: they point at an
   MLflow registry; the server serves the model baked into the image instead.

5. The training Jobs as deploy/kubernetes/training runs them, in the same
   sandbox but sharing the host network, against a real `mlflow server` (the
   pinned venv of scripts/mlflow-venv.sh): the ConfigMaps the kustomization
   renders are applied (legendary-config as envFrom, its tracking URI pointed
   at the test server; legendary-grid mounted read-only), `$(VAR)` in args is
   expanded as the kubelet does, and the downward-API Job uid is a fresh uuid.
   job.yaml's command must exit 0 and register a version that @champion points
   to; then the Indexed Job's `completions` pods (the collect step first, the
   others `parallelism` at a time, capped at the core count) must all exit 0,
   the collect step must see every configuration and leave a gate decision on
   the version it registers.

--expect-build-failure PATTERN inverts phases 1-3: they must fail, with output
matching PATTERN (the self-check that a broken COPY list is caught).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from docker.utils.build import PatternMatcher

# The image's defaults that the binary resolves against its working directory.
RELATIVE_DEFAULTS = ("models/pokemon", "data/pokemon")
# CARGO_HOME of the official rust images; the host's CARGO_HOME replaces it.
IMAGE_CARGO_HOME = "/usr/local/cargo"
# The README's two demo requests and their answers.
DEMO_COLUMNS = ["hp", "attack", "defense", "special_attack", "special_defense", "speed"]
DEMO_REQUESTS = [
    (
        {
            "columns": DEMO_COLUMNS,
            "index": [272, 293, 414, 263, 49],
            "data": [[80, 70, 70, 90, 100, 70], [64, 51, 23, 51, 23, 28], [70, 94, 50, 94, 50, 66],
                     [38, 30, 41, 30, 41, 60], [70, 65, 60, 90, 75, 90]],
        },
        [False] * 5,
    ),
    (
        {
            "columns": DEMO_COLUMNS,
            "index": [384, 150, 482, 382, 485],
            "data": [[105, 180, 100, 180, 100, 115], [106, 150, 70, 194, 120, 140],
                     [75, 125, 70, 125, 70, 115], [100, 150, 90, 180, 160, 90],
                     [91, 90, 106, 130, 106, 77]],
        },
        [True] * 5,
    ),
]
# distroless's account files (base-debian12 / cc-debian12).
DISTROLESS_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
DISTROLESS_GROUP = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
DISTROLESS_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
}


class Failure(Exception):
    """A check failed; the message says which and why."""


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# Build context
# ---------------------------------------------------------------------------

def read_dockerignore(ctx: Path) -> list[str]:
    path = ctx / ".dockerignore"
    if not path.exists():
        return []
    # As the docker CLI reads it: trimmed lines, `#` comments and blanks dropped.
    return [ln.strip() for ln in path.read_text().splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def copy_context(ctx: Path, dest: Path) -> tuple[int, int]:
    patterns = read_dockerignore(ctx)
    pm = PatternMatcher(patterns)
    # docker-py appends `!.dockerignore` (the legacy builder wants the file in
    # its tarball); COPY never sees the file when the patterns exclude it.
    pm.patterns = pm.patterns[:-1]
    files = bytes_ = 0
    dest.mkdir(parents=True, exist_ok=True)
    for rel in sorted(pm.walk(str(ctx))):
        src = ctx / rel
        dst = dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_dir():
            dst.mkdir(exist_ok=True)
            shutil.copystat(src, dst)
        elif src.is_file():
            shutil.copy2(src, dst)
            files += 1
            bytes_ += src.stat().st_size
    # Directory mtimes were set before their contents were copied; redo them.
    for rel in sorted(pm.walk(str(ctx)), reverse=True):
        src, dst = ctx / rel, dest / rel
        if src.is_dir() and not src.is_symlink() and dst.is_dir():
            shutil.copystat(src, dst)
    return files, bytes_


# ---------------------------------------------------------------------------
# Dockerfile parsing
# ---------------------------------------------------------------------------

@dataclass
class Instruction:
    line: int
    keyword: str
    flags: list[str]
    args: str  # the rest, after the flags
    json_args: list[str] | None

    def where(self) -> str:
        text = f"{self.keyword} {' '.join(self.flags + [self.args])}".strip()
        text = re.sub(r"\s+", " ", text)
        return f"line {self.line}: {text[:110]}{'...' if len(text) > 110 else ''}"


@dataclass
class Stage:
    index: int
    name: str | None
    base: str
    instructions: list[Instruction] = field(default_factory=list)


def logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (buf and not stripped):
            continue  # comments (also inside continuations) and parser directives
        if not buf and not stripped:
            continue
        if not buf:
            start = lineno
        body = raw.rstrip()
        if body.endswith("\\"):
            buf.append(body[:-1])
            continue
        buf.append(body)
        out.append((start, " ".join(part.strip() for part in buf)))
        buf = []
    if buf:
        out.append((start, " ".join(part.strip() for part in buf)))
    return out


def parse_instruction(lineno: int, line: str) -> Instruction:
    keyword, _, rest = line.partition(" ")
    keyword = keyword.upper()
    rest = rest.strip()
    flags: list[str] = []
    if keyword in ("FROM", "COPY", "ADD", "RUN"):
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
    json_args = None
    if keyword in ("RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "SHELL") and rest.startswith("["):
        try:
            parsed = json.loads(rest)
            if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
                json_args = parsed
        except json.JSONDecodeError:
            pass  # Docker runs a malformed exec form as a shell command
    return Instruction(lineno, keyword, flags, rest, json_args)


_VAR = re.compile(r"\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(text: str, env: dict[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "\\$":
            return "$"
        name = m.group(1) or m.group(4)
        value = env.get(name, "")
        if m.group(2) == "-":
            return value or m.group(3)
        if m.group(2) == "+":
            return m.group(3) if value else ""
        return value
    return _VAR.sub(repl, text)


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for lineno, line in logical_lines(path.read_text()):
        ins = parse_instruction(lineno, line)
        if ins.keyword == "FROM":
            words = substitute(ins.args, global_args).split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), name, words[0]))
        elif not stages:
            if ins.keyword != "ARG":
                raise Failure(f"{path.name} {ins.where()}: only ARG may come before the first FROM")
            for key, value in parse_arg(ins.args, global_args).items():
                global_args[key] = value
        else:
            stages[-1].instructions.append(ins)
    if len(stages) < 2:
        raise Failure(f"{path.name}: expected a builder stage and a runtime stage, found {len(stages)} stage(s)")
    return global_args, stages


def parse_arg(text: str, env: dict[str, str]) -> dict[str, str]:
    out = {}
    for word in shlex.split(text):
        key, eq, value = word.partition("=")
        out[key] = substitute(value, env) if eq else env.get(key, "")
    return out


def parse_env(text: str, env: dict[str, str]) -> dict[str, str]:
    words = shlex.split(text)
    if words and "=" not in words[0]:  # legacy `ENV key value with spaces`
        key, _, value = text.strip().partition(" ")
        return {key: substitute(value.strip(), env)}
    out = {}
    for word in words:
        key, _, value = word.partition("=")
        out[key] = substitute(value, env)
    return out


def flag_value(flags: list[str], name: str) -> str | None:
    for flag in flags:
        if flag.startswith(f"--{name}="):
            return flag.split("=", 1)[1]
    return None


# ---------------------------------------------------------------------------
# Filesystem helpers
# ---------------------------------------------------------------------------

def inside(root: Path, abs_path: str) -> Path:
    """abs_path of a stage's filesystem, as a path under that stage's root dir."""
    norm = os.path.normpath("/" + abs_path.lstrip("/"))
    return root / norm.lstrip("/") if norm != "/" else root


def copy_any(src: Path, dst: Path) -> None:
    if src.is_symlink():
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dst)


def docker_copy(srcs: list[Path], dest: str, dest_root: Path, workdir: str,
                chown: tuple[int, int] | None) -> None:
    """COPY semantics: a directory source copies its contents; several sources
    or a dest ending in / make dest a directory."""
    abs_dest = dest if dest.startswith("/") else os.path.join(workdir, dest)
    target = inside(dest_root, abs_dest)
    as_dir = dest.endswith("/") or len(srcs) > 1 or target.is_dir()
    for src in srcs:
        if src.is_dir() and not src.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
            for child in src.iterdir():
                copy_any(child, target / child.name)
            written = [target]
        else:
            out = target / src.name if as_dir else target
            out.parent.mkdir(parents=True, exist_ok=True)
            copy_any(src, out)
            written = [out]
        if chown:
            for top in written:
                for p in [top, *(top.rglob("*") if top.is_dir() else [])]:
                    os.lchown(p, *chown)


def parse_chown(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    user, _, group = value.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise Failure(f"--chown={value}: only numeric uid:gid is emulated")
    return int(user), int(group or user)


def du(path: Path) -> int:
    total = 0
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# ---------------------------------------------------------------------------
# Builder stages
# ---------------------------------------------------------------------------

@dataclass
class Host:
    cargo_home: Path
    rustup_home: Path
    cargo_bin: Path
    rustc_version: str


def host_toolchain() -> Host:
    cargo = shutil.which("cargo")
    if not cargo:
        raise Failure("cargo is not on PATH; the builder stage runs the host's Rust toolchain")
    home = Path(os.environ.get("HOME", "/root"))
    cargo_home = Path(os.environ.get("CARGO_HOME", home / ".cargo"))
    rustup_home = Path(os.environ.get("RUSTUP_HOME", home / ".rustup"))
    version = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout
    return Host(cargo_home, rustup_home, Path(cargo).parent, version.split()[1])


def sandbox_base_binds(root: Path) -> list[str]:
    """Host directories standing in for the builder's base image, read-only,
    and the host's top-level symlinks (/bin -> usr/bin ...), made once in root."""
    args: list[str] = []
    for entry in sorted(os.listdir("/")):
        path = "/" + entry
        if os.path.islink(path):
            if not os.path.lexists(root / entry):
                args += ["--symlink", os.readlink(path), path]
        elif entry in ("usr", "etc", "opt") and os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def run_builder_stage(stage: Stage, stages_fs: dict[str, Path], global_args: dict[str, str],
                      context: Path, work: Path, cache_root: Path, host: Host) -> Path:
    label = stage.name or str(stage.index)
    root = work / "stages" / label
    root.mkdir(parents=True)
    base = stage.base
    if base in stages_fs:
        shutil.copytree(stages_fs[base], root, symlinks=True, dirs_exist_ok=True)
        base_env: dict[str, str] = {}
    elif re.match(r"^(docker\.io/)?(library/)?rust:", base):
        m = re.match(r"^(?:docker\.io/)?(?:library/)?rust:(\d+\.\d+)", base)
        host_minor = ".".join(host.rustc_version.split(".")[:2])
        if m and m.group(1) != host_minor:
            log(f"  note: {base.split('@')[0]} has Rust {m.group(1)}, the host toolchain standing in for it is "
                f"{host.rustc_version}")
        path = f"{host.cargo_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        base_env = {"PATH": path, "CARGO_HOME": str(host.cargo_home), "RUSTUP_HOME": str(host.rustup_home),
                    "RUST_VERSION": host.rustc_version}
    else:
        raise Failure(f"builder stage {label}: base {base} is not emulated (only rust:* images and earlier stages)")
    env = {"HOME": "/root", **base_env}
    workdir = "/"
    for ins in stage.instructions:
        kw = ins.keyword
        if kw == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, substitute(ins.args, env)))
            inside(root, workdir).mkdir(parents=True, exist_ok=True)
        elif kw == "ENV":
            env.update(parse_env(ins.args, env))
        elif kw == "ARG":
            env.update(parse_arg(ins.args, {**global_args, **env}))
        elif kw == "COPY":
            copy_instruction(ins, env, root, workdir, context, stages_fs, label)
        elif kw == "RUN":
            run_instruction(ins, env, root, workdir, cache_root, host, label)
        elif kw in ("LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "STOPSIGNAL", "HEALTHCHECK"):
            continue  # no effect on the files the next stages copy
        else:
            raise Failure(f"stage {label} {ins.where()}: {kw} is not emulated by this test")
    return root


def copy_instruction(ins: Instruction, env: dict[str, str], root: Path, workdir: str, context: Path,
                     stages_fs: dict[str, Path], label: str) -> None:
    words = ins.json_args if ins.json_args is not None else shlex.split(ins.args)
    words = [substitute(w, env) for w in words]
    if len(words) < 2:
        raise Failure(f"stage {label} {ins.where()}: COPY needs a source and a destination")
    *srcs, dest = words
    from_stage = flag_value(ins.flags, "from")
    if from_stage is not None:
        if from_stage not in stages_fs:
            raise Failure(f"stage {label} {ins.where()}: --from={from_stage} is not an earlier stage")
        src_root, src_desc = stages_fs[from_stage], f"stage {from_stage}"
    else:
        src_root, src_desc = context, "the build context (after .dockerignore)"
    resolved: list[Path] = []
    missing: list[str] = []
    for src in srcs:
        if from_stage is None:
            norm = os.path.normpath(src).lstrip("/")
            matches = sorted(glob.glob(str(context / norm))) if norm not in ("", ".") else [str(context)]
        else:
            matches = sorted(glob.glob(str(inside(src_root, src))))
        if not matches:
            missing.append(src)
        resolved += [Path(p) for p in matches]
    if missing:
        raise Failure(f"stage {label} {ins.where()}: not found in {src_desc}: {', '.join(missing)}")
    docker_copy(resolved, dest, root, workdir, parse_chown(flag_value(ins.flags, "chown")))


def run_instruction(ins: Instruction, env: dict[str, str], root: Path, workdir: str, cache_root: Path,
                    host: Host, label: str) -> None:
    binds: list[str] = []
    for flag in ins.flags:
        if flag.startswith("--network=") or flag.startswith("--security="):
            continue
        if not flag.startswith("--mount="):
            raise Failure(f"stage {label} {ins.where()}: RUN flag {flag} is not emulated")
        opts = dict(kv.partition("=")[::2] for kv in flag[len("--mount="):].split(","))
        if opts.get("type") != "cache":
            raise Failure(f"stage {label} {ins.where()}: only --mount=type=cache is emulated, got {flag}")
        target = os.path.normpath(os.path.join(workdir, opts.get("target") or opts.get("dst") or opts["destination"]))
        if target == IMAGE_CARGO_HOME or target.startswith(IMAGE_CARGO_HOME + "/"):
            continue  # the host's CARGO_HOME (already writable) stands in for the image's
        cache_id = opts.get("id") or target
        cache_dir = cache_root / re.sub(r"[^A-Za-z0-9_.-]+", "_", cache_id.strip("/"))
        cache_dir.mkdir(parents=True, exist_ok=True)
        inside(root, target).mkdir(parents=True, exist_ok=True)
        binds += ["--bind", str(cache_dir), target]
    argv = ins.json_args if ins.json_args is not None else ["/bin/sh", "-c", ins.args]
    cmd = ["nice", "-n", "15", "bwrap", "--die-with-parent", "--bind", str(root), "/",
           *sandbox_base_binds(root),
           "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--ro-bind", str(host.rustup_home), str(host.rustup_home),
           "--bind", str(host.cargo_home), str(host.cargo_home),
           *binds, "--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    log(f"  RUN {ins.where()}")
    started = time.monotonic()
    proc, output = run_with_heartbeat([*cmd, *argv])
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(output.rstrip().splitlines()[-25:])
        raise Failure(f"stage {label} {ins.where()}: exited {proc.returncode} after {elapsed:.1f} s; "
                      f"last lines:\n{tail}")
    log(f"    ok in {elapsed:.1f} s")


def run_with_heartbeat(argv: list[str], every: float = 60) -> tuple[subprocess.Popen, str]:
    """Runs argv with its output captured; while it runs (a cold `cargo build --release` takes
    many minutes), logs every `every` seconds how long it has been running and its last line."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    started = time.monotonic()
    while True:
        try:
            proc.wait(timeout=every)
            break
        except subprocess.TimeoutExpired:
            last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
            log(f"    still running after {time.monotonic() - started:.0f} s"
                + (f" (last: {last[:100]})" if last else ""))
    reader.join()
    return proc, "".join(lines)


# ---------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------

@dataclass
class Image:
    root: Path
    workdir: str = "/"
    user: str = "0"
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)


def distroless_base(root: Path) -> None:
    for d in ("etc/ssl/certs", "tmp", "home/nonroot", "root", "usr/local/bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    os.chmod(root / "root", 0o700)
    os.chmod(root / "home/nonroot", 0o700)
    os.chown(root / "home/nonroot", 65532, 65532)
    (root / "etc/passwd").write_text(DISTROLESS_PASSWD)
    (root / "etc/group").write_text(DISTROLESS_GROUP)
    (root / "etc/nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    certs = Path("/etc/ssl/certs/ca-certificates.crt")
    if not certs.exists():
        raise Failure("/etc/ssl/certs/ca-certificates.crt missing on the host: apt-get install ca-certificates")
    shutil.copy2(certs, root / "etc/ssl/certs/ca-certificates.crt")
    if Path("/etc/os-release").exists():
        shutil.copy2("/etc/os-release", root / "etc/os-release")


def add_shared_libraries(root: Path, binary: Path) -> list[str]:
    """Copy the libraries `ldd` names (the dynamic loader included) to the same paths."""
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if proc.returncode != 0:
        if "not a dynamic executable" in proc.stdout + proc.stderr:
            return []
        raise Failure(f"ldd {binary} failed: {proc.stderr.strip()}")
    libs = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise Failure(f"{binary.name} needs a library the host lacks: {line}")
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"(/\S+)", line)
        if not m:
            continue  # linux-vdso.so.1
        lib = m.group(1)
        dest = inside(root, lib)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), dest)
        libs.append(lib)
    return libs


def build_runtime(stage: Stage, stages_fs: dict[str, Path], context: Path, work: Path) -> tuple[Image, list[str]]:
    if not re.match(r"^gcr\.io/distroless/(cc|base|static)", stage.base):
        raise Failure(f"runtime stage: base {stage.base} is not emulated (only gcr.io/distroless/{{cc,base,static}})")
    img = Image(work / "runtime-root")
    img.root.mkdir()
    os.chmod(img.root, 0o755)
    distroless_base(img.root)
    img.env = dict(DISTROLESS_ENV)
    if ":nonroot" in stage.base:
        img.user, img.workdir = "65532", "/home/nonroot"
    missing: list[str] = []
    checked: list[str] = []
    for ins in stage.instructions:
        kw = ins.keyword
        if kw == "WORKDIR":
            img.workdir = os.path.normpath(os.path.join(img.workdir, substitute(ins.args, img.env)))
            inside(img.root, img.workdir).mkdir(parents=True, exist_ok=True)
        elif kw == "ENV":
            img.env.update(parse_env(ins.args, img.env))
        elif kw == "COPY":
            from_stage = flag_value(ins.flags, "from")
            words = ins.json_args if ins.json_args is not None else shlex.split(ins.args)
            if from_stage is not None:
                if from_stage not in stages_fs:
                    raise Failure(f"runtime stage {ins.where()}: --from={from_stage} is not an earlier stage")
                for src in words[:-1]:
                    checked.append(f"{from_stage}:{src}")
                    if not glob.glob(str(inside(stages_fs[from_stage], src))):
                        missing.append(f"  {ins.where()}\n    {src} does not exist in stage {from_stage}")
                if missing:
                    continue
            copy_instruction(ins, img.env, img.root, img.workdir, context, stages_fs, "runtime")
        elif kw == "USER":
            img.user = substitute(ins.args, img.env).strip()
        elif kw == "EXPOSE":
            img.exposed += [p.split("/")[0] for p in ins.args.split()]
        elif kw == "ENTRYPOINT":
            img.entrypoint = ins.json_args if ins.json_args is not None else ["/bin/sh", "-c", ins.args]
            img.cmd = []  # an ENTRYPOINT resets an inherited CMD
        elif kw == "CMD":
            img.cmd = ins.json_args if ins.json_args is not None else ["/bin/sh", "-c", ins.args]
        elif kw == "RUN":
            raise Failure(f"runtime stage {ins.where()}: a distroless image has no /bin/sh, RUN cannot work there")
        elif kw in ("ARG", "LABEL", "STOPSIGNAL", "HEALTHCHECK"):
            continue
        else:
            raise Failure(f"runtime stage {ins.where()}: {kw} is not emulated by this test")
    if missing:
        raise Failure("runtime stage: COPY --from sources missing:\n" + "\n".join(missing))
    log(f"  COPY --from sources present: {', '.join(checked) or '(none)'}")
    return img, checked


def check_image(img: Image) -> Path:
    if not img.entrypoint:
        raise Failure("runtime stage: no ENTRYPOINT")
    binary = inside(img.root, img.entrypoint[0])
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise Failure(f"runtime stage: ENTRYPOINT {img.entrypoint[0]} is not an executable file in the image")
    for rel in RELATIVE_DEFAULTS:
        if not inside(img.root, os.path.join(img.workdir, rel)).is_dir():
            raise Failure(f"runtime stage: {os.path.join(img.workdir, rel)} (the binary's default {rel}, "
                          f"relative to WORKDIR {img.workdir}) is not a directory in the image")
    if not img.user.split(":")[0].isdigit() or img.user.split(":")[0] == "0":
        raise Failure(f"runtime stage: USER {img.user} must be a numeric non-root uid (runAsNonRoot checks it)")
    libs = add_shared_libraries(img.root, binary)
    app = {d.split("/")[0]: du(inside(img.root, os.path.join(img.workdir, d.split("/")[0]))) for d in RELATIVE_DEFAULTS}
    rest = du(img.root) - binary.stat().st_size - sum(app.values())
    log(f"  image files: {img.entrypoint[0]} {mb(binary.stat().st_size)}, "
        + ", ".join(f"{os.path.join(img.workdir, d)}/ {mb(n)}" for d, n in app.items())
        + f"; distroless stand-in (passwd, CA certificates, {len(libs)} libraries from ldd) {mb(rest)}")
    return binary


# ---------------------------------------------------------------------------
# The Deployment's way of running it
# ---------------------------------------------------------------------------

def parse_quantity(q: str | int) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", str(q))
    if not m or (m.group(2) and m.group(2) not in units):
        raise Failure(f"cannot read quantity {q!r}")
    return int(m.group(1)) * units.get(m.group(2), 1)


@dataclass
class PodSpec:
    uid: int
    gid: int
    read_only_root: bool
    argv: list[str]
    env: dict[str, str]
    workdir: str
    port: int
    empty_dirs: list[tuple[str, int | None]]
    skipped_env: list[str]
    ro_binds: list[tuple[Path, str]] = field(default_factory=list)  # ConfigMap volumes
    share_net: bool = False  # a training pod reaches MLflow on the host


@dataclass
class Cluster:
    """What the cluster gives a Job's pod besides its spec: the ConfigMaps (envFrom values,
    volume directories) and the downward-API fields."""
    config_env: dict[str, dict[str, str]]
    config_dirs: dict[str, Path]
    fields: dict[str, str]


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion in command and args ($$ escapes, unknown names stay)."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def container_spec(source: str, spec: dict, img: Image, cluster: Cluster | None) -> PodSpec:
    """The first container of a pod spec, as the kubelet would start it. Without a cluster
    (the Deployment: it serves the image's model), envFrom and valueFrom are skipped."""
    container = spec["containers"][0]
    psc, csc = spec.get("securityContext") or {}, container.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser", int(img.user.split(":")[0])))
    gid = csc.get("runAsGroup", psc.get("runAsGroup", uid))
    env = dict(img.env)
    env.setdefault("HOME", "/home/nonroot" if uid == 65532 else "/")
    skipped = []
    for ref in container.get("envFrom") or []:
        name = (ref.get("configMapRef") or ref.get("secretRef") or {}).get("name", "?")
        if cluster is not None and "configMapRef" in ref and name in cluster.config_env:
            env.update(cluster.config_env[name])
        else:
            skipped.append(f"envFrom {name}")
    for item in container.get("env") or []:
        field_path = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
        elif cluster is not None and field_path in cluster.fields:
            env[item["name"]] = cluster.fields[field_path]
        else:
            skipped.append(item["name"])
    argv = list(container.get("command") or img.entrypoint) + list(
        container.get("args") if "args" in container else ([] if container.get("command") else img.cmd))
    argv = [expand(a, env) for a in argv]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    empty_dirs, ro_binds = [], []
    for mount in container.get("volumeMounts") or []:
        vol = volumes.get(mount["name"], {})
        if "emptyDir" in vol:
            size = (vol["emptyDir"] or {}).get("sizeLimit")
            empty_dirs.append((mount["mountPath"], parse_quantity(size) if size else None))
        elif "configMap" in vol and cluster is not None and vol["configMap"]["name"] in cluster.config_dirs:
            ro_binds.append((cluster.config_dirs[vol["configMap"]["name"]], mount["mountPath"]))
        else:
            raise Failure(f"{source}: volumeMount {mount['name']} is neither an emptyDir nor a known ConfigMap; "
                          "not emulated")
    port = next((p["containerPort"] for p in container.get("ports") or []), None)
    if "--port" in argv:
        port = int(argv[argv.index("--port") + 1])
    if uid != int(img.user.split(":")[0]):
        raise Failure(f"{source}: runAsUser {uid} differs from the image's USER {img.user}")
    return PodSpec(uid, gid, bool(csc.get("readOnlyRootFilesystem")), argv, env,
                   container.get("workingDir") or img.workdir, port, empty_dirs, skipped, ro_binds)


def pod_spec(deployment: Path, img: Image) -> PodSpec:
    docs = [d for d in yaml.safe_load_all(deployment.read_text()) if d]
    dep = next((d for d in docs if d.get("kind") == "Deployment"), None)
    if dep is None:
        raise Failure(f"{deployment}: no Deployment")
    pod = container_spec(str(deployment), dep["spec"]["template"]["spec"], img, None)
    if pod.port is None:
        raise Failure(f"{deployment}: no containerPort")
    if img.exposed and str(pod.port) not in img.exposed:
        raise Failure(f"{deployment}: container port {pod.port} is not the image's EXPOSE {' '.join(img.exposed)}")
    return pod


def sandbox_argv(img: Image, pod: PodSpec, extra: list[str]) -> list[str]:
    args = ["setpriv", f"--reuid={pod.uid}", f"--regid={pod.gid}", "--clear-groups", "--",
            "bwrap", "--die-with-parent", "--unshare-all", *(["--share-net"] if pod.share_net else []),
            "--hostname", "legendary",
            "--uid", str(pod.uid), "--gid", str(pod.gid),
            "--ro-bind" if pod.read_only_root else "--bind", str(img.root), "/",
            "--dev", "/dev", "--proc", "/proc"]
    for mountpoint in ("dev", "proc"):  # a container runtime mounts these on any image
        (img.root / mountpoint).mkdir(exist_ok=True)
    for path, size in pod.empty_dirs:
        inside(img.root, path).mkdir(parents=True, exist_ok=True)  # the runtime creates mount points
        args += (["--size", str(size)] if size else []) + ["--perms", "0777", "--tmpfs", path]
    for host, path in pod.ro_binds:
        inside(img.root, path).mkdir(parents=True, exist_ok=True)
        args += ["--ro-bind", str(host), path]
    args += extra + ["--chdir", pod.workdir, "--clearenv"]
    for key, value in pod.env.items():
        args += ["--setenv", key, value]
    return args


class Server:
    def __init__(self, img: Image, pod: PodSpec, logfile: Path):
        self.logfile = logfile
        read_fd, write_fd = os.pipe()
        self.log = open(logfile, "wb")
        argv = sandbox_argv(img, pod, ["--info-fd", str(write_fd)]) + pod.argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        # bwrap writes one JSON object once the sandbox is set up (or closes the
        # pipe on failure); it may keep the pipe open, so read only that object.
        text, self.child = b"", None
        with os.fdopen(read_fd, "rb", buffering=0) as info:
            while self.child is None:
                chunk = info.read(4096)
                if not chunk:
                    break
                text += chunk
                try:
                    self.child = json.loads(text)["child-pid"]
                except (ValueError, KeyError):
                    continue
        if self.child is None:
            self.stop()
            raise Failure(f"bwrap did not start the server: {self.tail()}")

    def tail(self, n: int = 30) -> str:
        self.log.flush()
        lines = self.logfile.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:]) or "(no output)"

    def curl(self, path: str, port: int, body: str | None = None, content_type: str | None = None,
             timeout: float = 10) -> tuple[int, str]:
        cmd = ["nsenter", f"--net=/proc/{self.child}/ns/net", "curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
               "--max-time", str(timeout)]
        if body is not None:
            cmd += ["-X", "POST", "-H", f"Content-Type:{content_type}", "--data-binary", "@-"]
        cmd.append(f"http://127.0.0.1:{port}{path}")
        proc = subprocess.run(cmd, input=body, capture_output=True, text=True)
        if proc.returncode != 0:
            return 0, proc.stderr.strip()
        text, _, code = proc.stdout.rpartition("\n")
        return int(code), text

    def server_pids(self) -> list[int]:
        """Host pids of the sandbox's processes other than bwrap's own init."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
            if ppid == self.child:
                pids.append(int(entry))
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=25)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        # The sandbox's own pid 1 gets SIGKILL when bwrap dies (--die-with-parent);
        # wait until it and the server have gone.
        deadline = time.monotonic() + 10
        while self.child and time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{self.child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                break
            if state == "Z":
                break
            time.sleep(0.05)
        self.log.close()


def run_pod(img: Image, pod: PodSpec, work: Path) -> None:
    writable = ", ".join(f"{p} (tmpfs, {f'{s / 2**20:g} MiB' if s else 'no size limit'})"
                         for p, s in pod.empty_dirs) or "nothing"
    root_mode = "read-only" if pod.read_only_root else "WRITABLE"
    log(f"  as uid {pod.uid} gid {pod.gid}, root {root_mode}, writable: {writable}, "
        f"cwd {pod.workdir}, own network namespace")
    log(f"  command: {shlex.join(pod.argv)}")
    if pod.skipped_env:
        log(f"  not applied (MLflow registry settings; the image's model is served): {', '.join(pod.skipped_env)}")
    if not pod.read_only_root:
        raise Failure("the Deployment's container must set readOnlyRootFilesystem: true")
    server = Server(img, pod, work / "server.log")
    try:
        deadline = time.monotonic() + 30
        code, text = 0, ""
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise Failure(f"the server exited with {server.proc.returncode}:\n{server.tail()}")
            code, text = server.curl("/ping", pod.port, timeout=2)
            if code == 200:
                break
            time.sleep(0.2)
        else:
            raise Failure(f"/ping did not answer 200 within 30 s (last: {code} {text[:200]}):\n{server.tail()}")
        log(f"  GET /ping -> {code}")
        code, text = server.curl("/health", pod.port)
        if code != 200:
            raise Failure(f"GET /health -> {code} {text[:200]}")
        log(f"  GET /health -> {code}")
        for body, expected in DEMO_REQUESTS:
            code, text = server.curl("/invocations", pod.port, json.dumps(body, separators=(",", ":")),
                                     "application/json; format=pandas-split")
            try:
                answer = json.loads(text)
            except json.JSONDecodeError:
                answer = None
            if code != 200 or answer != expected:
                raise Failure(f"POST /invocations index {body['index']} -> {code} {text[:300]}, "
                              f"expected {json.dumps(expected)}")
            log(f"  POST /invocations (demo, index {body['index']}) -> {code} {text.strip()}")
        pids = server.server_pids()
        if not pids:
            raise Failure("could not find the server process under bwrap")
        for pid in pids:
            uids = re.search(r"^Uid:\s+(.*)$", Path(f"/proc/{pid}/status").read_text(), re.M).group(1).split()
            if set(uids) != {str(pod.uid)}:
                raise Failure(f"the server process {pid} runs with uids {uids}, expected {pod.uid}")
        log(f"  the server process runs as host uid {pod.uid} (real, effective, saved, fs)")
        probe_writes(img, pod)
    except Failure:
        raise
    finally:
        for proc in STARTED:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        server.stop()


def probe_writes(img: Image, pod: PodSpec) -> None:
    """Write attempts from a shell in an identical sandbox (the image has no shell:
    dash is bind-mounted into the first emptyDir for the probe only)."""
    shell = shutil.which("dash") or "/bin/sh"
    if not pod.empty_dirs:
        raise Failure("the Deployment declares no emptyDir; nothing would be writable")
    probe_path = os.path.join(pod.empty_dirs[0][0], ".probe-sh")
    writable = [p for p, _ in pod.empty_dirs]
    candidates = ["/", pod.workdir, "/usr/local/bin", "/etc", "/home/nonroot", "/root",
                  *(os.path.join(pod.workdir, d) for d in RELATIVE_DEFAULTS)]
    script = 'for d in "$@"; do if ( : > "$d/.write-probe" ) 2>/dev/null; then echo "writable $d"; ' \
             'else echo "refused $d"; fi; done'
    argv = sandbox_argv(img, pod, ["--ro-bind", os.path.realpath(shell), probe_path]) + \
        [probe_path, "-c", script, "probe", *candidates, *writable]
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise Failure(f"write probe did not run ({proc.returncode}): {proc.stderr.strip()}")
    results = dict(line.split(" ", 1)[::-1] for line in proc.stdout.splitlines())
    bad = [f"{d} is writable" for d in candidates if results.get(d) != "refused"]
    bad += [f"{d} (emptyDir) is not writable" for d in writable if results.get(d) != "writable"]
    if bad:
        raise Failure("write probe: " + "; ".join(bad))
    log(f"  writes refused: {' '.join(candidates)}; allowed: {' '.join(writable)}")


# ---------------------------------------------------------------------------
# The training Jobs' way of running it, against a real MLflow server
# ---------------------------------------------------------------------------

class Mlflow:
    """A real `mlflow server` on the host (the pinned venv of scripts/mlflow-venv.sh) with a
    SQLite store and proxied artifacts; training pods share the host network to reach it."""

    def __init__(self, binary: Path, work: Path):
        port = free_port()
        self.uri = f"http://127.0.0.1:{port}"
        self.logfile = work / "mlflow.log"
        self.log = open(self.logfile, "wb")
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        self.proc = subprocess.Popen(
            [str(binary), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
             "--artifacts-destination", str(work / "mlartifacts")],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"mlflow server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise Failure(f"mlflow server did not answer /health within 120 s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-20:])

    def api(self, path: str, body: dict | None = None) -> dict:
        url = f"{self.uri}/api/2.0/mlflow/{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise Failure(f"MLflow {path}: {e.code} {e.read()[:300]!r}") from e

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    """A kustomize `envs:` file: KEY=VALUE lines, `#` comments."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def training_cluster(training: Path, work: Path, tracking_uri: str) -> Cluster:
    """The ConfigMaps the training kustomization renders: legendary-config (envFrom, from
    the shared component, with the tracking URI pointed at the test server) and
    legendary-grid (the mounted grid files)."""
    kustomization = yaml.safe_load((training / "kustomization.yaml").read_text())
    config_dirs = {}
    for gen in kustomization.get("configMapGenerator") or []:
        dest = work / "configmaps" / gen["name"]
        dest.mkdir(parents=True)
        for f in gen.get("files") or []:
            shutil.copyfile(training / f, dest / Path(f).name)
            os.chmod(dest / Path(f).name, 0o644)
        os.chmod(dest, 0o755)
        os.chmod(dest.parent, 0o755)
        config_dirs[gen["name"]] = dest
    config_env = {}
    for component in kustomization.get("components") or []:
        comp_dir = (training / component).resolve()
        comp = yaml.safe_load((comp_dir / "kustomization.yaml").read_text())
        for gen in comp.get("configMapGenerator") or []:
            values = {}
            for env_file in gen.get("envs") or []:
                values.update(read_env_file(comp_dir / env_file))
            config_env[gen["name"]] = values
    if "legendary-config" not in config_env:
        raise Failure(f"{training}: renders no legendary-config ConfigMap")
    config_env["legendary-config"]["MLFLOW_TRACKING_URI"] = tracking_uri
    return Cluster(config_env, config_dirs, {})


def job_pod(manifest: Path, img: Image, cluster: Cluster, index: int | None = None) -> tuple[dict, PodSpec]:
    doc = next(d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") in ("Job", "CronJob"))
    job = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    spec = job["template"]["spec"]
    if index is not None:
        # The Job controller sets JOB_COMPLETION_INDEX on every container of an Indexed Job.
        spec = json.loads(json.dumps(spec))
        spec["containers"][0].setdefault("env", []).insert(0, {"name": "JOB_COMPLETION_INDEX", "value": str(index)})
    pod = container_spec(str(manifest), spec, img, cluster)
    pod.share_net = True
    if not pod.read_only_root:
        raise Failure(f"{manifest}: the container must set readOnlyRootFilesystem: true")
    if pod.skipped_env:
        raise Failure(f"{manifest}: not emulated: {', '.join(pod.skipped_env)}")
    return job, pod


# Every pod started, so that a failure midway kills the rest.
STARTED: list[subprocess.Popen] = []


def start_pod(img: Image, pod: PodSpec, logfile: Path) -> tuple[subprocess.Popen, object]:
    log_handle = open(logfile, "wb")
    proc = subprocess.Popen(sandbox_argv(img, pod, []) + pod.argv, stdin=subprocess.DEVNULL,
                            stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True)
    STARTED.append(proc)
    return proc, log_handle


def finish_pod(proc: subprocess.Popen, handle, logfile: Path, timeout: float) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        handle.close()
        raise Failure(f"{logfile.name}: still running after {timeout:.0f} s:\n{tail_of(logfile)}")
    handle.close()
    return proc.returncode, logfile.read_text(errors="replace")


def tail_of(logfile: Path, n: int = 25) -> str:
    return "\n".join(logfile.read_text(errors="replace").splitlines()[-n:])


def run_training(img: Image, training: Path, mlflow_bin: Path, work: Path) -> None:
    if not mlflow_bin.is_file():
        raise Failure(f"{mlflow_bin} not found: scripts/mlflow-venv.sh makes it")
    server = Mlflow(mlflow_bin, work)
    try:
        cluster = training_cluster(training, work, server.uri)
        log(f"  mlflow server {server.uri} (SQLite, proxied artifacts); ConfigMaps: "
            + ", ".join(sorted(set(cluster.config_env) | set(cluster.config_dirs))))

        # The one-shot Job (the CronJob runs the same container).
        manifest = training / "job.yaml"
        _, pod = job_pod(manifest, img, cluster)
        log(f"==> run as {manifest} runs it: {shlex.join(pod.argv)}")
        log(f"  as uid {pod.uid}, root read-only, writable: {' '.join(p for p, _ in pod.empty_dirs)}, "
            f"mounted: {' '.join(p for _, p in pod.ro_binds)}, host network (MLflow)")
        started = time.monotonic()
        proc, handle = start_pod(img, pod, work / "job.log")
        code, out = finish_pod(proc, handle, work / "job.log", 1800)
        if code != 0:
            raise Failure(f"the Job's command exited with {code}:\n{tail_of(work / 'job.log')}")
        name = pod.argv[pod.argv.index("--register-as") + 1]
        champion = server.api(f"registered-models/alias?name={name}&alias=champion")["model_version"]
        log(f"  exit 0 in {time.monotonic() - started:.0f} s; registered {name} version {champion['version']}, "
            f"@champion -> {champion['version']}, stage {champion.get('current_stage')}")

        # The Indexed Job: pods 0..N-1 train, pod N collects; all see the Job's uid.
        manifest = training / "indexed" / "indexed-job.yaml"
        cluster.fields = {"metadata.labels['batch.kubernetes.io/controller-uid']": str(uuid.uuid4())}
        job, _ = job_pod(manifest, img, cluster, 0)
        completions = int(job["completions"])
        parallel = max(1, min(int(job.get("parallelism", 1)), os.cpu_count() or 1))
        log(f"==> run as {manifest} runs it: {completions} pods, {parallel} at a time, "
            "the last one (the collect step) started first")
        started = time.monotonic()
        pods = {i: job_pod(manifest, img, cluster, i)[1] for i in range(completions)}
        log(f"  pod {completions - 1}: {shlex.join(pods[completions - 1].argv)}")
        collector = start_pod(img, pods[completions - 1], work / f"indexed-{completions - 1}.log")
        pending = list(range(completions - 1))
        running: dict[int, tuple] = {}
        while pending or running:
            while pending and len(running) < parallel:
                i = pending.pop(0)
                running[i] = start_pod(img, pods[i], work / f"indexed-{i}.log")
            for i, (proc, handle) in list(running.items()):
                if proc.poll() is not None:
                    code, _ = finish_pod(proc, handle, work / f"indexed-{i}.log", 0)
                    if code != 0:
                        raise Failure(f"indexed pod {i} exited with {code}:\n{tail_of(work / f'indexed-{i}.log')}")
                    del running[i]
            if collector[0].poll() is not None:
                break
            time.sleep(0.2)
        code, out = finish_pod(*collector, work / f"indexed-{completions - 1}.log", 600)
        if code != 0:
            raise Failure(f"the collect step exited with {code}:\n{tail_of(work / f'indexed-{completions - 1}.log')}")
        n = completions - 1
        if f"{n} of {n} configurations reported" not in out:
            raise Failure(f"the collect step did not see all {n} configurations:\n{out[-2000:]}")
        query = urllib.parse.urlencode({"filter": f"name='{name}'"})
        versions = server.api(f"model-versions/search?{query}")["model_versions"]
        newest = max(versions, key=lambda v: int(v["version"]))
        tags = {t["key"]: t["value"] for t in newest.get("tags") or []}
        decision = tags.get("legendary.gate.decision")
        if decision not in ("promoted", "refused"):
            raise Failure(f"the collect step's version {newest['version']} has no gate decision: {tags}")
        best = next((line for line in out.splitlines() if line.startswith("best:")), "?")
        log(f"  all {completions} pods exit 0 in {time.monotonic() - started:.0f} s; {best}")
        log(f"  registered {name} version {newest['version']} from run {newest['run_id']}; gate: {decision} "
            f"(challenger {tags.get('legendary.gate.challenger_score')}, "
            f"champion {tags.get('legendary.gate.champion_score', 'none')})")

        # The retrain CronJob: the champion was trained on the image's own data package, so it
        # says there is nothing to do and exits 0 without a run (the Service it watches does
        # not exist here: it is named in the reasons, not fatal).
        manifest = training / "retrain-cronjob.yaml"
        _, pod = job_pod(manifest, img, cluster)
        log(f"==> run as {manifest} runs it: {shlex.join(pod.argv)}")
        started = time.monotonic()
        experiment = server.api("experiments/get-by-name?experiment_name=pokemon")["experiment"]["experiment_id"]

        def runs() -> int:
            found = server.api("runs/search", {"experiment_ids": [experiment], "max_results": 1000})
            return len(found.get("runs") or [])

        runs_before = runs()
        proc, handle = start_pod(img, pod, work / "retrain.log")
        code, out = finish_pod(proc, handle, work / "retrain.log", 600)
        if code != 0:
            raise Failure(f"the retrain CronJob's command exited with {code}:\n{tail_of(work / 'retrain.log')}")
        # The line the command prints (its JSON log says the same in fields).
        said = next((line for line in out.splitlines() if line.startswith(("retraining", "not retraining"))), "")
        if "not retraining: the data is what champion version" not in said:
            raise Failure(f"the retrain CronJob did not find the champion's data unchanged:\n{out[-2000:]}")
        runs_after = runs()
        if runs_after != runs_before:
            raise Failure(f"the retrain CronJob created a run with nothing to do ({runs_before} -> {runs_after})")
        log(f"  exit 0 in {time.monotonic() - started:.0f} s, no run created: {said[:300]}")
    finally:
        server.stop()


# ---------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dockerfile", default="Dockerfile")
    ap.add_argument("--deployment", default="deploy/kubernetes/base/deployment.yaml")
    ap.add_argument("--training", default="deploy/kubernetes/training",
                    help="the training kustomization whose Job and Indexed Job are run")
    ap.add_argument("--mlflow", default=".venv/bin/mlflow", help="the mlflow server the training Jobs log to")
    ap.add_argument("--skip-training", action="store_true", help="run the Deployment only")
    ap.add_argument("--cache-dir", required=True, help="persists RUN --mount=type=cache directories")
    ap.add_argument("--keep-binary", metavar="PATH", type=Path,
                    help="copy the image's entrypoint binary (release, stripped) to PATH")
    ap.add_argument("--expect-build-failure", metavar="PATTERN",
                    help="the build must fail with output matching PATTERN (self-check)")
    args = ap.parse_args()

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)

    ctx = Path.cwd()
    dockerfile = Path(args.dockerfile)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="docker-build-test."))
    os.chmod(work, 0o755)  # the runtime sandbox's uid must reach the image root inside it
    try:
        try:
            log(f"==> build context: . with .dockerignore applied -> {work / 'context'}")
            files, size = copy_context(ctx, work / "context")
            log(f"  {files} files, {mb(size)}")
            global_args, stages = parse_dockerfile(dockerfile)
            host = host_toolchain()
            stages_fs: dict[str, Path] = {}
            for stage in stages[:-1]:
                log(f"==> stage {stage.name or stage.index}: FROM {stage.base}")
                root = run_builder_stage(stage, stages_fs, global_args, work / "context", work,
                                         Path(args.cache_dir), host)
                stages_fs[str(stage.index)] = root
                if stage.name:
                    stages_fs[stage.name] = root
            log(f"==> stage {stages[-1].name or stages[-1].index} (runtime): FROM {stages[-1].base}")
            img, _ = build_runtime(stages[-1], stages_fs, work / "context", work)
            binary = check_image(img)
            if args.keep_binary and not args.expect_build_failure:
                args.keep_binary.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(binary, args.keep_binary)
                log(f"  kept the image's binary as {args.keep_binary}")
        except Failure as err:
            if args.expect_build_failure:
                if re.search(args.expect_build_failure, str(err)):
                    log(f"==> self-check: {dockerfile} fails as expected:\n{err}")
                    log(f"docker-build-test: self-check passed in {time.monotonic() - started:.1f} s")
                    return 0
                log(f"FAIL: {dockerfile} failed, but not with /{args.expect_build_failure}/:\n{err}")
                return 1
            raise
        if args.expect_build_failure:
            log(f"FAIL: {dockerfile} was expected to fail (/{args.expect_build_failure}/) but its build passed: "
                "the test no longer catches a broken COPY list")
            return 1
        log(f"==> run as {args.deployment} runs it")
        run_pod(img, pod_spec(Path(args.deployment), img), work)
        if not args.skip_training:
            run_training(img, Path(args.training), Path(args.mlflow).absolute(), work)
        log(f"docker-build-test: all clean in {time.monotonic() - started:.1f} s")
        return 0
    except Failure as err:
        log(f"FAIL: {err}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
