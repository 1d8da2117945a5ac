//! The compiler's side: it confines itself before it reads a byte of the model, then reads
//! and validates the model directory with the same readers as ever, and writes the compiled
//! form ([`crate::model::to_compiled`]) to stdout. A refusal is one JSON line on stderr and
//! [`EXIT_REFUSED`]; running out of memory or CPU ends it by the kernel's hand, which the
//! parent tells apart by the signal.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use rustix::process::{Resource, Rlimit, setrlimit};

use super::{Cause, Refusal, SandboxLimits};
use crate::model::ReadLimits;

/// The child's exit code when it refused the model (its reason is on stderr).
pub(super) const EXIT_REFUSED: u8 = 3;

/// Sets the limits on this process: address space, CPU seconds (soft: `SIGXCPU`, then
/// `SIGKILL` a second later), open files, no core file, no file writes, no new privileges,
/// and death with the parent. Never above a hard limit this process inherited (`prlimit`,
/// a container runtime): lowering is allowed, raising is not.
fn confine(limits: &SandboxLimits) -> std::io::Result<()> {
    let set = |resource, soft: u64, hard: u64| {
        setrlimit(
            resource,
            Rlimit {
                current: Some(effective(resource, soft)),
                maximum: Some(effective(resource, hard)),
            },
        )
    };
    set(Resource::Core, 0, 0)?;
    set(Resource::Fsize, 0, 0)?;
    set(
        Resource::Nofile,
        limits.max_open_files,
        limits.max_open_files,
    )?;
    let cpu = limits.cpu.as_secs().max(1);
    set(Resource::Cpu, cpu, cpu + 1)?;
    set(Resource::As, limits.memory_bytes, limits.memory_bytes)?;
    rustix::thread::set_no_new_privs(true)?;
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    Ok(())
}

/// `wanted`, or the hard limit of `resource` this process has (and a child inherits), if
/// lower.
pub(super) fn effective(resource: Resource, wanted: u64) -> u64 {
    rustix::process::getrlimit(resource)
        .maximum
        .map_or(wanted, |hard| wanted.min(hard))
}

/// Compiles the model directory at `dir` within `limits`; the exit code tells the parent
/// how it went.
pub(crate) fn run(dir: &Path, limits: &SandboxLimits) -> ExitCode {
    match confine(limits).map_err(|e| Refusal {
        cause: Cause::Crash,
        message: format!("the model compiler could not confine itself: {e}"),
    }) {
        Ok(()) => match compile(dir, limits) {
            Ok(bytes) => {
                let mut out = std::io::stdout().lock();
                match out.write_all(&bytes).and_then(|()| out.flush()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(_) => ExitCode::FAILURE,
                }
            }
            Err(refusal) => refuse(&refusal),
        },
        Err(refusal) => refuse(&refusal),
    }
}

fn refuse(refusal: &Refusal) -> ExitCode {
    let line = serde_json::to_string(refusal).unwrap_or_default();
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    ExitCode::from(EXIT_REFUSED)
}

fn compile(dir: &Path, limits: &SandboxLimits) -> Result<Vec<u8>, Refusal> {
    let invalid = |message: String| Refusal {
        cause: Cause::Invalid,
        message,
    };
    // A model file may be larger than its compiled form (pickles and skops files are): the
    // address-space limit, not a byte cap, decides whether it can be read.
    let read_limits = ReadLimits {
        max_model_bytes: limits.memory_bytes,
        ..ReadLimits::for_budget(limits.max_model_bytes)
    };
    let read =
        crate::model::read_dir_with(dir, &read_limits).map_err(|e| invalid(e.to_string()))?;
    let bytes = crate::model::to_compiled(&read).map_err(|e| invalid(e.to_string()))?;
    if bytes.len() as u64 > limits.max_model_bytes {
        return Err(Refusal {
            cause: Cause::Oom,
            message: format!(
                "the model compiles to {}, over the {} one served model may take; raise --model-max-bytes (LEGENDARY_MODEL_MAX_BYTES) to serve it",
                mib(bytes.len() as u64),
                mib(limits.max_model_bytes)
            ),
        });
    }
    Ok(bytes)
}

/// Bytes in MiB, for people.
pub(super) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}
