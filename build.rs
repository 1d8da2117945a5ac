//! Generates the Open Inference Protocol's gRPC messages and service from `proto/` with protox
//! (a protobuf compiler in Rust: nothing to install besides the crates).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const PROTO: &str = "proto/grpc_predict_v2.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    tonic_prost_build::configure()
        // The client is for the tests (and anyone embedding the crate); the server is `serve`'s.
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
