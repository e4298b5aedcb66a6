//! One hang guard per test binary. Tests assert outcomes, never how long something took (timing figures belong to
//! the benchmarks): a deadline that fires late is still a deadline, and a loaded machine must not fail a test. What a
//! test cannot assert is an outcome that never comes: a deadline that never fires, a timeout that never ends a
//! lookup, a child process that never exits would hang `cargo test` (and CI with it) instead of failing it.
//!
//! So the first test that starts something able to hang arms a watchdog for the whole process, with a limit far
//! beyond the binary's whole run, even in a debug build on a busy machine: when it rings, something hangs, and the
//! process ends with a message saying so, killing first the process groups the tests registered.
//!
//! Shared by host-harness's test binaries and tests/tests/integration (which includes this very file).

#![allow(dead_code)] // each test crate uses a different part of this module

use std::io::Write as _;
use std::process::Command;
use std::sync::{Mutex, Once};
use std::time::Duration;

/// How long a test binary may run at all before it is taken for hung.
pub const LIMIT: Duration = Duration::from_secs(30 * 60);

/// Process groups to kill when the watchdog rings: children in a group of their own outlive the test process.
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Arms the watchdog of this test process (once; later calls do nothing).
pub fn arm() {
    static ARMED: Once = Once::new();
    ARMED.call_once(|| {
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(|| {
                std::thread::sleep(LIMIT);
                // Straight to standard error: the test harness captures eprintln! per test.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nwatchdog: {} still running after {LIMIT:?}, far beyond any whole run of it: something hangs \
                     (the tests still running are the ones not reported above); aborting",
                    std::env::current_exe()
                        .map(|exe| exe.display().to_string())
                        .unwrap_or_default()
                );
                for group in GROUPS.lock().unwrap_or_else(|poison| poison.into_inner()).iter() {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{group}")])
                        .status();
                }
                std::process::abort();
            })
            .expect("start the watchdog thread");
    });
}

/// Registers the process group `group` (a child spawned with `process_group(0)`: its PID) to be killed if the
/// watchdog rings while the returned guard lives.
pub fn kill_group_on_hang(group: u32) -> GroupGuard {
    arm();
    GROUPS
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .push(group);
    GroupGuard(group)
}

/// Unregisters its process group when dropped (the child has been waited for).
pub struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        GROUPS
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .retain(|group| *group != self.0);
    }
}
