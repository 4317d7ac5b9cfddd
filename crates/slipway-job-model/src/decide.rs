//! Deciding, at a given instant, whether a scheduled job starts: pure, so tests drive it with
//! any clock.
//!
//! Rules (Prow's, plus time zones):
//! - cron: the job is due at the first tick after the last tick taken (or after the moment the
//!   scheduler first saw the job). Ticks missed while no scheduler ran collapse into one run,
//!   for the latest of them. A tick that arrives while a run of the job is still going is
//!   skipped (`skip_if_running: false` starts it anyway) and `max_concurrency` caps the runs.
//! - interval: due every `interval` from the previous start (or skipped tick); a tick that comes
//!   while the previous run is still going is skipped, once, and recorded, so a run that
//!   overruns is followed by the next tick on that grid rather than restarted at once; a job
//!   that never ran starts at once.
//! - minimum_interval: due that long after the previous run finished.

use jiff::Timestamp;

use crate::job::Job;
use crate::schedule::{Previous, Schedule};

/// What the scheduler knows about one job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobState {
    /// The last cron tick taken, run or skipped (or when the scheduler first saw the job).
    pub last_due: Option<Timestamp>,
    /// When its newest run started (manual runs count too).
    pub last_started: Option<Timestamp>,
    /// When its newest run finished, if it has.
    pub last_finished: Option<Timestamp>,
    /// How many of its runs are going now.
    pub running: usize,
}

/// The scheduler's decision for one job at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start `runs` runs (one per matrix entry, capped by max_concurrency) for the tick `due`.
    Start { due: Timestamp, runs: usize },
    /// The tick `due` is dropped, for `reason`.
    Skip { due: Timestamp, reason: String },
    /// Nothing to do before `until` (`None`: until a run finishes, or never).
    Wait { until: Option<Timestamp> },
}

/// Ticks further back than this many are not walked one by one when collapsing missed ticks.
const MAX_COLLAPSE: usize = 100_000;

/// Decides what to do about `job` at `now`.
pub fn decide(job: &Job, state: &JobState, now: Timestamp) -> Decision {
    let Some(schedule) = &job.schedule else {
        return Decision::Wait { until: None };
    };
    let wanted = job.kubernetes.len().max(1);
    match schedule {
        Schedule::Cron { .. } => {
            let Some(first) = schedule.next_cron_after(state.last_due.unwrap_or(now)) else {
                return Decision::Wait { until: None };
            };
            if first > now {
                return Decision::Wait { until: Some(first) };
            }
            let mut due = first;
            for _ in 0..MAX_COLLAPSE {
                match schedule.next_cron_after(due) {
                    Some(next) if next <= now => due = next,
                    _ => break,
                }
            }
            if job.skip_if_running && state.running > 0 {
                return Decision::Skip {
                    due,
                    reason: format!("{} run(s) of the previous tick still going", state.running),
                };
            }
            match capacity(job, state.running, wanted) {
                0 => Decision::Skip {
                    due,
                    reason: format!("max_concurrency {} reached ({} running)", job.max_concurrency, state.running),
                },
                runs => Decision::Start { due, runs },
            }
        }
        Schedule::Interval(_) => {
            let anchor = match (state.last_due, state.last_started) {
                (Some(due), Some(started)) => Some(due.max(started)),
                (due, started) => due.or(started),
            };
            let tick = |from: Timestamp| schedule.next_due(Previous { started: Some(from), finished: None }, now);
            let next = match anchor {
                None => now,
                Some(anchor) => match tick(anchor) {
                    Some(next) => next,
                    None => return Decision::Wait { until: None },
                },
            };
            if next > now {
                return Decision::Wait { until: Some(next) };
            }
            if state.running > 0 && job.skip_if_running {
                let mut due = next;
                for _ in 0..MAX_COLLAPSE {
                    match tick(due) {
                        Some(following) if following <= now && following > due => due = following,
                        _ => break,
                    }
                }
                return Decision::Skip {
                    due,
                    reason: format!("{} run(s) of the previous tick still going", state.running),
                };
            }
            match capacity(job, state.running, wanted) {
                0 => Decision::Wait { until: None },
                runs => Decision::Start { due: now, runs },
            }
        }
        Schedule::MinimumInterval(_) => {
            if state.running > 0 && (job.skip_if_running || matches!(schedule, Schedule::MinimumInterval(_))) {
                return Decision::Wait { until: None };
            }
            let previous = Previous { started: state.last_started, finished: state.last_finished };
            match schedule.next_due(previous, now) {
                Some(due) if due <= now => match capacity(job, state.running, wanted) {
                    0 => Decision::Wait { until: None },
                    runs => Decision::Start { due: now, runs },
                },
                until => Decision::Wait { until },
            }
        }
    }
}

fn capacity(job: &Job, running: usize, wanted: usize) -> usize {
    if job.max_concurrency == 0 { wanted } else { (job.max_concurrency as usize).saturating_sub(running).min(wanted) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::JobSpec;

    fn job(yaml: &str) -> Job {
        let spec: JobSpec = serde_saphyr::from_str(yaml).expect("valid YAML");
        crate::resolve(&spec, "jobs[0]").expect("valid job")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    /// Walks a clock minute by minute from `from` to `until`, taking every decision as the
    /// scheduler would (a started run finishes at once), and returns the ticks started.
    fn walk(job: &Job, from: &str, until: &str) -> Vec<String> {
        let zone = jiff::tz::TimeZone::get("America/New_York").expect("zone");
        let mut state = JobState { last_due: Some(at(from)), ..JobState::default() };
        let mut started = Vec::new();
        let mut now = at(from);
        while now <= at(until) {
            match decide(job, &state, now) {
                Decision::Start { due, .. } => {
                    started.push(due.to_zoned(zone.clone()).strftime("%F %T %Z").to_string());
                    state.last_due = Some(due);
                }
                Decision::Skip { due, .. } => state.last_due = Some(due),
                Decision::Wait { .. } => {}
            }
            now = now.checked_add(jiff::SignedDuration::from_secs(60)).expect("time");
        }
        started
    }

    #[test]
    fn a_0230_job_runs_once_on_the_spring_forward_day() {
        let nightly = job("name: n\ncommand: [x]\ncron: '30 2 * * *'\ntimezone: America/New_York\n");
        assert_eq!(
            walk(&nightly, "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"),
            ["2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT"]
        );
    }

    #[test]
    fn a_0130_job_runs_once_on_the_fall_back_day() {
        let nightly = job("name: n\ncommand: [x]\ncron: '30 1 * * *'\ntimezone: America/New_York\n");
        assert_eq!(
            walk(&nightly, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
            ["2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST"]
        );
    }

    #[test]
    fn crio_evening_job_runs_at_2030_eastern_all_year() {
        let evening = job("name: n\ncommand: [x]\ncron: '30 20 * * *'\ntimezone: America/New_York\n");
        let runs = walk(&evening, "2026-03-07T12:00:00Z", "2026-03-10T12:00:00Z");
        assert_eq!(runs, ["2026-03-07 20:30:00 EST", "2026-03-08 20:30:00 EDT", "2026-03-09 20:30:00 EDT"]);
    }

    #[test]
    fn missed_ticks_collapse_into_one_run_for_the_latest() {
        let hourly = job("name: n\ncommand: [x]\ncron: '0 * * * *'\n");
        let state = JobState { last_due: Some(at("2026-11-22T01:00:00Z")), ..JobState::default() };
        assert_eq!(
            decide(&hourly, &state, at("2026-11-22T05:30:00Z")),
            Decision::Start { due: at("2026-11-22T05:00:00Z"), runs: 1 }
        );
        let taken = JobState { last_due: Some(at("2026-11-22T05:00:00Z")), ..state };
        assert_eq!(
            decide(&hourly, &taken, at("2026-11-22T05:30:00Z")),
            Decision::Wait { until: Some(at("2026-11-22T06:00:00Z")) },
            "a restart does not repeat the tick it took"
        );
    }

    #[test]
    fn a_tick_is_skipped_while_the_previous_run_goes_unless_configured() {
        let state = JobState { last_due: Some(at("2026-11-22T01:00:00Z")), running: 1, ..JobState::default() };
        let now = at("2026-11-22T02:00:00Z");
        let skipping = job("name: n\ncommand: [x]\ncron: '0 * * * *'\n");
        assert!(
            matches!(decide(&skipping, &state, now), Decision::Skip { reason, .. } if reason.contains("still going"))
        );
        let overlapping = job("name: n\ncommand: [x]\ncron: '0 * * * *'\nskip_if_running: false\nmax_concurrency: 2\n");
        assert_eq!(decide(&overlapping, &state, now), Decision::Start { due: now, runs: 1 });
        let full = JobState { running: 2, ..state };
        assert!(
            matches!(decide(&overlapping, &full, now), Decision::Skip { reason, .. } if reason.contains("max_concurrency 2"))
        );
    }

    #[test]
    fn a_matrix_starts_one_run_per_entry_within_max_concurrency() {
        let matrix = job(
            "name: n\ncommand: [x]\ncron: '0 * * * *'\nmatrix: {kubernetes: [v1.30.0, v1.31.0, v1.32.0]}\nmax_concurrency: 2\n",
        );
        let state = JobState { last_due: Some(at("2026-11-22T01:00:00Z")), ..JobState::default() };
        assert_eq!(
            decide(&matrix, &state, at("2026-11-22T02:00:00Z")),
            Decision::Start { due: at("2026-11-22T02:00:00Z"), runs: 2 }
        );
    }

    #[test]
    fn interval_jobs_start_at_once_then_after_the_interval() {
        let every = job("name: n\ncommand: [x]\ninterval: 1h\n");
        let now = at("2026-11-22T10:00:00Z");
        assert_eq!(decide(&every, &JobState::default(), now), Decision::Start { due: now, runs: 1 });
        let started = JobState { last_started: Some(now), ..JobState::default() };
        let later = at("2026-11-22T10:30:00Z");
        assert_eq!(decide(&every, &started, later), Decision::Wait { until: Some(at("2026-11-22T11:00:00Z")) });
        // A run that overruns its tick: the tick is skipped (once: the scheduler records it),
        // and the next run waits for the next tick on the grid, not for the run to end.
        let running = JobState { running: 1, ..started };
        assert_eq!(
            decide(&every, &running, at("2026-11-22T11:20:00Z")),
            Decision::Skip {
                due: at("2026-11-22T11:00:00Z"),
                reason: "1 run(s) of the previous tick still going".to_owned()
            }
        );
        let skipped = JobState { last_due: Some(at("2026-11-22T11:00:00Z")), ..running };
        assert_eq!(
            decide(&every, &skipped, at("2026-11-22T11:20:00Z")),
            Decision::Wait { until: Some(at("2026-11-22T12:00:00Z")) }
        );
        let overran = JobState { running: 0, last_finished: Some(at("2026-11-22T11:30:00Z")), ..skipped };
        assert_eq!(
            decide(&every, &overran, at("2026-11-22T11:30:01Z")),
            Decision::Wait { until: Some(at("2026-11-22T12:00:00Z")) }
        );
        assert_eq!(
            decide(&every, &overran, at("2026-11-22T12:00:00Z")),
            Decision::Start { due: at("2026-11-22T12:00:00Z"), runs: 1 }
        );
        let gap = job("name: n\ncommand: [x]\nminimum_interval: 1h\n");
        let finished = JobState { last_finished: Some(at("2026-11-22T10:45:00Z")), ..started };
        assert_eq!(decide(&gap, &finished, later), Decision::Wait { until: Some(at("2026-11-22T11:45:00Z")) });
    }
}
