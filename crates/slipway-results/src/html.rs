//! The grid as one self-contained HTML page: inline CSS and JavaScript, no fonts, images or
//! other files, so it can be attached to a CI run or opened from disk.
//!
//! Cells are coloured by status and also carry a glyph (`✓`, `✗`, `s`, and `passes/runs` for
//! flaky cells), so the page reads without colour. Hovering a cell shows its build and its
//! failure message (the `title` attribute); a cell links to its build's evidence (the build
//! log, or the JUnit file) when that is known ([`crate::grid::evidence_link`]). A filter box hides the test rows whose name does
//! not contain the text typed (case-insensitive); the page applies `?filter=TEXT` from its URL
//! on load, so a filtered view can be linked. The `Overall` row is never hidden.
//!
//! Test names and messages come from JUnit files anyone can write: every piece of text goes
//! through [`escape`], and a Content-Security-Policy allows no other script than the page's
//! own (by hash) and no loads from anywhere.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use slipway_core::results::Status;

use crate::grid::{Cell, Column, Grid, Row};

/// Hover text longer than this is cut (a browser tooltip is no place for a whole log).
pub const MAX_HOVER_CHARS: usize = 2000;

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe in element
/// content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL and other C0 controls are not allowed in HTML text; a tab or newline is.
            control if control.is_control() && !matches!(control, '\t' | '\n') => out.push('\u{fffd}'),
            other => out.push(other),
        }
    }
    out
}

/// The page's only script: the filter (served as a file by `slipway serve`).
pub const SCRIPT: &str = r##"
"use strict";
(() => {
  const input = document.getElementById("filter");
  const shown = document.getElementById("shown");
  const rows = Array.from(document.querySelectorAll("table.grid tbody tr.test"));
  const apply = () => {
    const needle = input.value.trim().toLowerCase();
    let count = 0;
    for (const row of rows) {
      const match = needle === "" || row.dataset.name.toLowerCase().includes(needle);
      row.hidden = !match;
      if (match) count += 1;
    }
    shown.textContent = `${count} of ${rows.length} ${rows.length === 1 ? "test" : "tests"}`;
  };
  const initial = new URLSearchParams(window.location.search).get("filter");
  if (initial !== null) input.value = initial;
  input.addEventListener("input", apply);
  apply();
})();
"##;

/// The grid's style sheet (served as a file by `slipway serve`).
pub const STYLE: &str = r##"
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --line: #d0d7de;
  --pass: #2da44e; --fail: #cf222e; --flaky: #8250df; --skip: #b4dcbf; --none: transparent;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --skip: #2f5a3a; }
}
body { margin: 1.5rem; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.summary, .legend, #shown { color: var(--muted); }
.controls { margin: .75rem 0; display: flex; gap: 1rem; align-items: center; }
#filter { font: inherit; padding: .3rem .5rem; min-width: 24rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); }
.legend span { display: inline-block; width: 1.6rem; margin: 0 .3rem 0 .9rem; text-align: center; color: #fff;
  border: 1px solid var(--line); font-size: 12px; height: 1.25rem; line-height: 1.25rem; vertical-align: middle; }
.legend span.skip { color: var(--fg); }
.scroll { overflow: auto; max-width: 100%; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 0; }
th[scope=row] { position: sticky; left: 0; z-index: 1; background: var(--bg); text-align: left;
  font-weight: normal; padding: .15rem .5rem; max-width: 48rem; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
thead th[scope=row] { color: var(--muted); }
thead td { font-size: 10px; color: var(--muted); text-align: center; padding: .2rem .15rem; white-space: nowrap; }
thead td.id, thead td.version { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  max-height: 10rem; overflow: hidden; text-overflow: ellipsis; }
thead td.id.fail { color: var(--fail); font-weight: 600; }
tbody td { width: 1.9rem; min-width: 1.9rem; height: 1.5rem; text-align: center; font-size: 12px;
  color: #fff; cursor: default; }
tr.overall th { font-weight: 600; }
tr.overall td, tr.overall th { border-bottom: 2px solid var(--fg); }
.pass { background: var(--pass); }
.fail { background: var(--fail); font-weight: 700; }
.flaky { background: var(--flaky); font-size: 10px; }
.skip { background: var(--skip); color: var(--fg); }
.none { background: var(--none); }
thead td.pass, thead td.fail { background: none; }
td:hover { outline: 2px solid var(--fg); outline-offset: -2px; }
td a { display: block; color: inherit; text-decoration: none; line-height: 1.5rem; }
"##;

/// The page for `grid`.
pub fn page(grid: &Grid) -> String {
    let job = escape(&grid.job);
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let mut out = String::with_capacity(4096 + grid.rows.len() * grid.columns.len() * 48);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'sha256-{hash}'\">\n<title>{job}: test results</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    out.push_str(&body(grid));
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// The grid's header (title, summary, the filter, the legend) and its table, for a page that
/// brings [`STYLE`] and [`SCRIPT`] its own way.
pub fn body(grid: &Grid) -> String {
    let job = escape(&grid.job);
    let mut out = String::with_capacity(4096 + grid.rows.len() * grid.columns.len() * 48);
    let builds = grid.columns.len();
    let tests = grid.rows.len();
    let _ = writeln!(out, "<header>\n<h1>{job}</h1>");
    let _ = writeln!(
        out,
        "<p class=\"summary\">{builds} {}, newest first; {tests} {}. Hover a cell for its build and message.</p>",
        if builds == 1 { "build" } else { "builds" },
        if tests == 1 { "test" } else { "tests" }
    );
    let _ = writeln!(
        out,
        "<div class=\"controls\"><label>Filter tests <input id=\"filter\" type=\"search\" \
         placeholder=\"part of a test name\" autocomplete=\"off\"></label><span id=\"shown\">{tests} {}</span></div>",
        if tests == 1 { "test" } else { "tests" }
    );
    let _ = writeln!(
        out,
        "<p class=\"legend\"><span class=\"pass\">✓</span>pass<span class=\"fail\">✗</span>fail\
         <span class=\"flaky\">1/2</span>flaky (runs passed/runs)<span class=\"skip\">s</span>skipped\
         <span class=\"none\"></span>no result</p>\n</header>"
    );
    out.push_str("<main class=\"scroll\">\n");
    table(&mut out, grid, "grid");
    out.push_str("</main>\n");
    out
}

/// One grid as a table (the page's filter applies to it).
fn table(out: &mut String, grid: &Grid, id: &str) {
    let _ = write!(out, "<table class=\"grid\" id=\"{}\">\n<thead>\n", escape(id));
    header_rows(out, &grid.columns);
    out.push_str("</thead>\n<tbody>\n");
    row(out, &grid.overall, &grid.columns, "overall");
    for test in &grid.rows {
        row(out, test, &grid.columns, "test");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A dashboard as one page: a summary of every tab (its status, recent builds, open alerts and
/// where they are mailed), then each tab's grid, with one filter over all of them.
pub fn dashboard_page(name: &str, tabs: &[crate::dashboard::TabView]) -> String {
    let title = escape(name);
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'sha256-{hash}'\">\n<title>{title}: dashboard</title>\n<style>{STYLE}\
         section {{ margin: 1.5rem 0; }} .status {{ font-weight: 600; }} .FAILING {{ color: var(--fail); }} \
         .FLAKY {{ color: var(--flaky); }} .PASSING {{ color: var(--pass); }}</style>\n</head>\n<body>\n"
    );
    out.push_str(&dashboard_body(name, tabs));
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// A dashboard's summary and grids, for a page that brings [`STYLE`] and [`SCRIPT`] its own
/// way (and styles `.status` and the `FAILING`, `FLAKY`, `PASSING` classes).
pub fn dashboard_body(name: &str, tabs: &[crate::dashboard::TabView]) -> String {
    use crate::dashboard::Status as TabStatus;
    let title = escape(name);
    let mut out = String::with_capacity(8192);
    let tests: usize = tabs.iter().map(|tab| tab.tests).sum();
    let _ = writeln!(out, "<header>\n<h1>{title}</h1>\n<table class=\"tabs\"><tbody>");
    for (index, tab) in tabs.iter().enumerate() {
        let status = match tab.status {
            TabStatus::Failing => "FAILING",
            TabStatus::Flaky => "FLAKY",
            TabStatus::Passing => "PASSING",
            TabStatus::Unknown => "UNKNOWN",
        };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#tab-{index}\">{}</a></th><td class=\"status {status}\">{status}</td>\
             <td>{} of {} recent builds passed; {} open {}</td></tr>",
            escape(&tab.tab.name),
            tab.recent_passed,
            tab.recent_columns,
            tab.alerts.len(),
            if tab.alerts.len() == 1 { "alert" } else { "alerts" }
        );
    }
    let _ = writeln!(
        out,
        "</tbody></table>\n<div class=\"controls\"><label>Filter tests <input id=\"filter\" type=\"search\" \
         placeholder=\"part of a test name\" autocomplete=\"off\"></label><span id=\"shown\">{tests} tests</span></div>\n</header>"
    );
    for (index, tab) in tabs.iter().enumerate() {
        let _ = writeln!(
            out,
            "<section id=\"tab-{index}\">\n<h2>{} <small>(job {})</small></h2>",
            escape(&tab.tab.name),
            escape(&tab.tab.job)
        );
        if let Some(description) = &tab.tab.description {
            let _ = writeln!(out, "<p class=\"summary\">{}</p>", escape(description));
        }
        if let Some(email) = &tab.tab.alert_email {
            let _ = writeln!(out, "<p class=\"summary\">Alerts mailed to {}</p>", escape(email));
        }
        for alert in &tab.alerts {
            let what = alert.test.as_deref().unwrap_or("the job");
            let _ = writeln!(
                out,
                "<p class=\"summary\">alert: {} failed {} builds in a row</p>",
                escape(what),
                alert.fail_count
            );
        }
        out.push_str("<div class=\"scroll\">\n");
        table(&mut out, &tab.grid, &format!("grid-{index}"));
        out.push_str("</div>\n</section>\n");
    }
    out
}

fn header_rows(out: &mut String, columns: &[Column]) {
    out.push_str("<tr><th scope=\"row\">build</th>");
    for column in columns {
        let class = match column.passed {
            Some(true) => " pass",
            Some(false) => " fail",
            None => "",
        };
        let id = escape(&column.build_id);
        let _ = write!(out, "<td class=\"id{class}\" title=\"build {id}\">{id}</td>");
    }
    out.push_str("</tr>\n<tr><th scope=\"row\">started</th>");
    for column in columns {
        match column.started {
            Some(started) => {
                let minute = crate::minute(started);
                let _ = write!(
                    out,
                    "<td title=\"{minute}\">{}<br>{}</td>",
                    escape(&minute[5..10]),
                    escape(&minute[11..16])
                );
            }
            None => out.push_str("<td></td>"),
        }
    }
    out.push_str("</tr>\n<tr><th scope=\"row\">version</th>");
    for column in columns {
        let version = escape(column.version.as_deref().unwrap_or_default());
        let _ = write!(out, "<td class=\"version\" title=\"{version}\">{version}</td>");
    }
    out.push_str("</tr>\n");
}

fn row(out: &mut String, row: &Row, columns: &[Column], class: &str) {
    let name = escape(&row.name);
    let _ = write!(out, "<tr class=\"{class}\" data-name=\"{name}\"><th scope=\"row\" title=\"{name}\">{name}</th>");
    for (cell, column) in row.cells.iter().zip(columns) {
        let Some(cell) = cell else {
            let _ = write!(out, "<td class=\"none\" title=\"build {}: no result\"></td>", escape(&column.build_id));
            continue;
        };
        let (class, text) = match cell.status {
            Status::Pass => ("pass", "✓".to_owned()),
            Status::Fail => ("fail", "✗".to_owned()),
            Status::Skip => ("skip", "s".to_owned()),
            Status::Flaky if cell.runs > 1 => ("flaky", format!("{}/{}", cell.passes, cell.runs)),
            Status::Flaky => ("flaky", "~".to_owned()),
        };
        let title = escape(&hover(cell, column));
        match &column.link {
            Some(link) => {
                let _ =
                    write!(out, "<td class=\"{class}\" title=\"{title}\"><a href=\"{}\">{text}</a></td>", escape(link));
            }
            None => {
                let _ = write!(out, "<td class=\"{class}\" title=\"{title}\">{text}</td>");
            }
        }
    }
    out.push_str("</tr>\n");
}

/// `build 1003: failed` and the message, cut at [`MAX_HOVER_CHARS`].
fn hover(cell: &Cell, column: &Column) -> String {
    let what = match cell.status {
        Status::Pass => "passed".to_owned(),
        Status::Fail => "failed".to_owned(),
        Status::Skip => "skipped".to_owned(),
        Status::Flaky => format!("flaky: {} of {} runs passed", cell.passes, cell.runs),
    };
    let duration = cell.duration_ms.map(|ms| format!(" in {}", duration(ms))).unwrap_or_default();
    let mut text = format!("build {}: {what}{duration}", column.build_id);
    if let Some(message) = cell.message.as_deref().map(str::trim).filter(|message| !message.is_empty()) {
        text.push('\n');
        if message.chars().count() > MAX_HOVER_CHARS {
            text.extend(message.chars().take(MAX_HOVER_CHARS));
            text.push('…');
        } else {
            text.push_str(message);
        }
    }
    text
}

/// `12.5s`, `50m 0s`, `2h 5m`.
fn duration(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds < 60 {
        format!("{}.{}s", seconds, (ms % 1000) / 100)
    } else if seconds < 3600 {
        format!("{}m {}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h {}m", seconds / 3600, (seconds % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::build;
    use crate::grid::tests::history;

    #[test]
    fn escape_covers_markup_and_attribute_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain [It] text"), "plain [It] text");
        assert_eq!(escape("nul\0 and\nnewline"), "nul\u{fffd} and\nnewline");
    }

    #[test]
    fn a_test_named_like_a_script_stays_text() {
        let evil = r#"<script>document.title="pwned"</script>"#;
        let grid = build("e2e", &history("e2e", "F", &[(evil, "F")]));
        let html = page(&grid);
        assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
        assert!(html.contains("&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;"));
        assert!(!html.contains(evil));
    }

    #[test]
    fn a_message_cannot_break_out_of_its_attribute() {
        let mut history = history("e2e", "F", &[("t", "F")]);
        history[0].tests[0].message = Some(r#"x" onmouseover="alert(1)"><img src=x>"#.to_owned());
        let html = page(&build("e2e", &history));
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("x&quot; onmouseover=&quot;alert(1)&quot;&gt;&lt;img src=x&gt;"));
    }

    #[test]
    fn the_policy_allows_exactly_the_page_script() {
        let html = page(&build("e2e", &history("e2e", "P", &[("t", "P")])));
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    }

    #[test]
    fn nothing_is_loaded_from_elsewhere() {
        let html = page(&build("e2e", &history("e2e", "FP", &[("t", "FK")])));
        for reference in ["src=", "url(", "@import", "<link"] {
            assert!(!html.contains(reference), "{reference} in the page");
        }
        let links: Vec<&str> = html.match_indices("href=").map(|(at, _)| &html[at..]).collect();
        assert!(
            links.iter().all(|link| link.starts_with("href=\"https://storage.googleapis.com/")),
            "only evidence links"
        );
    }

    #[test]
    fn evidence_links_lead_to_the_build_log_or_the_file() {
        use crate::grid::evidence_link;
        assert_eq!(
            evidence_link("gs://kubernetes-ci-logs/logs/ci-e2e/1001").as_deref(),
            Some("https://storage.googleapis.com/kubernetes-ci-logs/logs/ci-e2e/1001/build-log.txt")
        );
        assert_eq!(evidence_link("/srv/logs/e2e/7/").as_deref(), Some("file:///srv/logs/e2e/7/build-log.txt"));
        assert_eq!(evidence_link("/tmp/a b/junit.xml").as_deref(), Some("file:///tmp/a%20b/junit.xml"));
        assert_eq!(evidence_link("s3://bucket/logs/e2e/7"), None);
        assert_eq!(evidence_link("/tmp/junit.xml (and 2 more files)"), None);
        let evil = page(&build("e2e", &{
            let mut history = history("e2e", "F", &[("t", "F")]);
            history[0].build.source = "https://example.com/\"><script>x</script>".into();
            history
        }));
        assert!(evil.contains("href=\"https://example.com/&quot;&gt;&lt;script&gt;x&lt;/script&gt;/build-log.txt\""));
    }

    #[test]
    fn cells_carry_status_glyph_and_hover_text() {
        let html = page(&build("e2e", &history("e2e", "FP", &[("t", "FK")])));
        assert!(
            html.contains("<td class=\"fail\" title=\"build 1002: failed in 1.5s\nt failed in build 1002\">✗</td>")
        );
        assert!(html.contains(
            "<td class=\"flaky\" title=\"build 1001: flaky: 1 of 2 runs passed in 1.5s\nt failed in build 1001\">1/2</td>"
        ));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(12_550), "12.5s");
        assert_eq!(duration(999), "0.9s");
        assert_eq!(duration(3_000_000), "50m 0s");
        assert_eq!(duration(7_530_000), "2h 5m");
    }

    #[test]
    fn long_messages_are_cut_on_hover() {
        let mut history = history("e2e", "F", &[("t", "F")]);
        history[0].tests[0].message = Some("y".repeat(MAX_HOVER_CHARS + 10));
        let html = page(&build("e2e", &history));
        assert!(html.contains(&format!("{}…\"", "y".repeat(MAX_HOVER_CHARS))));
        assert!(!html.contains(&"y".repeat(MAX_HOVER_CHARS + 1)));
    }
}
