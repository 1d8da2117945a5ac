//! A closed-loop load generator for the Open Inference Protocol over gRPC, as wrk is for the
//! HTTP routes: `CONNECTIONS` clients (one HTTP/2 connection each) send `ModelInfer` calls of
//! `ROWS` random rows as one `[ROWS, 6]` FP64 tensor in `raw_input_contents`, back to back,
//! for `SECS` seconds; prints `req/s p50_ms p99_ms errors`, the line `scripts/bench.sh`
//! reads. Not a test: the numbers are the benchmark's.
//!
//! Usage: `cargo run --release --example oip_grpc_load -- ADDR MODEL ROWS CONNECTIONS SECS`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a command-line tool: a failure ends it"
)]

use std::time::{Duration, Instant};

use legendary::server::grpc::proto::ModelInferRequest;
use legendary::server::grpc::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use legendary::server::grpc::proto::model_infer_request::InferInputTensor;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, model, rows, connections, secs] = args.as_slice() else {
        eprintln!("usage: oip_grpc_load ADDR MODEL ROWS CONNECTIONS SECS");
        std::process::exit(2);
    };
    let rows: usize = rows.parse().expect("ROWS");
    let connections: usize = connections.parse().expect("CONNECTIONS");
    let secs: f64 = secs.parse().expect("SECS");
    // The payloads of scripts/bench.sh: integers in [20, 160], from a fixed seed.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let values: Vec<u8> = (0..rows * 6)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (20.0 + (state % 141) as f64).to_le_bytes()
        })
        .collect();
    let request = ModelInferRequest {
        model_name: model.clone(),
        inputs: vec![InferInputTensor {
            name: "stats".to_owned(),
            datatype: "FP64".to_owned(),
            shape: vec![rows as i64, 6],
            ..Default::default()
        }],
        raw_input_contents: vec![values],
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("an address")
            .initial_stream_window_size(Some(4 * 1024 * 1024))
            .initial_connection_window_size(Some(16 * 1024 * 1024))
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connecting");
        let mut client =
            GrpcInferenceServiceClient::new(channel).max_decoding_message_size(usize::MAX);
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let started = Instant::now();
                match client.model_infer(request.clone()).await {
                    Ok(answer) if answer.get_ref().outputs.len() == 2 => {
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let started = Instant::now();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.expect("a client task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{:.2} {:.3} {:.3} {errors}",
        latencies.len() as f64 / elapsed,
        at(0.5),
        at(0.99)
    );
}
