//! Tests of the library and of the real application (`legendary::server::app`) served in this
//! process on 127.0.0.1:0: the scoring protocol against MLflow's observed corpus, properties,
//! limits, errors, the web routes (and the page in headless Chromium, ignored by default),
//! metrics, readiness, in-process shutdown, and the bundled model's reproducibility.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: a failed step is a failed test"
)]

mod support;

mod in_process {
    mod browser;
    mod calibrated;
    mod corpus;
    mod corpus_server;
    mod errors;
    mod explain;
    mod foundation;
    mod grpc;
    mod http_fuzz;
    mod layers;
    mod limits;
    mod metrics;
    mod monitoring;
    mod oip;
    mod payload_log;
    mod readiness;
    mod scoring_props;
    mod security;
    mod shutdown;
    mod web;
}
