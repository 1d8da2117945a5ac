//! Untrusted models are parsed in a child process, never in the server: `legendary` runs
//! itself as `legendary model compile`, which confines itself (address space, CPU seconds,
//! open files; see [`child`]) before it reads a byte, and writes the validated model in its
//! compiled form. The parent enforces a wall-clock deadline (the child is killed on expiry,
//! or when the caller gives up), reads the answer within a byte bound, and parses only that
//! form ([`crate::model::from_compiled`]), whose cost is linear in its bytes.
//!
//! Whatever a model file does to its reader (expand YAML aliases, multiply references,
//! loop), it does it to a child that the kernel stops; the server keeps serving what it
//! served. A refused model comes back as a [`CompileError`] with a [`Cause`] for metrics.

pub(crate) mod child;
mod limits;

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;
use tokio::time::Instant;

pub use limits::{SandboxLimits, container_memory};

use crate::model::{ModelDir, ReadLimits};

/// Why a model was not compiled, as `/metrics` counts it
/// (`legendary_model_compile_failures_total{cause}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// It needed more memory than the child may have, or compiles larger than a served
    /// model may be.
    Oom,
    /// It used up the child's CPU seconds.
    Cpu,
    /// It was still running at the wall-clock deadline, and was killed.
    Deadline,
    /// The files are not a model this build serves (the message says why).
    Invalid,
    /// The child ended otherwise (a signal, a panic): a bug, or the machine.
    Crash,
}

impl Cause {
    /// Every cause, for metrics that show zeros.
    pub const ALL: [Self; 5] = [
        Self::Oom,
        Self::Cpu,
        Self::Deadline,
        Self::Invalid,
        Self::Crash,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oom => "oom",
            Self::Cpu => "cpu",
            Self::Deadline => "deadline",
            Self::Invalid => "invalid",
            Self::Crash => "crash",
        }
    }
}

/// What the child writes on stderr when it refuses a model.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Refusal {
    cause: Cause,
    message: String,
}

/// A model the sandbox did not turn into a served model.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// Why, as a class.
    pub cause: Cause,
    /// Why, for people.
    pub message: String,
}

impl CompileError {
    fn new(cause: Cause, message: impl Into<String>) -> Self {
        Self {
            cause,
            message: message.into(),
        }
    }
}

/// How to compile models: the program to run (this binary) and its limits.
#[derive(Debug, Clone)]
pub struct Sandbox {
    program: PathBuf,
    limits: SandboxLimits,
}

/// The most of the child's stderr kept: its refusal line, or a panic's first lines.
const MAX_STDERR: u64 = 16 << 10;

impl Sandbox {
    /// Compiles with `program` (a `legendary` binary) within `limits`.
    pub fn new(program: impl Into<PathBuf>, limits: SandboxLimits) -> Self {
        Self {
            program: program.into(),
            limits,
        }
    }

    /// Compiles with this very binary: `/proc/self/exe` where there is one (it still names
    /// the running binary after the file was replaced or deleted by an upgrade), else its path.
    ///
    /// # Errors
    /// When the running executable cannot be found.
    pub fn this_binary(limits: SandboxLimits) -> std::io::Result<Self> {
        let proc_exe = Path::new("/proc/self/exe");
        let program = if proc_exe.exists() {
            proc_exe.to_path_buf()
        } else {
            std::env::current_exe()?
        };
        Ok(Self::new(program, limits))
    }

    /// Its limits.
    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Compiles the model directory `dir` in a child, by `deadline` at the latest (and
    /// within [`SandboxLimits::deadline`]), and reads the result.
    ///
    /// # Errors
    /// A [`CompileError`] saying why, with its [`Cause`].
    pub async fn compile(&self, dir: &Path, deadline: Instant) -> Result<ModelDir, CompileError> {
        let deadline = deadline.min(Instant::now() + self.limits.deadline);
        let bytes = self.run_child(dir, deadline).await?;
        let budget = self.limits.max_model_bytes;
        tokio::task::spawn_blocking(move || {
            crate::model::from_compiled(&bytes, &ReadLimits::for_budget(budget))
        })
        .await
        .map_err(|e| CompileError::new(Cause::Crash, format!("reading the compiled model: {e}")))?
        .map_err(|e| CompileError::new(Cause::Invalid, format!("the compiled model: {e}")))
    }

    async fn run_child(&self, dir: &Path, deadline: Instant) -> Result<Vec<u8>, CompileError> {
        let l = &self.limits;
        let mut process = tokio::process::Command::new(&self.program)
            .args(["model", "compile", "--dir"])
            .arg(dir)
            .arg("--memory-bytes")
            .arg(l.memory_bytes.to_string())
            .arg("--cpu-seconds")
            .arg(l.cpu.as_secs().max(1).to_string())
            .arg("--max-model-bytes")
            .arg(l.max_model_bytes.to_string())
            .arg("--max-open-files")
            .arg(l.max_open_files.to_string())
            // The child needs no credentials, so it gets none.
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                CompileError::new(
                    Cause::Crash,
                    format!(
                        "cannot start the model compiler {}: {e}",
                        self.program.display()
                    ),
                )
            })?;
        let (Some(stdout), Some(stderr)) = (process.stdout.take(), process.stderr.take()) else {
            return Err(CompileError::new(
                Cause::Crash,
                "the model compiler has no pipes",
            ));
        };
        let cap = l.max_model_bytes;
        // Stderr is read on its own, so a child that fills one pipe never blocks the other.
        let stderr = tokio::spawn(async move {
            let mut err = Vec::new();
            let _ = stderr.take(MAX_STDERR).read_to_end(&mut err).await;
            err
        });
        let work = async {
            let mut out = Vec::new();
            stdout.take(cap + 1).read_to_end(&mut out).await?;
            if out.len() as u64 > cap {
                return Ok((out, None));
            }
            process.wait().await.map(|status| (out, Some(status)))
        };
        // Every early return drops `process`, which kills it (`kill_on_drop`).
        let Ok(result) = tokio::time::timeout_at(deadline, work).await else {
            return Err(CompileError::new(
                Cause::Deadline,
                "compiling the model did not finish by its deadline; the model compiler was killed (--compile-timeout)",
            ));
        };
        let (out, status) = result.map_err(|e| {
            CompileError::new(Cause::Crash, format!("talking to the model compiler: {e}"))
        })?;
        let Some(status) = status else {
            return Err(CompileError::new(
                Cause::Oom,
                format!(
                    "the compiled model is over {}; raise --model-max-bytes to serve it",
                    child::mib(cap)
                ),
            ));
        };
        let err = stderr.await.unwrap_or_default();
        if status.success() {
            return Ok(out);
        }
        Err(classify(status, &err, &self.limits))
    }
}

/// Why the child ended without a model: its own refusal, or the kernel's signal.
fn classify(
    status: std::process::ExitStatus,
    stderr: &[u8],
    limits: &SandboxLimits,
) -> CompileError {
    let text = String::from_utf8_lossy(stderr);
    if status.code() == Some(i32::from(child::EXIT_REFUSED))
        && let Some(refusal) = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Refusal>(l).ok())
    {
        return CompileError::new(refusal.cause, refusal.message);
    }
    const SIGABRT: i32 = 6;
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    match status.signal() {
        // An allocation the address-space limit refused: Rust's handler says so, then aborts.
        Some(SIGABRT) if text.contains("memory allocation of") => CompileError::new(
            Cause::Oom,
            format!(
                "parsing the model needed more than the compiler's {} of memory; raise --compile-memory (LEGENDARY_COMPILE_MEMORY) if the model is legitimate",
                child::mib(child::effective(
                    rustix::process::Resource::As,
                    limits.memory_bytes
                ))
            ),
        ),
        // Soft CPU limit (SIGXCPU), or the hard one a second later (SIGKILL; the parent
        // kills only at the deadline, reported above).
        Some(SIGXCPU | SIGKILL) => CompileError::new(
            Cause::Cpu,
            format!(
                "parsing the model used up the compiler's {} s of CPU time; raise --compile-cpu (LEGENDARY_COMPILE_CPU) if the model is legitimate",
                limits.cpu.as_secs()
            ),
        ),
        signal => {
            let first = text.lines().take(3).collect::<Vec<_>>().join(" / ");
            let how = signal.map_or_else(
                || format!("exit code {}", status.code().unwrap_or(-1)),
                |s| format!("signal {s}"),
            );
            CompileError::new(
                Cause::Crash,
                format!(
                    "the model compiler ended with {how}: {}",
                    first.chars().take(300).collect::<String>()
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Duration;

    use super::*;

    /// A sandbox whose "compiler" is the shell script `body`: how the parent reads each way
    /// a child can end, including those no model file should be able to cause.
    fn scripted(body: &str, deadline: Duration) -> (tempfile::TempDir, Sandbox) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("compiler");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        let limits = SandboxLimits {
            deadline,
            max_model_bytes: 1 << 20,
            cpu: Duration::from_secs(1),
            ..SandboxLimits::for_container(None)
        };
        (dir, Sandbox::new(path, limits))
    }

    async fn outcome(body: &str) -> (Cause, String, Duration) {
        outcome_within(body, Duration::from_millis(500)).await
    }

    async fn outcome_within(body: &str, deadline: Duration) -> (Cause, String, Duration) {
        let (dir, sandbox) = scripted(body, deadline);
        let started = std::time::Instant::now();
        let far = Instant::now() + Duration::from_secs(60);
        match sandbox.compile(dir.path(), far).await {
            Ok(_) => panic!("{body}: compiled"),
            Err(e) => (e.cause, e.message, started.elapsed()),
        }
    }

    #[tokio::test]
    async fn each_way_a_compiler_ends_is_classified() {
        let (cause, message, _) =
            outcome(r#"echo '{"cause":"invalid","message":"not a forest"}' >&2; exit 3"#).await;
        assert_eq!((cause, message.as_str()), (Cause::Invalid, "not a forest"));

        let (cause, message, _) =
            outcome("echo 'memory allocation of 64 bytes failed' >&2; kill -ABRT $$").await;
        assert_eq!(cause, Cause::Oom, "{message}");
        assert!(message.contains("--compile-memory"), "{message}");

        // Killed at the wall-clock deadline (500 ms), not after the script's 30 s.
        let (cause, message, took) = outcome("exec sleep 30").await;
        assert_eq!(cause, Cause::Deadline, "{message}");
        assert!(took < Duration::from_secs(5), "{took:?}");

        // Its own CPU limit, as the real compiler sets it: SIGXCPU.
        let (cause, message, _) =
            outcome_within("ulimit -t 1; while :; do :; done", Duration::from_secs(20)).await;
        assert_eq!(cause, Cause::Cpu, "{message}");
        assert!(message.contains("--compile-cpu"), "{message}");

        // An answer larger than the budget: stopped as it passes the cap, not read whole.
        let (cause, message, took) = outcome("exec yes").await;
        assert_eq!(cause, Cause::Oom, "{message}");
        assert!(message.contains("--model-max-bytes"), "{message}");
        assert!(took < Duration::from_secs(5), "{took:?}");

        let (cause, message, _) = outcome("echo 'thread main panicked' >&2; exit 101").await;
        assert_eq!(cause, Cause::Crash, "{message}");
        assert!(
            message.contains("exit code 101") && message.contains("panicked"),
            "{message}"
        );

        // Not the compiled form at all.
        let (cause, message, _) = outcome("echo '{\"format\": 1}'").await;
        assert_eq!(cause, Cause::Invalid, "{message}");
    }
}
