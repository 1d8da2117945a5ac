//! Runs the real `legendary` binary on 127.0.0.1:0 with JSON logs and reads its log lines.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A running `legendary serve`.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    pub log: Vec<String>,
}

impl Server {
    /// Starts `legendary --log-format FORMAT serve --port 0 ARGS` in the repository root and
    /// waits until the model is loaded.
    pub fn start(format: &str, rust_log: &str, args: &[&str]) -> Self {
        Self::start_in(
            Command::new(env!("CARGO_BIN_EXE_legendary")),
            format,
            rust_log,
            args,
        )
    }

    /// Like [`Server::start`] (JSON logs), run from `dir` instead of the repository.
    pub fn start_in_dir(dir: &std::path::Path, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_legendary"));
        command.current_dir(dir);
        Self::start_in(command, "json", "info", args)
    }

    /// Like [`Server::start`] (JSON logs), with extra environment variables.
    pub fn start_with_env(envs: &[(&str, &str)], args: &[&str]) -> Self {
        Self::start_with_env_at(envs, "info", args)
    }

    /// Like [`Server::start_with_env`], logging at `rust_log`.
    pub fn start_with_env_at(envs: &[(&str, &str)], rust_log: &str, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_legendary"));
        command.envs(envs.iter().copied());
        Self::start_in(command, "json", rust_log, args)
    }

    /// Like [`Server::start`], with at most `files` open file descriptors (`prlimit`).
    pub fn start_with_file_limit(files: u64, args: &[&str]) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={files}:{files}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_legendary"));
        Self::start_in(command, "json", "info", args)
    }

    fn start_in(mut command: Command, format: &str, rust_log: &str, args: &[&str]) -> Self {
        if command.get_current_dir().is_none() {
            command.current_dir(env!("CARGO_MANIFEST_DIR"));
        }
        let mut child = command
            .args([
                "--log-format",
                format,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--grpc-port",
                "0",
            ])
            .args(args)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            log: Vec::new(),
        };
        let listening = server.wait_for("listening");
        server.addr = address_in(&listening);
        server.wait_for("model loaded");
        server
    }

    /// Reads lines until one contains `needle`; panics after 60 s.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no log line with '{needle}' ({e:?}); log: {:#?}", self.log),
            }
        }
    }

    /// The process id, for `kill`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as Kubernetes does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (at most `limit`) and reads the rest of its log.
    pub fn wait(mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("still running after {limit:?}"),
            }
        }
        let status = self.child.wait().unwrap();
        (status, std::mem::take(&mut self.log))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only when a test failed before `wait`: never leave the server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `addr` of the "listening" line, in either log format.
fn address_in(line: &str) -> SocketAddr {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["addr"].as_str().unwrap().parse().unwrap();
    }
    let start = line.find("addr=").unwrap() + "addr=".len();
    line[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
