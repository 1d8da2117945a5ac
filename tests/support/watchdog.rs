//! A child server process (mlflow, garage) in its own process group, stopped whole on drop and
//! also when the test process dies: a watchdog shell waits for its stdin to close, then TERMs
//! and later KILLs the group, so no server outlives a crashed or aborted test run.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running watched process.
pub struct Watched {
    child: Child,
    // Closing this pipe tells the watchdog to stop the process group.
    watchdog: Option<ChildStdin>,
}

/// A command that runs `program` under the watchdog; add arguments, environment, working
/// directory and output files, then [`Watched::spawn`] it.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new("sh");
    // `exec` makes the program itself the child we watch, so a crash at start-up is seen at once.
    command
        .arg("-c")
        .arg(concat!(
            "exec 3<&0 0</dev/null; ",
            "{ read -r _ <&3; trap '' TERM; kill -TERM 0; sleep 5; kill -KILL 0; } & ",
            r#"exec "$@" 3<&-"#
        ))
        .arg("watchdog")
        .arg(program)
        .process_group(0)
        .stdin(Stdio::piped());
    command
}

impl Watched {
    /// Spawns a command made by [`command`].
    pub fn spawn(mut command: Command, what: &str) -> Self {
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {what}: {error}"));
        let watchdog = child.stdin.take();
        Self { child, watchdog }
    }

    /// The exit status, if the process has already exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let pgid = self.child.id();
        drop(self.watchdog.take());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Workers and the watchdog that outlive the main process go now.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
    }
}
