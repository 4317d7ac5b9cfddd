//! Progress on stderr: a bar when stderr is a terminal, plain lines in CI (where `CI` is set, as
//! Prow, GitHub Actions and most others do) so a long build shows it is alive in the job log,
//! and nothing otherwise, so pipes and scripts see only what they asked for.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use slipway_release::verify::{Progress, Quiet};

/// The progress display for this process's stderr.
pub(crate) fn for_stderr() -> Box<dyn Progress> {
    if crate::output::stderr_is_terminal() {
        Box::new(Terminal { bar: Mutex::new(None) })
    } else if std::env::var_os("CI").is_some_and(|value| !value.is_empty() && value != "false") {
        Box::new(Lines::new(Box::new(crate::output::stderr())))
    } else {
        Box::new(Quiet)
    }
}

/// One line per finished step: `building: 1/2 hello-operator linux/arm64 (3.1s)`.
struct Lines {
    state: Mutex<LinesState>,
}

struct LinesState {
    out: Box<dyn Write + Send>,
    what: String,
    total: u64,
    done: u64,
    started: Instant,
    /// When a line was last written: at most one a second (and the last), so thousands of
    /// small steps do not flood a CI log.
    printed: Option<Instant>,
}

impl Lines {
    fn new(out: Box<dyn Write + Send>) -> Lines {
        Lines {
            state: Mutex::new(LinesState {
                out,
                what: String::new(),
                total: 0,
                done: 0,
                started: Instant::now(),
                printed: None,
            }),
        }
    }
}

impl Progress for Lines {
    fn begin(&self, total: u64, what: &str) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.what = what.to_owned();
        state.total = total;
        state.done = 0;
        state.started = Instant::now();
        state.printed = None;
    }

    fn advance(&self, item: &str) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.done += 1;
        let LinesState { out, what, total, done, started, printed } = &mut *state;
        if *done < *total && printed.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *printed = Some(Instant::now());
        // Progress is best effort: a closed stderr must not stop the work.
        let _ = writeln!(out, "{what}: {done}/{total} {item} ({:.1}s)", started.elapsed().as_secs_f64());
    }

    fn end(&self) {}
}

struct Terminal {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Terminal {
    fn begin(&self, total: u64, what: &str) {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{pos}/{len}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        *self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bar);
    }

    fn advance(&self, item: &str) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            bar.set_message(item.to_owned());
            bar.inc(1);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_count_each_phase_from_one() {
        let buffer = Shared::default();
        let lines = Lines::new(Box::new(buffer.clone()));
        lines.begin(2, "building");
        lines.advance("app linux/amd64");
        lines.advance("app linux/arm64");
        lines.end();
        lines.begin(1, "publishing");
        lines.advance("app");
        let text = String::from_utf8(buffer.0.lock().expect("not poisoned").clone()).expect("UTF-8");
        let shown: Vec<&str> = text.lines().map(|line| line.rsplit_once(" (").map_or(line, |(head, _)| head)).collect();
        assert_eq!(shown, ["building: 1/2 app linux/amd64", "building: 2/2 app linux/arm64", "publishing: 1/1 app"]);
        assert!(text.lines().all(|line| line.ends_with("s)")), "{text}");
    }

    #[test]
    fn many_quick_steps_print_a_line_a_second_and_the_last() {
        let buffer = Shared::default();
        let lines = Lines::new(Box::new(buffer.clone()));
        lines.begin(2000, "ingesting");
        for file in 0..2000 {
            lines.advance(&format!("junit_{file}.xml"));
        }
        let text = String::from_utf8(buffer.0.lock().expect("not poisoned").clone()).expect("UTF-8");
        let shown: Vec<&str> = text.lines().map(|line| line.rsplit_once(" (").map_or(line, |(head, _)| head)).collect();
        assert_eq!(shown.first(), Some(&"ingesting: 1/2000 junit_0.xml"));
        assert_eq!(shown.last(), Some(&"ingesting: 2000/2000 junit_1999.xml"));
        assert!(shown.len() < 10, "not a line per file: {}", shown.len());
    }
}
