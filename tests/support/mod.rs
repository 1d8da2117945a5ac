//! Helpers shared by integration tests (`mod support;`).

#![allow(dead_code, unreachable_pub)]

pub mod mlflow_server;
