//! `report.html`: the run on one page that a browser opens offline, with a tooltip
//! on every task of the two Gantt charts.
//!
//! The PNGs show *when* each task ran; the page adds *which* task it was. Hover
//! over (or tab to) a bar and a box shows its tag, input, start, end, elapsed time,
//! worker, pid and tid: in a process pool every task has its worker's pid, in the
//! thread pools one pid and many tids. The page also carries the article's
//! speed-up lines and the experiments table.
//!
//! Nothing is computed here that the other outputs compute:
//! 1. The charts are the same [`Lanes`] the PNGs are drawn from
//!    ([`crate::chart::gantt`]), drawn as SVG by [`svg`] with one `<rect>` per task.
//! 2. Each bar's task comes from [`gantt::tasks_in_lane_order`], and its start and
//!    end are the bar's own (seconds since the pool's experiment began, as on the
//!    axis).
//! 3. The speed-up lines are `pools`' own ([`results::speedup::lines`]), from the
//!    makespans the charts mark ([`Experiment::makespan`]).
//! 4. The table is `experiments.csv`, field for field
//!    ([`ExperimentRecord::fields`]); without that file (the article's own files),
//!    each pool's task count and the makespan derived from its tasks.
//!
//! The page is self-contained: no network, no external script, style or font. The
//! contract with the browser check (`scripts/`) is:
//! - `<body data-task-count="N">`, N the number of task bars on the page;
//! - each task bar has `data-task` (unique on the page) and `data-tag` (its tag);
//! - the one element `id="tooltip"` becomes visible on `mouseover` or `mousemove`
//!   of a bar, and its text has the bar's tag, input, start, end, elapsed, worker,
//!   pid and tid.
//!
//! Every bar also has an SVG `<title>` with the same text, which the browser shows
//! on its own when scripts are off; the script moves it out, so that one tooltip
//! shows, not two. Every text from the files is escaped ([`escape`]): a tag is
//! whatever the CSV says.

pub mod svg;

use std::fmt::Write;

use results::layout::EXPERIMENT_COLUMNS;

use crate::chart::gantt;
use crate::chart::lanes::Lanes;
use crate::model::{Experiment, ExperimentRecord, Results, TaskRow, Workload};
use crate::{Chart, Exporter, ReportError};
use svg::BarInfo;

/// The page's file name in the output folder.
pub const FILE_NAME: &str = "report.html";

/// The exporter of `report.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlFile;

impl Exporter for HtmlFile {
    fn file_name(&self) -> String {
        FILE_NAME.to_owned()
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError> {
        page(results).map(String::into_bytes)
    }
}

/// The whole page.
pub fn page(results: &Results) -> Result<String, ReportError> {
    let mut charts = String::new();
    let mut task_count = 0;
    for workload in Workload::ALL {
        let (html, bars) = gantt_section(results, workload)?;
        charts.push_str(&html);
        task_count += bars;
    }

    let dir = escape(&results.dir.display().to_string());
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Processes, threads and the GIL: the run in <code>{dir}</code></h1>\
         <p class=\"lead\">{} tasks from {} experiments. Hover over a bar of a Gantt \
         chart (or move to it with Tab) to see its task.{}</p>",
        results.task_count(),
        results.experiments.len(),
        if results.has_task_ids() {
            ""
        } else {
            " These are the article's own files: they say each task's tag, times and \
             result, but not its input, worker, pid or tid."
        }
    );
    body.push_str(&speed_ups(results));
    body.push_str(&experiments_table(results));
    body.push_str(&charts);

    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>report: {dir}</title>\n{NO_ICON}\n<style>{STYLE}</style>\n</head>\n\
         <body data-task-count=\"{task_count}\">\n<main>\n{body}\n</main>\n\
         <div id=\"tooltip\" role=\"tooltip\" hidden></div>\n<script>{SCRIPT}</script>\n\
         </body>\n</html>\n"
    ))
}

/// One workload's Gantt chart with a tooltip per task, or why it is not drawn;
/// and how many task bars it has.
fn gantt_section(results: &Results, workload: Workload) -> Result<(String, usize), ReportError> {
    let chart = Chart::Gantt(workload);
    let id = format!("{workload}-gantt");
    // A chart too big to draw as a PNG is too big for the page too.
    let missing = chart.missing_input(results);
    let lanes = if missing.is_none() {
        chart.lanes(results)
    } else {
        None
    };
    let Some(lanes) = lanes else {
        let why = missing.unwrap_or_else(|| format!("no *-{workload}.csv"));
        return Ok((
            format!(
                "<section id=\"{id}\"><h2>{}</h2><p>Not drawn: {}.</p></section>",
                escape(gantt::title(workload)),
                escape(&why)
            ),
            0,
        ));
    };
    let bars = bar_infos(results, workload, &lanes)?;
    let html = format!(
        "<section id=\"{id}\"><h2>{}</h2>{}<p class=\"png\">Drawn from the same lanes \
         as <code>{}.png</code>, which <code>report</code> writes with <code>--format \
         png</code> (the default).</p></section>",
        escape(&lanes.title),
        svg::chart(&lanes, &bars, &lanes.title),
        chart.stem()
    );
    Ok((html, bars.len()))
}

/// The tooltip of each lane's bar, from the task behind the lane.
fn bar_infos(
    results: &Results,
    workload: Workload,
    lanes: &Lanes,
) -> Result<Vec<BarInfo>, ReportError> {
    let tasks: Vec<(&Experiment, &TaskRow)> =
        gantt::tasks_in_lane_order(results, workload).collect();
    if tasks.len() != lanes.lanes.len() {
        return Err(ReportError::Draw {
            file: FILE_NAME.to_owned(),
            message: format!(
                "the {workload} chart has {} lanes for {} tasks",
                lanes.lanes.len(),
                tasks.len()
            ),
        });
    }
    let ids = results.has_task_ids();
    Ok(tasks
        .iter()
        .zip(&lanes.lanes)
        .enumerate()
        .map(|(i, ((experiment, task), lane))| {
            let bar = &lane.bars[0];
            let mut tip = vec![
                format!("{}: {}", experiment.pool.description(), lane.label),
                format!("tag: {}", task.tag),
            ];
            if ids {
                tip.push(format!("input: {}", task.input));
            }
            tip.push(format!("start: {:.6} s", bar.start));
            tip.push(format!("end: {:.6} s", bar.end));
            tip.push(format!("elapsed: {:.6} s", task.elapsed));
            if ids {
                tip.push(format!("worker: {}", task.worker));
                tip.push(format!("pid: {}", task.pid));
                tip.push(format!("tid: {}", task.tid));
            } else {
                tip.push("input, worker, pid, tid: not in the article's files".to_owned());
            }
            tip.push(format!("result: {}", task.result));
            BarInfo {
                id: format!("{workload}-{i}"),
                tag: task.tag.clone(),
                tip: tip.join("\n"),
            }
        })
        .collect())
}

/// The article's speed-up lines, as `pools` prints them.
fn speed_ups(results: &Results) -> String {
    let lines = results::speedup::lines(|pool, workload| {
        results.experiment(pool, workload).map(Experiment::makespan)
    });
    let mut html = String::from("<section id=\"speed-up\"><h2>Speed-up</h2>");
    if lines.is_empty() {
        html.push_str(
            "<p>None: a speed-up needs the process pool and a thread pool on the same \
             workload.</p>",
        );
    } else {
        html.push_str(
            "<p>Processes over threads, (threads − processes) / threads × 100 %, from \
             the makespans the charts mark:</p><ul class=\"speed-up\">",
        );
        for line in lines {
            let _ = write!(html, "<li>{}</li>", escape(&line));
        }
        html.push_str("</ul>");
    }
    if !results.has_task_ids() {
        html.push_str(
            "<p>The makespans are derived from the tasks, first start to last end: the \
             article's files do not record when each pool started.</p>",
        );
    }
    html.push_str("</section>");
    html
}

/// `experiments.csv` as a table, or, without it, what the tasks say.
fn experiments_table(results: &Results) -> String {
    let records: Vec<&ExperimentRecord> = results
        .experiments
        .iter()
        .filter_map(|e| e.summary.as_ref())
        .collect();
    let mut html = String::from("<section id=\"experiments\"><h2>Experiments</h2>");
    let (header, rows): (Vec<String>, Vec<Vec<String>>) = if records.is_empty() {
        html.push_str(
            "<p>No <code>experiments.csv</code>: each pool's tasks, and its makespan from \
             its first task's start to its last task's end.</p>",
        );
        (
            ["tag", "tasks", "makespan (s)"].map(str::to_owned).to_vec(),
            results
                .experiments
                .iter()
                .map(|e| {
                    vec![
                        e.tag(),
                        e.tasks.len().to_string(),
                        format!("{:.6}", e.makespan()),
                    ]
                })
                .collect(),
        )
    } else {
        html.push_str("<p><code>experiments.csv</code>, one row per pool and workload:</p>");
        (
            EXPERIMENT_COLUMNS.map(str::to_owned).to_vec(),
            records.iter().map(|r| r.fields().to_vec()).collect(),
        )
    };
    html.push_str("<div class=\"scroll\"><table><thead><tr>");
    for name in &header {
        // A column name may break after an underscore, so that the table fits.
        let _ = write!(html, "<th>{}</th>", escape(name).replace('_', "_<wbr>"));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div></section>");
    html
}

/// `text` made safe for HTML text and attribute values (SVG inside HTML too).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An empty icon, inline: without one, a browser asks the server for
/// `/favicon.ico`, the one request the page would make.
pub const NO_ICON: &str = r#"<link rel="icon" href="data:,">"#;

/// The page's style: system fonts only, nothing fetched.
const STYLE: &str = "
body { margin: 0; font-family: system-ui, 'DejaVu Sans', sans-serif; color: #1a1a1a; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 1.5em; margin: 0.4em 0; }
h2 { font-size: 1.2em; margin: 1.4em 0 0.4em; }
p.lead { color: #404040; }
p.png { color: #606060; font-size: 0.85em; margin-top: 0.2em; }
ul.speed-up { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8em; }
th, td { border: 1px solid #d0d0d0; padding: 3px 6px; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
svg.chart { width: 100%; height: auto; font-family: system-ui, 'DejaVu Sans', sans-serif; }
svg.chart * { pointer-events: none; }
svg.chart .bar { pointer-events: all; cursor: default; }
svg.chart .bar.active, svg.chart .bar:focus { stroke: #000; stroke-width: 1.5; outline: none; }
#tooltip { position: absolute; z-index: 10; pointer-events: none; white-space: pre;
  background: #fffff4; border: 1px solid #808080; border-radius: 4px; padding: 6px 8px;
  font: 12px/1.4 ui-monospace, 'DejaVu Sans Mono', monospace; box-shadow: 0 2px 6px #0003; }
#tooltip[hidden] { display: none; }
";

/// The tooltip: one box, filled from the hovered (or focused) bar's `<title>`.
/// Positioned in page coordinates, so that it scrolls with the chart.
const SCRIPT: &str = "
(function () {
  'use strict';
  var tip = document.getElementById('tooltip');
  var bars = document.querySelectorAll('[data-task]');
  // The title becomes the bar's data-tip: the browser's own tooltip would show
  // the same text a second time.
  bars.forEach(function (bar) {
    var title = bar.querySelector('title');
    bar.setAttribute('data-tip', title ? title.textContent : bar.getAttribute('data-tag'));
    if (title) { title.remove(); }
  });
  function place(x, y) {
    var width = tip.offsetWidth, height = tip.offsetHeight;
    var right = window.scrollX + document.documentElement.clientWidth;
    var bottom = window.scrollY + document.documentElement.clientHeight;
    if (x + 14 + width > right) { x = x - 14 - width; } else { x = x + 14; }
    if (y + 14 + height > bottom) { y = y - 14 - height; } else { y = y + 14; }
    tip.style.left = Math.max(window.scrollX, x) + 'px';
    tip.style.top = Math.max(window.scrollY, y) + 'px';
  }
  var active = null;
  function show(bar) {
    if (active) { active.classList.remove('active'); }
    active = bar;
    bar.classList.add('active');
    tip.textContent = bar.getAttribute('data-tip');
    tip.hidden = false;
  }
  function hide() {
    if (active) { active.classList.remove('active'); active = null; }
    tip.hidden = true;
  }
  bars.forEach(function (bar) {
    bar.addEventListener('mouseover', function (event) { show(bar); place(event.pageX, event.pageY); });
    bar.addEventListener('mousemove', function (event) { show(bar); place(event.pageX, event.pageY); });
    bar.addEventListener('focus', function () {
      var box = bar.getBoundingClientRect();
      show(bar);
      place(window.scrollX + box.right, window.scrollY + box.top);
    });
    bar.addEventListener('mouseout', hide);
    bar.addEventListener('blur', hide);
  });
})();
";

#[cfg(test)]
mod tests {
    use super::*;

    /// Markup in a tag comes out as text.
    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }
}
