//! Helpers shared by the tests that start `isolation-demo` and watch its processes.

/// The binary under test.
pub fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("isolation-demo")
}

/// The pids of the live children of `parent`, from `/proc/*/stat`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut children = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if parent_of(pid) == Some(parent) {
            children.push(pid);
        }
    }
    children
}

/// The parent pid of `pid`, if it still exists (the 4th field of `/proc/PID/stat`,
/// after the command name in parentheses).
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Checks that each of `alone`, hidden flags of `subcommand` typed by hand without
/// their partners, is refused by clap in its usual way (status 2, nothing run), and
/// that `subcommand --help` shows `--start-method` and none of `hidden`.
#[allow(dead_code)] // used by tests/queue.rs and tests/barrier.rs, not tests/race.rs
pub fn check_hidden_flags(subcommand: &str, alone: &[&[&str]], hidden: &[&str]) {
    use std::process::Command;

    for args in alone {
        let output = Command::new(binary())
            .arg(subcommand)
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with("error: the following required arguments were not provided"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
    let help = Command::new(binary())
        .args([subcommand, "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--start-method"), "{help}");
    for flag in hidden {
        assert!(!help.contains(flag), "{flag} in {help}");
    }
}
