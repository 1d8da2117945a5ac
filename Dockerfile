# syntax=docker/dockerfile:1
#
# legendary: one Rust binary (links glibc only; TLS is rustls, so no OpenSSL)
# plus the model directory and the data package, on a distroless base.
#
#   docker build -t legendary .
#   docker run --rm -p 8080:8080 legendary          # serve models/pokemon
#   docker run --rm legendary predict --help        # any other subcommand
#
# scripts/docker-build-test.sh replays this file without a container engine:
# it applies .dockerignore to the context, runs the builder stage's RUN steps
# in a sandbox, checks every `COPY --from=builder` source exists, then runs the
# result the way deploy/kubernetes/deployment.yaml does (uid 65532, read-only
# root, writable /tmp only) and sends it the demo's requests. It prints the
# sizes it sees. The image itself has not been built with `docker build` nor
# measured; check its size with `docker image ls legendary` after a build.
#
# Base images are pinned by tag and by digest (the multi-platform index digest
# of that tag). To move to a newer build of the same tag, replace the digest
# with the one printed by
#   docker buildx imagetools inspect rust:1.95-slim-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot
# (the `Digest:` line at the top), then rebuild and rerun the tests.

# ---------------------------------------------------------------------------
# Builder. Debian bookworm to match the runtime's glibc (distroless cc-debian12
# is bookworm; a binary built against a newer glibc, e.g. trixie's, may not run
# there). rust:*-slim already ships gcc and libc6-dev, which is all the C code
# in the tree needs: aws-lc-sys (rustls' crypto) builds with its cc builder on
# x86_64/aarch64 Linux, without cmake, perl or Go.
# ---------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS builder

WORKDIR /build

# Strip symbols without touching Cargo.toml's release profile.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_TERM_COLOR=never

# Why the whole context and not a dependency-only layer: cargo refuses a
# manifest whose targets are missing, so a layer built from Cargo.toml and
# Cargo.lock alone (plus dummy sources) breaks whenever the manifest names a
# target that the dummy does not fake ([[bench]], [[test]], [[example]],
# build.rs, include_str! of files outside src/ ...); that is how this file
# once failed at its first step. cargo-chef fakes them correctly but is one
# more tool to install and pin. Instead the whole context, as filtered by
# .dockerignore, is copied and compiled with BuildKit cache mounts: the cargo
# registry and target/ persist between builds on the same builder, so editing
# src/ recompiles only this crate, as `cargo build` does on a workstation.
# The trade-off: a builder without that cache (a fresh CI runner that only
# imports layer caches) compiles every dependency again; use cargo-chef there
# if that time matters.
COPY . .

# target/ is a cache mount, so it is not part of any layer: the binary is
# copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/legendary /out/usr/local/bin/legendary

# Runtime files. models/ may not exist in the build context (a fork without
# the committed model); create models/pokemon empty in that case so the
# COPY into the runtime stage never fails. The server then starts unready
# (/ping 503) until a model is loaded from MLflow.
RUN mkdir -p /out/app/models \
    && cp -a data /out/app/data \
    && if [ -d models ]; then cp -a models/. /out/app/models/; fi \
    && mkdir -p /out/app/models/pokemon

# ---------------------------------------------------------------------------
# Runtime: distroless, no shell, no package manager, runs as uid 65532.
# ---------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="legendary" \
      org.opencontainers.image.description="Train, track and serve the legendary-Pokémon random forest with MLflow, without Python" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

# Relative defaults (models/pokemon, data/pokemon) resolve against WORKDIR.
WORKDIR /app
COPY --from=builder /out/usr/local/bin/legendary /usr/local/bin/legendary
# Files stay root-owned and read-only for the runtime user: the server only
# reads them, and the Kubernetes manifests mount the root filesystem read-only.
COPY --from=builder /out/app /app

# Numeric, so Kubernetes' runAsNonRoot can verify it (the base's "nonroot").
USER 65532:65532
# MLflow's scoring protocol, the web page and OIP REST; OIP gRPC.
EXPOSE 8080 8081

ENTRYPOINT ["/usr/local/bin/legendary"]
CMD ["serve", "--host", "0.0.0.0"]
