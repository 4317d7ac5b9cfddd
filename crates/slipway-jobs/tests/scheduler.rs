//! The scheduler against a real SQLite store, with a clock the test moves: daylight-saving days,
//! restarts, downtime, and runs still going.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use slipway_jobs::scheduler::{Event, Launcher, Service};
use slipway_jobs::{Job, JobSpec};
use slipway_store::{Run, RunState, Store, Trigger};

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Timestamp, usize)>>);

impl Launcher for Recorder {
    fn launch(&self, job: &Job, runs: usize, due: Timestamp) {
        self.0.lock().expect("lock").push((job.name.clone(), due, runs));
    }
}

fn job(yaml: &str) -> Job {
    let spec: JobSpec = serde_saphyr::from_str(yaml).expect("valid YAML");
    slipway_jobs::resolve(&spec, "jobs[0]").expect("valid job")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

async fn store(directory: &tempfile::TempDir) -> Store {
    Store::open(&format!("sqlite:{}", directory.path().join("state.db").display())).await.expect("store")
}

/// Ticks `service` every `step` from `from` (inclusive) to `until` (exclusive).
async fn walk(service: &mut Service, from: &str, until: &str, step: i64) -> Vec<Event> {
    let mut events = Vec::new();
    let mut now = at(from);
    while now < at(until) {
        events.extend(service.tick(now).await.expect("tick").0);
        now = now.checked_add(SignedDuration::from_secs(step)).expect("time");
    }
    events
}

fn eastern(recorder: &Recorder) -> Vec<String> {
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("zone");
    recorder
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, due, _)| due.to_zoned(zone.clone()).strftime("%F %H:%M %Z").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_neither_repeat_nor_lose_a_tick_across_daylight_saving() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory).await;
    let nightly = job("name: nightly\ncommand: [x]\ncron: '30 2 * * *'\ntimezone: America/New_York\n");
    let recorder = Arc::new(Recorder::default());

    let mut first = Service::new(store.clone(), vec![nightly.clone()], recorder.clone());
    walk(&mut first, "2026-03-07T00:00:00Z", "2026-03-08T07:05:00Z", 300).await;
    assert_eq!(eastern(&recorder), ["2026-03-07 02:30 EST", "2026-03-08 03:00 EDT"], "spring forward: once, at 03:00");

    // A restart right after the spring-forward run: it is not repeated.
    let mut second = Service::new(store.clone(), vec![nightly.clone()], recorder.clone());
    walk(&mut second, "2026-03-08T07:05:00Z", "2026-03-08T12:00:00Z", 300).await;
    assert_eq!(recorder.0.lock().expect("lock").len(), 2);

    // Down from before 02:30 on 03-09 until 09:00: the missed tick runs once, late.
    drop(second);
    let mut third = Service::new(store.clone(), vec![nightly.clone()], recorder.clone());
    walk(&mut third, "2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z", 300).await;
    assert_eq!(eastern(&recorder)[2], "2026-03-09 02:30 EDT", "the tick missed while down still runs");
    assert!(recorder.0.lock().expect("lock")[2].1 < at("2026-03-09T13:00:00Z"));
    assert_eq!(recorder.0.lock().expect("lock").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fall_back_runs_a_0130_job_once() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory).await;
    let nightly = job("name: nightly\ncommand: [x]\ncron: '30 1 * * *'\ntimezone: America/New_York\n");
    let recorder = Arc::new(Recorder::default());
    let mut service = Service::new(store, vec![nightly], recorder.clone());
    walk(&mut service, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z", 300).await;
    assert_eq!(eastern(&recorder), ["2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_is_skipped_while_a_run_is_going() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory).await;
    let hourly = job("name: hourly\ncommand: [x]\ncron: '0 * * * *'\n");
    let recorder = Arc::new(Recorder::default());
    let mut service = Service::new(store.clone(), vec![hourly], recorder.clone());
    service.tick(at("2026-11-22T10:30:00Z")).await.expect("tick");
    let now = jiff::Timestamp::now().as_second();
    store
        .insert_run(&Run {
            id: "r1".into(),
            job: "hourly".into(),
            base_job: "hourly".into(),
            build_id: "1".into(),
            variant: String::new(),
            trigger: Trigger::Schedule,
            state: RunState::Running,
            due_at: None,
            created_at: now,
            started_at: Some(now),
            finished_at: None,
            heartbeat_at: now,
            exit_code: None,
            description: "running".into(),
            executor: "local".into(),
            owner_host: "here".into(),
            owner_pid: 1,
            artifacts: String::new(),
            log_path: String::new(),
            revision: String::new(),
        })
        .await
        .expect("insert");
    let (events, _) = service.tick(at("2026-11-22T11:00:00Z")).await.expect("tick");
    assert!(
        matches!(&events[..], [Event::Skipped { job, reason, .. }] if job == "hourly" && reason.contains("still going")),
        "{events:?}"
    );
    assert!(recorder.0.lock().expect("lock").is_empty());
    store.finish_run("r1", RunState::Success, Some(0), "passed", now).await.expect("finish");
    let (events, _) = service.tick(at("2026-11-22T12:00:00Z")).await.expect("tick");
    assert!(matches!(&events[..], [Event::Started { .. }]), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_wake_is_the_earliest_due_tick() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = store(&directory).await;
    let jobs = vec![
        job("name: a\ncommand: [x]\ncron: '30 20 * * *'\ntimezone: America/New_York\n"),
        job("name: b\ncommand: [x]\ncron: '0 * * * *'\n"),
    ];
    let mut service = Service::new(store, jobs, Arc::new(Recorder::default()));
    let (_, wake) = service.tick(at("2026-11-22T10:10:00Z")).await.expect("tick");
    assert_eq!(wake, Some(at("2026-11-22T11:00:00Z")));
}
