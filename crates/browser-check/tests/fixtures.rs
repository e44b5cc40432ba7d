//! The checker, run on hand-made sites in `tests/fixtures/`: `good/` has nothing
//! wrong (and a report page that keeps the tooltip contract), `bad/` has one of each
//! problem. These need Debian's chromium at /usr/bin/chromium; without it they print
//! why and pass (CI installs it, so CI runs them).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn chromium_missing() -> bool {
    if Path::new(CHROMIUM).is_file() {
        return false;
    }
    eprintln!("skipped: no {CHROMIUM} (apt-get install -y chromium)");
    true
}

fn check(site: &Path, shots: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("browser-check")
        .unwrap()
        .arg(site)
        .arg("--shots")
        .arg(shots)
        .assert()
}

/// A site with nothing wrong passes, every task bar shows its tooltip, and there is
/// one screenshot per page plus one with a tooltip shown.
#[test]
fn a_sound_site_passes_with_a_screenshot_per_page() {
    if chromium_missing() {
        return;
    }
    let shots = tempfile::tempdir().unwrap();
    check(&fixture("good"), shots.path())
        .success()
        .stdout(predicate::str::contains(
            "ok   index.html (1 images, 6 links)",
        ))
        .stdout(predicate::str::contains(
            "ok   report.html (0 images, 0 links, 3 tooltips)",
        ))
        .stdout(predicate::str::contains("all 3 pages ok"));
    for shot in ["index.png", "other.png", "report.png", "report-tooltip.png"] {
        let png = std::fs::read(shots.path().join(shot)).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is not a PNG");
    }
}

/// Each kind of problem is found and named: a missing image, a link to a missing
/// page, a link to a missing anchor, a console error, a JavaScript exception, and a
/// report whose bar count or tooltip breaks the contract.
#[test]
fn every_kind_of_problem_is_found_and_named() {
    if chromium_missing() {
        return;
    }
    let shots = tempfile::tempdir().unwrap();
    check(&fixture("bad"), shots.path())
        .failure()
        .stdout(predicate::str::contains("FAIL index.html"))
        .stdout(predicate::str::contains("image did not load: missing.png"))
        .stdout(predicate::str::contains(
            "broken link: nowhere.html (no such file)",
        ))
        .stdout(predicate::str::contains(
            "broken link: other.html#nope (no id \"nope\" on other.html)",
        ))
        .stdout(predicate::str::contains("other.html#here").not())
        .stdout(predicate::str::contains(
            "console error: something went wrong",
        ))
        .stdout(predicate::str::contains(
            "JavaScript error: ReferenceError: undefinedFunction is not defined",
        ))
        .stdout(predicate::str::contains("ok   other.html"))
        .stdout(predicate::str::contains("FAIL report.html"))
        .stdout(predicate::str::contains(
            "2 elements have data-task, but <body data-task-count=\"3\">",
        ))
        .stdout(predicate::str::contains(
            "hovering bar data-task=\"1\" (fib(31)) leaves #tooltip hidden",
        ))
        .stderr(predicate::str::diff(
            "Error: 2 of 3 pages have problems (listed above)\n",
        ));
}

/// A folder that is not there is one line that says what to do, before any browser
/// starts (so this runs without chromium too).
#[test]
fn a_missing_site_is_one_line() {
    let missing = fixture("no-such-site");
    Command::cargo_bin("browser-check")
        .unwrap()
        .arg(&missing)
        .assert()
        .failure()
        .stdout("")
        .stderr(format!(
            "Error: {} is not a folder (build the book first: mdbook build docs)\n",
            missing.display()
        ));
}

/// A missing browser is one line that names the package to install.
#[test]
fn a_missing_browser_is_one_line() {
    let shots = tempfile::tempdir().unwrap();
    check_with_browser(&fixture("good"), shots.path(), "/nonexistent/chromium")
        .failure()
        .stderr(predicate::str::diff(
            "Error: no browser at /nonexistent/chromium (install it with: apt-get install -y chromium)\n",
        ));
}

fn check_with_browser(site: &Path, shots: &Path, browser: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("browser-check")
        .unwrap()
        .arg(site)
        .arg("--shots")
        .arg(shots)
        .args(["--chromium", browser])
        .assert()
}
