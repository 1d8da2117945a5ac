//! What the model compiler may cost, and the defaults derived from the container's memory
//! limit: the compiler runs beside the server in the same pod, so together they must fit in
//! it, whatever a model file asks for.

use std::time::Duration;

/// Limits of one compilation (a child process) and of what the server accepts from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLimits {
    /// The child's address space (`RLIMIT_AS`), in bytes: a model that needs more to parse
    /// is refused as `oom` (`--compile-memory`).
    pub memory_bytes: u64,
    /// The child's CPU time (`RLIMIT_CPU`): past it the kernel stops the child (`cpu`).
    pub cpu: Duration,
    /// Wall-clock time before the parent kills the child (`deadline`); a hot-reload poll or
    /// start-up with less time left uses what is left.
    pub deadline: Duration,
    /// The largest compiled model the server reads, in bytes: the memory budget of one served
    /// model (`--model-max-bytes`). The server's own parse of it is linear in these bytes.
    pub max_model_bytes: u64,
    /// Files the child may have open (`RLIMIT_NOFILE`): a model directory is read file by file.
    pub max_open_files: u64,
}

/// What the limits default to without a container limit: 1 GiB of address space.
const UNCONFINED_MEMORY: u64 = 1 << 30;

impl SandboxLimits {
    /// Defaults for a process whose cgroup allows `container_memory` bytes (`None`: no
    /// limit). Measured (docs/operations.md): the bundled model compiles in a child whose
    /// peak address space is well under 64 MiB and is 2 MB compiled.
    ///
    /// - `memory_bytes`: half the container's limit (the server keeps the other half, with
    ///   the model it serves), at least 64 MiB; 1 GiB without a limit.
    /// - `max_model_bytes`: a sixteenth of the container's limit (20 MiB of a 320 MiB pod:
    ///   ten bundled models), at least 8 MiB; 64 MiB without a limit. A served model takes at
    ///   most a few times its compiled size in the server (one copy while a reload reads the
    ///   next), so this keeps two models and the parse inside the server's half.
    pub fn for_container(container_memory: Option<u64>) -> Self {
        let (memory_bytes, max_model_bytes) = match container_memory {
            Some(limit) => ((limit / 2).max(64 << 20), (limit / 16).max(8 << 20)),
            None => (UNCONFINED_MEMORY, 64 << 20),
        };
        Self {
            memory_bytes,
            cpu: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
            max_model_bytes,
            max_open_files: 64,
        }
    }

    /// Defaults for this process's container ([`container_memory`]).
    pub fn detect() -> Self {
        Self::for_container(container_memory())
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self::detect()
    }
}

/// The memory limit of this process's cgroup: v2 `memory.max`, else v1
/// `memory.limit_in_bytes`; `None` when unlimited or unknown.
pub fn container_memory() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    if let Some(v2) = read("/sys/fs/cgroup/memory.max") {
        return v2.trim().parse().ok();
    }
    // v1 writes a number near i64::MAX for "no limit".
    read("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        .and_then(|v1| v1.trim().parse::<u64>().ok())
        .filter(|&n| n < 1 << 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_container_limit() {
        let pod = SandboxLimits::for_container(Some(320 << 20));
        assert_eq!(pod.memory_bytes, 160 << 20);
        assert_eq!(pod.max_model_bytes, 20 << 20);
        let tiny = SandboxLimits::for_container(Some(32 << 20));
        assert_eq!(
            (tiny.memory_bytes, tiny.max_model_bytes),
            (64 << 20, 8 << 20)
        );
        let free = SandboxLimits::for_container(None);
        assert_eq!(
            (free.memory_bytes, free.max_model_bytes),
            (1 << 30, 64 << 20)
        );
    }
}
