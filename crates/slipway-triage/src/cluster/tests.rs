use super::*;

fn failure(test: &str, build: &str, text: &str) -> Failure {
    Failure { test: test.to_owned(), build: build.to_owned(), started: None, text: text.to_owned() }
}

/// A cluster as `(size, key, [(test, size)])`.
type Summary = (usize, String, Vec<(String, usize)>);

fn summary(clustering: &Clustering) -> Vec<Summary> {
    clustering
        .clusters
        .iter()
        .map(|cluster| {
            let tests = cluster.tests.iter().map(|test| (test.name.clone(), test.failures.len())).collect();
            (cluster.size(), cluster.key.clone(), tests)
        })
        .collect()
}

fn sample() -> Vec<Failure> {
    let long =
        "error waiting for the deployment to complete its rollout: the replica set has not observed the new pods";
    vec![
        failure("t1", "b1", "Expected <int>: 71 to equal <int>: 56"),
        failure("t1", "b2", "Expected <int>: 3 to equal <int>: 4"),
        failure("t1", "b3", &format!("{long} (after 10m0s)")),
        failure("t2", "b1", &format!("{long}! (after 5m0s)")),
        failure("t2", "b2", "Expected <int>: 1 to equal <int>: 2"),
        failure("t3", "b3", "something else entirely"),
        failure("t3", "b4", ""),
    ]
}

#[test]
fn clusters_snapshot() {
    let clustering = cluster(&sample(), &[], &Options::default());
    insta::assert_debug_snapshot!(summary(&clustering));
}

#[test]
fn every_failure_is_in_exactly_one_cluster() {
    let failures = sample();
    for options in [
        Options::default(),
        Options { normalizer: Normalizer::Triage, exemplars: 1, value_aware: false, ..Options::default() },
    ] {
        let clustering = cluster(&failures, &[], &options);
        let mut seen: Vec<usize> = clustering
            .clusters
            .iter()
            .flat_map(|cluster| &cluster.tests)
            .flat_map(|test| test.failures.clone())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..failures.len()).collect::<Vec<_>>(), "{options:?}");
    }
}

#[test]
fn triage_rules_keep_numbers_apart() {
    let options = Options { normalizer: Normalizer::Triage, exemplars: 1, value_aware: false, ..Options::default() };
    let clustering = cluster(&sample(), &[], &options);
    let expected = clustering.clusters.iter().filter(|cluster| cluster.key.starts_with("Expected")).count();
    // 71/56 and 3/4 are more than 10% apart; 3/4 and 1/2 are not.
    assert_eq!(expected, 2, "Triage does not normalize plain numbers: {:#?}", summary(&clustering));
}

#[test]
fn previous_keys_keep_their_ids() {
    let failures = sample();
    let first = cluster(&failures, &[], &Options::default());
    let keys: Vec<String> = first.clusters.iter().map(|cluster| cluster.key.clone()).collect();
    // The same failures in another order would pick other keys; seeded, they keep the old ones.
    let mut reversed = failures;
    reversed.reverse();
    for failure in &mut reversed {
        failure.build = format!("z{}", failure.build);
    }
    let seeded = cluster(&reversed, &[keys.clone(), vec!["stale key 7".to_owned()]].concat(), &Options::default());
    assert_eq!(seeded.lost, 1, "a key that is not normalized is lost, as in Triage");
    let mut seeded_keys: Vec<String> = seeded.clusters.iter().map(|cluster| cluster.key.clone()).collect();
    let mut keys = keys;
    seeded_keys.sort();
    keys.sort();
    assert_eq!(seeded_keys, keys);
}

#[test]
fn singletons_are_kept_and_marked() {
    let clustering = cluster(&sample(), &[], &Options::default());
    let singletons: Vec<&str> = clustering
        .clusters
        .iter()
        .filter(|cluster| cluster.is_singleton())
        .map(|cluster| cluster.key.as_str())
        .collect();
    assert_eq!(singletons, ["", "something else entirely"]);
}
