//! Resolving a 12-entry matrix (4 Kubernetes minors × stable, latest and ci/latest markers) to
//! node images for two architectures, against a local server playing dl.k8s.io and the GitHub
//! API and the local registry (run `scripts/test-services.sh start` first):
//!
//! - cold: no cache, every marker, kind's notes, every registry check and verification asked
//!   for, with each upstream answer delayed 25 ms as a real network would be, to show the
//!   requests go in parallel (12 markers one after another would take 300 ms on their own);
//! - warm: markers and notes cached, verified images remembered (the registry is still asked
//!   that kind's published images exist);
//! - locked: every entry in slipway.lock (no network at all).
//!
//! Target: warm under 50 ms. `cargo bench -p slipway-env --bench resolve`

#![expect(clippy::print_stdout, reason = "a benchmark's output is its figures")]

use std::time::{Duration, Instant};

use slipway_core::{ImageReference, Version};
use slipway_env::kind_releases::KindReleases;
use slipway_env::lock::LockFile;
use slipway_env::markers::MarkerSource;
use slipway_env::node_image::{self, Plan, Source, Sources};
use slipway_env::policy::Policy;
use slipway_test::images::{NodePlatform, push_node_image, push_single_node_image};
use slipway_test::registry;
use slipway_test::upstream::Upstream;

const ROUNDS: usize = 20;
const DELAY: Duration = Duration::from_millis(25);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let client = registry::client();
    let published =
        ImageReference::parse(&format!("{}/{}", registry::address(), registry::unique_repository("kindest/node")))
            .expect("repository");
    let built = ImageReference::parse(&format!("{}/{}", registry::address(), registry::unique_repository("kind-node")))
        .expect("repository");
    let upstream = Upstream::start();
    let mut entries = Vec::new();
    let mut listed = Vec::new();
    for minor in 33..37 {
        let stable = format!("v1.{minor}.4");
        let latest = format!("v1.{minor}.5-rc.0");
        let ci = format!("v1.{minor}.5-rc.0.12+0123456789abc{minor}");
        upstream.file(&format!("release/stable-1.{minor}.txt"), &stable);
        upstream.file(&format!("release/latest-1.{minor}.txt"), &format!("{latest}\n"));
        upstream.file(&format!("ci/latest-1.{minor}.txt"), &ci);
        entries.extend([format!("stable-1.{minor}"), format!("latest-1.{minor}"), format!("ci/latest-1.{minor}")]);
        for version in [&stable, &latest] {
            let platforms = [NodePlatform::new("amd64", version), NodePlatform::new("arm64", version)];
            let digest = runtime.block_on(push_node_image(&client, &published.with_tag(version), &platforms));
            listed.push(format!("- {version}: `kindest/node:{version}@{digest}`"));
        }
        for arch in ["amd64", "arm64"] {
            let tag = node_image::built_tag(&ci, "v0.32.0", Some(arch));
            runtime.block_on(push_single_node_image(&client, &built.with_tag(&tag), &NodePlatform::new(arch, &ci)));
        }
    }
    upstream.release("v0.32.0", &format!("Images pre-built for this release:\n{}\n", listed.join("\n")));
    upstream.delay(DELAY);
    let plan = Plan {
        entries,
        kind: Version::parse("v0.32.0").expect("version"),
        arches: vec!["amd64".into(), "arm64".into()],
        policy: Policy::PublishedOrBuild,
        registry: Some(built),
        published_repository: published,
        update: false,
    };

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut locked = Vec::new();
    let mut requests = 0;
    for _ in 0..ROUNDS {
        let cache = tempfile::tempdir().expect("cache");
        let sources = Sources {
            markers: MarkerSource::new(Some(&upstream.url), Some(cache.path().join("markers"))),
            releases: KindReleases::new(Some(&upstream.url), Some(cache.path().join("env")), Duration::from_secs(600)),
            registry: client.clone(),
            client: reqwest::Client::new(),
            verified: Some(cache.path().join("verified")),
        };
        let before = upstream.requests();
        let started = Instant::now();
        let images = runtime.block_on(node_image::resolve(&sources, &plan, &LockFile::empty()));
        cold.push(started.elapsed());
        requests = upstream.requests() - before;
        assert!(images.iter().all(|image| image.source != Source::Missing), "every entry resolves");
        let started = Instant::now();
        let images = runtime.block_on(node_image::resolve(&sources, &plan, &LockFile::empty()));
        warm.push(started.elapsed());
        let lock = node_image::next_lock(&LockFile::empty(), &images, &plan.entries, "v0.32.0", &plan.arches);
        let started = Instant::now();
        let from_lock = runtime.block_on(node_image::resolve(&sources, &plan, &lock));
        locked.push(started.elapsed());
        assert!(from_lock.iter().all(|image| image.source == Source::Lock));
    }
    println!("resolve: 12 entries (4 minors x stable/latest/ci markers) x 2 architectures = 24 node images");
    println!("  upstream answers delayed {} ms; {requests} upstream requests per cold run", DELAY.as_millis());
    for (name, samples) in [("cold", &mut cold), ("warm cache", &mut warm), ("locked", &mut locked)] {
        samples.sort();
        let median = samples[samples.len() / 2];
        let worst = samples[samples.len() - 1];
        println!("  {name:<10} median {:>7.1} ms   max {:>7.1} ms", ms(median), ms(worst));
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
