//! The scheduler's next-run computation for 10,000 periodic jobs (target: under 50 ms).
//!
//! Jobs mix the shapes test-infra has: kops-style hashed crons (`<m> <h> * * <dow>` and
//! `<m> <h>-23/<n> * * *`), daily evening jobs in several time zones, and intervals. The
//! figure is one full pass of `decide` over every job, as `slipway schedule` does per tick
//! for the jobs it wakes for (it normally wakes for far fewer).

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::Instant;

use slipway_job_model::decide::{JobState, decide};
use slipway_job_model::{Job, JobSpec};

const JOBS: usize = 10_000;
const ZONES: [&str; 5] = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"];

fn jobs() -> Vec<Job> {
    (0..JOBS)
        .map(|index| {
            let minute = (index * 7) % 60;
            let hour = (index * 13) % 24;
            let mut spec = JobSpec { name: format!("job-{index}"), ..JobSpec::default() };
            spec.command = Some(slipway_job_model::spec::CommandSpec::Argv(vec!["true".to_owned()]));
            match index % 4 {
                0 => spec.cron = Some(format!("{minute} {hour} * * {}", index % 7)),
                1 => spec.cron = Some(format!("{minute} {}-23/{} * * *", hour % 6, 1 + index % 6)),
                2 => {
                    spec.cron = Some(format!("{minute} 20 * * *"));
                    spec.timezone = Some(ZONES[index % ZONES.len()].to_owned());
                }
                _ => spec.interval = Some(format!("{}h", 1 + index % 24)),
            }
            slipway_job_model::resolve(&spec, "jobs").expect("valid job")
        })
        .collect()
}

fn main() {
    let started = Instant::now();
    let jobs = jobs();
    let parse = started.elapsed();
    let now = jiff::Timestamp::now();
    let state = JobState { last_due: Some(now), last_started: Some(now), ..JobState::default() };
    let mut best = f64::MAX;
    let mut waiting = 0;
    for _ in 0..5 {
        let pass = Instant::now();
        waiting = jobs
            .iter()
            .filter(|job| matches!(decide(job, &state, now), slipway_job_model::decide::Decision::Wait { .. }))
            .count();
        best = best.min(pass.elapsed().as_secs_f64());
    }
    println!("jobs: {JOBS} (parsed and checked in {:.1} ms)", parse.as_secs_f64() * 1000.0);
    println!("next run of every job: {:.1} ms per pass (best of 5; target < 50 ms); {waiting} waiting", best * 1000.0);
}
