//! Visiting one page in the browser and writing down what is wrong with it.
//!
//! For each page, in this order:
//! 1. clear the errors the listener has collected, and navigate;
//! 2. run `probe.js`, which waits for the page and its images, and reads back the
//!    broken images, every link (resolved by the browser) and every `id`;
//! 3. if `<body>` has `data-task-count`, run `tooltips.js`, then hover the middle bar
//!    with the real (DevTools) mouse and screenshot the tooltip;
//! 4. take the page's screenshot, and take the JavaScript exceptions, console errors
//!    and failed loads the listener saw.
//!
//! Links are checked after every page has been visited (`broken_links`), because a
//! link to `page.html#part` needs the ids of a page that may come later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use headless_chrome::Tab;
use headless_chrome::browser::tab::point::Point;
use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::protocol::cdp::Runtime::{ConsoleAPICalledEventTypeOption, RemoteObject};
use headless_chrome::protocol::cdp::types::Event;
use serde::Deserialize;

use crate::serve;

const PROBE: &str = include_str!("probe.js");
const TOOLTIPS: &str = include_str!("tooltips.js");

/// What one visit found.
#[derive(Debug, Default)]
pub struct PageReport {
    /// Images on the page.
    pub images: usize,
    /// Task bars that showed their tooltip (report pages only).
    pub tooltips: Option<usize>,
    /// Every problem, one line each.
    pub problems: Vec<String>,
    /// Absolute URLs of every `<a href>`.
    pub links: Vec<String>,
    /// Every `id` (and `<a name>`) on the page: the anchors a link may point to.
    pub ids: BTreeSet<String>,
}

/// What `probe.js` returns.
#[derive(Debug, Deserialize)]
struct Probe {
    images: usize,
    broken_images: Vec<String>,
    links: Vec<String>,
    ids: Vec<String>,
    task_count: Option<String>,
}

/// What `tooltips.js` returns.
#[derive(Debug, Deserialize)]
struct Tooltips {
    bars: usize,
    shown: usize,
    problems: Vec<String>,
}

/// Where the hovered bar is, from the script in `hover_middle_bar`.
#[derive(Debug, Deserialize)]
struct Bar {
    x: f64,
    y: f64,
    tag: String,
}

/// Collects, from the moment it is attached, every JavaScript exception, console
/// error and error log entry (a failed load among them) of the tab.
#[derive(Debug, Clone, Default)]
pub struct Errors(Arc<Mutex<Vec<String>>>);

impl Errors {
    pub fn attach(&self, tab: &Tab) -> Result<()> {
        tab.enable_runtime()?;
        tab.enable_log()?;
        let seen = Arc::clone(&self.0);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            let line = match event {
                Event::RuntimeExceptionThrown(e) => {
                    let d = &e.params.exception_details;
                    let what = d
                        .exception
                        .as_ref()
                        .and_then(|x| x.description.clone())
                        .unwrap_or_else(|| d.text.clone());
                    let first = what.lines().next().unwrap_or("").to_string();
                    let at = d.url.as_deref().unwrap_or("");
                    Some(format!(
                        "JavaScript error: {first} ({at}:{})",
                        d.line_number + 1
                    ))
                }
                Event::RuntimeConsoleAPICalled(e)
                    if e.params.Type == ConsoleAPICalledEventTypeOption::Error =>
                {
                    let text: Vec<String> = e.params.args.iter().map(describe).collect();
                    Some(format!("console error: {}", text.join(" ")))
                }
                // Chromium asks for /favicon.ico by itself when a page names no icon
                // (mdbook's toc.html): that request is the browser's, not the page's.
                Event::LogEntryAdded(e)
                    if e.params.entry.level == LogEntryLevel::Error
                        && !is_automatic_favicon(e.params.entry.url.as_deref()) =>
                {
                    let entry = &e.params.entry;
                    let at = entry.url.as_deref().unwrap_or("");
                    Some(
                        format!("browser error: {} {at}", entry.text)
                            .trim_end()
                            .to_string(),
                    )
                }
                _ => None,
            };
            if let Some(line) = line {
                seen.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        }))?;
        Ok(())
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn is_automatic_favicon(url: Option<&str>) -> bool {
    url.and_then(|u| u.strip_prefix("http://127.0.0.1:"))
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(port, path)| {
            port.chars().all(|c| c.is_ascii_digit()) && path == "favicon.ico"
        })
}

fn describe(value: &RemoteObject) -> String {
    match (&value.value, &value.description) {
        (Some(serde_json::Value::String(s)), _) => s.clone(),
        (Some(v), _) => v.to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => format!("{:?}", value.Type),
    }
}

/// Visits `url`, writes `shot` (and `<shot>-tooltip.png` on a report page), and
/// returns what it found.
pub fn visit(tab: &Tab, errors: &Errors, url: &str, shot: &Path) -> Result<PageReport> {
    errors.take();
    tab.navigate_to(url)?.wait_until_navigated()?;
    let probe: Probe = evaluate(tab, PROBE).context("reading the page")?;
    let mut report = PageReport {
        images: probe.images,
        links: probe.links,
        ids: probe.ids.into_iter().collect(),
        ..PageReport::default()
    };
    for src in probe.broken_images {
        report.problems.push(format!("image did not load: {src}"));
    }
    if probe.task_count.is_some() {
        let tips: Tooltips = evaluate(tab, TOOLTIPS).context("hovering the task bars")?;
        report.tooltips = Some(tips.shown);
        report.problems.extend(tips.problems);
        if tips.bars > 0 {
            let tooltip_shot = shot.with_file_name(format!(
                "{}-tooltip.png",
                shot.file_stem().unwrap_or_default().to_string_lossy()
            ));
            if let Err(e) = hover_middle_bar(tab, &tooltip_shot) {
                report.problems.push(format!("{e:#}"));
            }
        }
    }
    screenshot(tab, shot)?;
    report.problems.extend(errors.take());
    Ok(report)
}

/// Moves the DevTools mouse (a real hover, not a dispatched event) over the middle
/// bar, checks the tooltip shows its tag, and saves a screenshot of it.
fn hover_middle_bar(tab: &Tab, shot: &Path) -> Result<()> {
    let bar: Bar = evaluate(
        tab,
        r#"(() => {
            const bars = document.querySelectorAll("[data-task]");
            const bar = bars[Math.floor(bars.length / 2)];
            bar.scrollIntoView({ block: "center", inline: "center" });
            const box = bar.getBoundingClientRect();
            return JSON.stringify({ x: box.left + box.width / 2, y: box.top + box.height / 2,
                                    tag: bar.getAttribute("data-tag") || "" });
        })()"#,
    )?;
    tab.move_mouse_to_point(Point { x: bar.x, y: bar.y })?;
    std::thread::sleep(Duration::from_millis(200));
    let shown: bool = evaluate(
        tab,
        &format!(
            r#"(() => {{
                const tip = document.getElementById("tooltip");
                const style = getComputedStyle(tip);
                return JSON.stringify(style.display !== "none" && style.visibility !== "hidden"
                    && Number(style.opacity) > 0 && tip.textContent.includes({}));
            }})()"#,
            serde_json::to_string(&bar.tag)?
        ),
    )?;
    screenshot(tab, shot)?;
    if !shown {
        bail!(
            "the mouse over bar {} shows no tooltip with its tag (see {})",
            bar.tag,
            shot.display()
        );
    }
    Ok(())
}

fn screenshot(tab: &Tab, path: &Path) -> Result<()> {
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)?;
    std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
}

/// Evaluates a script that returns a JSON string, and parses it.
fn evaluate<T: for<'de> Deserialize<'de>>(tab: &Tab, script: &str) -> Result<T> {
    let result = tab.evaluate(script, true)?;
    match result.value {
        Some(serde_json::Value::String(json)) => Ok(serde_json::from_str(&json)?),
        _ => bail!(
            "the script returned {}",
            result.description.unwrap_or_else(|| "no value".into())
        ),
    }
}

/// Every link from `pages` (page → report) to this site that names a missing file,
/// or an anchor that its page lacks. Links elsewhere (other hosts, `mailto:`) are
/// not followed: the check runs offline.
pub fn broken_links(
    site: &Path,
    base: &str,
    pages: &BTreeMap<String, PageReport>,
) -> BTreeMap<String, Vec<String>> {
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (page, report) in pages {
        let mut seen = BTreeSet::new();
        for link in &report.links {
            let Some(local) = link.strip_prefix(base) else {
                continue;
            };
            if !seen.insert(local) {
                continue;
            }
            let (target, anchor) = local.split_once('#').unwrap_or((local, ""));
            let Some(file) = serve::file_for(site, &format!("/{target}")) else {
                broken
                    .entry(page.clone())
                    .or_default()
                    .push(format!("broken link: {local} (no such file)"));
                continue;
            };
            let anchor = serve::percent_decode(anchor).unwrap_or_default();
            if anchor.is_empty() {
                continue;
            }
            let relative = file.strip_prefix(site).unwrap_or(&file);
            let key = relative.to_string_lossy().replace('\\', "/");
            // A page this run did not open (not HTML) has no ids to check against.
            let Some(target_page) = pages.get(&key) else {
                continue;
            };
            if !target_page.ids.contains(&anchor) {
                broken.entry(page.clone()).or_default().push(format!(
                    "broken link: {local} (no id \"{anchor}\" on {key})"
                ));
            }
        }
    }
    broken
}
