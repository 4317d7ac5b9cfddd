//! Load and faults for `slipway lease serve`, with figures.
//!
//! 64 concurrent clients do acquire/release pairs over 100 resources, each checking against a
//! shared record that no resource is ever held by two owners at once (a client marks a
//! resource as its own when the server gives it, and unmarks it before it releases it, so any
//! overlap the server allows is seen). Phases:
//! 1. SQLite, one server: pairs per second and p50/p99 latency of a pair;
//! 2. SQLite, the server killed with SIGKILL and restarted several times during the run;
//! 3. PostgreSQL (the test service on 127.0.0.1:55432), two replicas behind the clients, one of
//!    them killed and restarted during the run.
//!
//! After each phase every client gives back what the server says it holds (a client whose
//! acquire was answered by a dying server does not know it got one), and all 100 resources must
//! be there and free.
//!
//! `LEASE_BENCH_PAIRS` sets the pairs of every run (default 200,000); `LEASE_BENCH_POSTGRES=0`
//! skips phase 3, whose two runs take about three minutes each here.

#![expect(clippy::print_stdout, clippy::print_stderr, reason = "a benchmark's output is its figures")]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const RESOURCES: usize = 100;

fn main() {
    let pairs: u64 = std::env::var("LEASE_BENCH_PAIRS").ok().and_then(|text| text.parse().ok()).unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let directory = tempfile::tempdir().expect("temporary directory");
    let names: Vec<String> = (0..RESOURCES).map(|n| format!("res-{n:03}")).collect();
    fs_err::write(
        directory.path().join("resources.yaml"),
        format!("resources:\n- type: bench\n  names: [{}]\n", names.join(", ")),
    )
    .expect("write resources.yaml");

    println!("lease load: {CLIENTS} clients, {RESOURCES} resources, acquire+release pairs");
    let sqlite = format!("sqlite:{}", directory.path().join("leases.db").display());
    let mut servers = vec![Server::start(directory.path(), &sqlite)];
    let figures = runtime.block_on(run(addresses(&servers), pairs, None));
    report("SQLite, one server", &figures);
    check(&runtime, &servers, &figures);

    // Kills spread over the fault phase, whose length phase 1's rate predicts.
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let expected = Duration::from_secs_f64(pairs as f64 / (figures.pairs as f64 / figures.elapsed.as_secs_f64()));
    let restarts = Restarts { every: (expected / 5).max(Duration::from_millis(100)), times: 3 };
    let figures = runtime.block_on(run(addresses(&servers), pairs, Some((&mut servers[..1], restarts))));
    report("SQLite, server killed with SIGKILL and restarted 3 times", &figures);
    check(&runtime, &servers, &figures);
    drop(servers);

    if std::env::var("LEASE_BENCH_POSTGRES").as_deref() != Ok("0") {
        let database = slipway_test::postgres::database();
        let mut replicas = vec![Server::start(directory.path(), &database), Server::start(directory.path(), &database)];
        let figures = runtime.block_on(run(addresses(&replicas), pairs, None));
        report("PostgreSQL, two replicas", &figures);
        check(&runtime, &replicas, &figures);
        // The kills spread over this run too, which goes at PostgreSQL's pace.
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let expected = Duration::from_secs_f64(pairs as f64 / (figures.pairs as f64 / figures.elapsed.as_secs_f64()));
        let restarts = Restarts { every: (expected / 5).max(Duration::from_millis(100)), times: 3 };
        let figures = runtime.block_on(run(addresses(&replicas), pairs, Some((&mut replicas[1..], restarts))));
        report("PostgreSQL, two replicas, one killed and restarted 3 times", &figures);
        check(&runtime, &replicas, &figures);
    }
}

fn addresses(servers: &[Server]) -> Vec<String> {
    servers.iter().map(|server| server.address.clone()).collect()
}

/// A `slipway lease serve` process.
struct Server {
    child: Child,
    address: String,
    directory: std::path::PathBuf,
    database: String,
}

impl Server {
    fn start(directory: &std::path::Path, database: &str) -> Server {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
        let mut server = Server {
            child: spawn(directory, database, port),
            address: format!("127.0.0.1:{port}"),
            directory: directory.to_path_buf(),
            database: database.to_owned(),
        };
        server.wait_up();
        server
    }

    fn wait_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&self.address).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            assert!(self.child.try_wait().ok().flatten().is_none(), "the server exited");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.address.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).expect("port");
        self.child = spawn(&self.directory, &self.database, port);
        self.wait_up();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(directory: &std::path::Path, database: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["lease", "serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", database])
        .current_dir(directory)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slipway lease serve")
}

#[derive(Clone, Copy)]
struct Restarts {
    every: Duration,
    times: usize,
}

struct Figures {
    pairs: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    double_leases: u64,
    transport_errors: u64,
}

/// Runs `pairs` pairs over the servers at `addresses` (client n uses server n mod count), killing and
/// restarting `faults` as they say.
async fn run(addresses: Vec<String>, pairs: u64, faults: Option<(&mut [Server], Restarts)>) -> Figures {
    let held: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let remaining = Arc::new(AtomicU64::new(pairs));
    let doubles = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let base = format!("http://{}", addresses[client % addresses.len()]);
        let (held, remaining, doubles, errors) = (held.clone(), remaining.clone(), doubles.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let owner = format!("client-{client}");
            let mut latencies = Vec::new();
            while remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok() {
                let began = Instant::now();
                let acquired =
                    http.post(format!("{base}/acquire?type=bench&state=free&dest=busy&owner={owner}")).send().await;
                let name = match acquired {
                    Ok(response) if response.status().as_u16() == 200 => {
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        body["name"].as_str().unwrap_or_default().to_owned()
                    }
                    Ok(_) => {
                        // Nothing free at this moment: the pair is not done; try again.
                        remaining.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::SeqCst);
                        remaining.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Ok(mut held) = held.lock()
                    && let Some(other) = held.insert(name.clone(), client)
                {
                    doubles.fetch_add(1, Ordering::SeqCst);
                    eprintln!("DOUBLE LEASE: {name} given to client {client} while client {other} holds it");
                }
                // Unmarked before the release is sent: from here on another client may get it.
                if let Ok(mut held) = held.lock() {
                    held.remove(&name);
                }
                loop {
                    match http.post(format!("{base}/release?name={name}&dest=free&owner={owner}")).send().await {
                        Ok(_) => break,
                        Err(_) => {
                            errors.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    if let Some((servers, restarts)) = faults {
        for _ in 0..restarts.times {
            tokio::time::sleep(restarts.every).await;
            for server in servers.iter_mut() {
                server.kill_and_restart();
            }
        }
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    Figures {
        pairs,
        elapsed: started.elapsed(),
        latencies,
        double_leases: doubles.load(Ordering::SeqCst),
        transport_errors: errors.load(Ordering::SeqCst),
    }
}

fn report(phase: &str, figures: &Figures) {
    let mut latencies = figures.latencies.clone();
    latencies.sort();
    let at = |q: f64| {
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "an index"
        )]
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = figures.pairs as f64 / figures.elapsed.as_secs_f64();
    println!("{phase}:");
    println!(
        "  {} pairs in {:.2} s: {rate:.0} pairs/s; a pair p50 {:.2} ms, p99 {:.2} ms; {} double leases; {} transport errors retried",
        figures.pairs,
        figures.elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        figures.double_leases,
        figures.transport_errors
    );
}

/// Every client gives back what the server says it still holds; then every resource must be
/// there and free, and no double lease may have been seen.
fn check(runtime: &tokio::runtime::Runtime, servers: &[Server], figures: &Figures) {
    assert_eq!(figures.double_leases, 0, "a resource was held by two owners at once");
    let base = format!("http://{}", servers[0].address);
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let listing: serde_json::Value = http
            .get(format!("{base}/slipway/v1/resources?type=bench"))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let resources = listing["resources"].as_array().expect("resources").clone();
        let mut given_back = 0;
        for resource in &resources {
            let owner = resource["owner"].as_str().unwrap_or_default();
            if !owner.is_empty() {
                let name = resource["name"].as_str().unwrap_or_default();
                let answer = http.post(format!("{base}/release?name={name}&dest=free&owner={owner}")).send().await.expect("release");
                assert_eq!(answer.status().as_u16(), 200);
                given_back += 1;
            }
        }
        let listing: serde_json::Value =
            http.get(format!("{base}/slipway/v1/resources?type=bench")).send().await.expect("list").json().await.expect("json");
        let resources = listing["resources"].as_array().expect("resources");
        let free = resources.iter().filter(|resource| resource["state"] == "free" && resource["owner"] == "").count();
        println!(
            "  afterwards: {} of {RESOURCES} resources, {free} free ({given_back} given back by clients that did not know they held them)",
            resources.len()
        );
        assert_eq!((resources.len(), free), (RESOURCES, RESOURCES), "no resource is lost");
    });
}
