# syntax=docker/dockerfile:1
#
# legendary: one static-ish Rust binary (links glibc only; TLS is rustls, so no
# OpenSSL) plus the model directory and the data package.
#
#   docker build -t legendary .
#   docker run --rm -p 8080:8080 legendary          # serve models/pokemon
#   docker run --rm legendary predict --help        # any other subcommand
#
# Image size budget: target < 40 MB uncompressed. These are ESTIMATES; no
# container engine was available where this file was written, so the image has
# not been built or measured:
#   gcr.io/distroless/cc-debian12 base (glibc, libgcc, ca-certs, tzdata) ~ 23 MB
#   legendary release binary, symbols stripped (axum, tokio, reqwest+rustls/
#     aws-lc, smartcore, clap)                                        ~ 10-14 MB
#   data/pokemon (CSV data package, ~1 000 rows)                          < 1 MB
#   models/pokemon (one serialized forest; 300 trees x depth 16 is the
#     worst case of the example grid)                                   ~ 1-3 MB
#   total                                                              ~ 35-40 MB
# Check after building with: docker image ls legendary

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------
# Builder. Debian bookworm to match the runtime's glibc (distroless cc-debian12
# is bookworm; a binary built against a newer glibc, e.g. trixie's, may not run
# there). rust:*-slim already ships gcc and libc6-dev, which is all the C code
# in the tree needs: aws-lc-sys (rustls' crypto) builds with its cc builder on
# x86_64/aarch64 Linux, without cmake, perl or Go.
# ---------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-slim-bookworm AS builder

WORKDIR /build

# Strip symbols without touching Cargo.toml's release profile.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_TERM_COLOR=never

# 1. Dependency layer: build every dependency against a dummy crate so that
#    editing src/ does not recompile the ~250 crates in Cargo.lock. This layer
#    is rebuilt only when Cargo.toml or Cargo.lock change. (If the crate ever
#    grows [[bench]]/[[example]]/build.rs targets, add dummies for them here or
#    switch to cargo-chef.)
COPY Cargo.toml Cargo.lock ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    mkdir -p src \
    && echo 'fn main() {}' > src/main.rs \
    && echo '//! placeholder' > src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src \
       target/release/legendary target/release/deps/legendary-* \
       target/release/deps/liblegendary-* target/release/.fingerprint/legendary-*

# 2. The real build. The dummy's fingerprints were removed above and the
#    sources are touched, so cargo cannot mistake them for the dummy's.
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    find src -name '*.rs' -exec touch {} + \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/legendary /out/usr/local/bin/legendary

# 3. Runtime files. models/ may not exist in the build context (a fresh clone
#    before the first `legendary train`); create it empty in that case so the
#    COPY into the runtime stage never fails. The server then starts unready
#    (/ping 503) until a model is loaded from MLflow.
#    (The whole context, minus .dockerignore, is copied after the compile
#    steps, so it never invalidates the cached dependency or build layers.)
COPY . /context
RUN mkdir -p /out/app \
    && cp -a /context/data /out/app/data \
    && if [ -d /context/models ]; then cp -a /context/models /out/app/models; \
       else mkdir -p /out/app/models/pokemon; fi \
    && rm -rf /context

# ---------------------------------------------------------------------------
# Runtime: distroless, no shell, no package manager, runs as uid 65532.
# ---------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot

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
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/legendary"]
CMD ["serve", "--host", "0.0.0.0"]
