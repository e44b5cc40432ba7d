//! `browser-check`: open every page of a built site in headless Chromium, and fail
//! on what a reader would see broken.
//!
//! ```text
//! mdbook build docs
//! cargo run -p browser-check -- docs/book          # or simply scripts/check-book.sh
//! ```
//!
//! A page fails on an image that did not load, a link to a page or anchor of the site
//! that does not exist, a JavaScript exception, a `console.error`, or a resource the
//! browser could not load. A page whose `<body>` has `data-task-count="N"` (the
//! interactive `report.html`) must also have N task bars (`data-task`), and hovering
//! each must show `#tooltip` with the bar's `data-tag`. One screenshot per page, and
//! one with a tooltip shown, go to `--shots`.
//!
//! # Layout
//! - `serve.rs`: the site is served on 127.0.0.1, as it would be once published.
//! - `check.rs`: one page in the browser, and the links between pages.
//! - `probe.js`, `tooltips.js`: the scripts that run inside each page.
//!
//! Linux: Chromium runs with `--no-sandbox` (CI runs as root) and a new, empty profile
//! that is deleted at the end; background networking is off, since the check is
//! offline.

mod check;
mod serve;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use headless_chrome::{Browser, LaunchOptions};

use check::{Errors, PageReport};

/// Open every HTML page under SITE in headless Chromium; fail on a missing image, a
/// broken internal link, a JavaScript or console error, or (on a page whose body has
/// data-task-count) a task bar without its tooltip. Saves one screenshot per page.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The folder of a built site, e.g. docs/book after `mdbook build docs`.
    site: PathBuf,
    /// Where the screenshots go (made if missing) [default: SITE/screenshots].
    #[arg(long)]
    shots: Option<PathBuf>,
    /// The Chromium binary (Debian's `chromium` package installs it here).
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// Seconds one page may take to load before the check gives up on it (1 to 600).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    page_timeout: u64,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let site = &args.site;
    if !site.is_dir() {
        bail!(
            "{} is not a folder (build the book first: mdbook build docs)",
            site.display()
        );
    }
    let shots = args
        .shots
        .clone()
        .unwrap_or_else(|| site.join("screenshots"));
    let pages = html_pages(site, &shots)?;
    if pages.is_empty() {
        bail!("{} holds no .html page", site.display());
    }
    std::fs::create_dir_all(&shots)
        .with_context(|| format!("cannot make the screenshot folder {}", shots.display()))?;
    if !args.chromium.is_file() {
        bail!(
            "no browser at {} (install it with: apt-get install -y chromium)",
            args.chromium.display()
        );
    }

    let base = serve::start(site).context("cannot serve the site on 127.0.0.1")?;
    let profile = tempfile::Builder::new()
        .prefix("browser-check-profile-")
        .tempdir()
        .context("cannot make a temporary folder for the browser's profile")?;
    let browser = launch(&args.chromium, profile.path())?;
    let outcome = check_pages(&browser, site, &base, &pages, &shots, args.page_timeout);
    // Dropping the browser kills Chromium's main process; its helpers may still be
    // writing to the profile for a moment, so the folder's removal is retried.
    drop(browser);
    remove_profile(profile);
    let reports = outcome?;

    let mut failed = 0;
    for (page, report) in &reports {
        let tooltips = report
            .tooltips
            .map(|n| format!(", {n} tooltips"))
            .unwrap_or_default();
        let status = if report.problems.is_empty() {
            "ok  "
        } else {
            "FAIL"
        };
        println!(
            "{status} {page} ({} images, {} links{tooltips})",
            report.images,
            report.links.len()
        );
        for problem in &report.problems {
            println!("       {problem}");
        }
        failed += usize::from(!report.problems.is_empty());
    }
    println!("screenshots: {}", shots.display());
    if failed > 0 {
        bail!(
            "{failed} of {} pages have problems (listed above)",
            pages.len()
        );
    }
    println!("all {} pages ok", pages.len());
    Ok(())
}

/// Visits every page in one tab, then checks the links between them.
fn check_pages(
    browser: &Browser,
    site: &Path,
    base: &str,
    pages: &[String],
    shots: &Path,
    page_timeout: u64,
) -> Result<BTreeMap<String, PageReport>> {
    let tab = browser.new_tab().context("cannot open a tab")?;
    tab.set_default_timeout(Duration::from_secs(page_timeout));
    let errors = Errors::default();
    errors
        .attach(&tab)
        .context("cannot listen to the tab's errors")?;

    let mut reports: BTreeMap<String, PageReport> = BTreeMap::new();
    for page in pages {
        let shot = shots.join(shot_name(page));
        let report = check::visit(&tab, &errors, &format!("{base}{page}"), &shot)
            .with_context(|| format!("{page}: the browser could not check it"))?;
        reports.insert(page.clone(), report);
    }
    for (page, broken) in check::broken_links(site, base, &reports) {
        if let Some(report) = reports.get_mut(&page) {
            report.problems.extend(broken);
        }
    }

    Ok(reports)
}

/// Removes the browser's profile folder, trying again for up to two seconds while
/// Chromium's helper processes finish writing to it.
fn remove_profile(profile: tempfile::TempDir) {
    let path = profile.keep();
    for _ in 0..20 {
        if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "warning: could not remove the browser profile {}",
        path.display()
    );
}

/// Starts Chromium headless, offline, with a new, empty profile in `profile`.
fn launch(chromium: &Path, profile: &Path) -> Result<Browser> {
    // Without these, Chromium keeps trying the network (updates, QUIC, sync): on a
    // closed network that is a flood of refused connections in the log.
    let quiet = [
        "--disable-quic",
        "--disable-component-update",
        "--disable-background-networking",
        "--disable-sync",
        "--no-first-run",
    ];
    let options = LaunchOptions {
        path: Some(chromium.to_path_buf()),
        headless: true,
        // CI runs as root, where Chromium's sandbox refuses to start.
        sandbox: false,
        enable_gpu: false,
        user_data_dir: Some(profile.to_path_buf()),
        window_size: Some((1280, 900)),
        idle_browser_timeout: Duration::from_secs(300),
        args: quiet.iter().map(OsStr::new).collect(),
        ..LaunchOptions::default()
    };
    Browser::new(options).with_context(|| format!("cannot start {}", chromium.display()))
}

/// Every `.html` file under `site`, as a `/`-separated path relative to it, sorted;
/// the screenshot folder is left out.
fn html_pages(site: &Path, shots: &Path) -> Result<Vec<String>> {
    let mut pages = Vec::new();
    let mut folders = vec![site.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                if path != shots {
                    folders.push(path);
                }
            } else if path.extension() == Some(OsStr::new("html")) {
                let relative = path.strip_prefix(site).unwrap_or(&path);
                pages.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    pages.sort();
    Ok(pages)
}

/// `sub/page.html` → `sub__page.png`.
fn shot_name(page: &str) -> String {
    format!("{}.png", page.trim_end_matches(".html").replace('/', "__"))
}
