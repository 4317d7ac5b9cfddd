//! The ledger's store and the promoter manifest, through their real seams: concurrent writers on
//! a directory and on S3 (moto), and a manifest served over HTTP.

use std::io::{Read, Write};

use slipway_artifacts::Storage;
use slipway_release::ledger::record::{GitFacts, ImageFacts, ReleaseRecord, RenderedFacts};
use slipway_release::ledger::{Ledger, Writer};

fn writer(command: &str) -> Writer {
    Writer { command: command.to_owned(), by: "Test <t@t>".to_owned(), at: "2026-12-02T00:00:00Z".to_owned() }
}

/// Sixteen writers, each adding one image of its own to the same release at the same time: every
/// image ends up in the record, and no writer's fact replaced another's.
async fn racing_writers_lose_nothing(storage: Storage) {
    let ledger = Ledger::new(storage);
    let mut first = ReleaseRecord::new("1.0.0", "v1.0.0");
    first.git = Some(GitFacts { commit: "c1".into(), tag_object: None });
    first.rendered.push(RenderedFacts::new("overlay", "config/default", ["r.io/app:v1.0.0".to_owned()]));
    let tasks: Vec<_> = (0..16)
        .map(|index| {
            let ledger = ledger.clone();
            let mut facts = first.clone();
            facts.images.push(ImageFacts {
                repository: format!("r.io/app-{index:02}"),
                tag: "v1.0.0".into(),
                digest: format!("sha256:{index:064}"),
                platforms: Vec::new(),
            });
            tokio::spawn(async move { ledger.record(&facts, &writer(&format!("writer {index}"))).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let recorded = task.await.expect("the task ran").expect("recorded");
        assert!(recorded.conflicts.is_empty(), "{:?}", recorded.conflicts);
        created += usize::from(recorded.created);
    }
    assert_eq!(created, 1, "exactly one writer created the record");
    let record = ledger.read("v1.0.0").await.expect("reads").expect("exists").expect("a valid record");
    assert_eq!(record.images.len(), 16, "every writer's image is there");
    assert_eq!(record.events.len(), 16, "every write is an event");
    assert_eq!(ledger.tags().await.expect("lists"), ["v1.0.0"]);

    // A different fact for what is recorded is a conflict, and the record keeps its own.
    let mut moved = first.clone();
    moved.git = Some(GitFacts { commit: "c2".into(), tag_object: None });
    let recorded = ledger.record(&moved, &writer("later")).await.expect("recorded");
    assert_eq!(recorded.conflicts.len(), 1);
    let record = ledger.read("v1.0.0").await.expect("reads").expect("exists").expect("valid");
    assert_eq!(record.git.map(|git| git.commit).as_deref(), Some("c1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_on_a_directory() {
    let directory = tempfile::tempdir().expect("temporary directory");
    racing_writers_lose_nothing(Storage::open(&directory.path().display().to_string()).expect("opens")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_on_s3() {
    let bucket = slipway_test::s3::unique_bucket("ledger-race");
    let storage =
        Storage::open_with(&format!("s3://{bucket}/project"), slipway_test::s3::environment()).expect("opens");
    racing_writers_lose_nothing(storage).await;
}

#[tokio::test]
async fn a_promoter_manifest_is_read_from_a_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address");
    let body = "- name: hello-operator\n  dmap:\n    \"sha256:abcd\": [\"v0.4.0\"]\n";
    let server = std::thread::spawn(move || {
        for (index, stream) in listener.incoming().take(2).enumerate() {
            let mut stream = stream.expect("a connection");
            let mut request = [0_u8; 1024];
            let _ = stream.read(&mut request);
            let response = if index == 0 {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
            };
            stream.write_all(response.as_bytes()).expect("respond");
        }
    });
    let root = std::path::Path::new(".");
    let url = format!("http://{address}/images.yaml");
    let manifest = slipway_release::promoter::load(&url, root).await.expect("loads");
    let image = slipway_core::ImageReference::parse("ghcr.io/example-org/hello-operator").expect("valid");
    assert_eq!(manifest.check(&image, "v0.4.0", "sha256:abcd"), None);
    assert!(manifest.check(&image, "v0.4.0", "sha256:ffff").is_some());
    let missing = slipway_release::promoter::load(&url, root).await.expect_err("404");
    assert!(missing.to_string().contains("404"), "{missing}");
    assert_eq!(missing.exit_code(), 3);
    server.join().expect("the server ran");
}
