//! Architecture invariants that live in the dependency graph: the analyzer and the snapshot
//! contract never link tokio or the AWS SDK, and no crate turns on order-preserving maps.

#![expect(clippy::unwrap_used, reason = "test helpers")]

use std::process::Command;

fn cargo_tree(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .arg("tree")
        .args(args)
        .args(["--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn assert_pure(package: &str) {
    let tree = cargo_tree(&["-p", package, "-e", "normal,build"]);
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            name.starts_with("aws-") || name == "tokio" || name.starts_with("tokio-")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "{package} must not depend on the AWS SDK or tokio, found: {offenders:?}"
    );
    assert!(
        tree.contains(package),
        "cargo tree printed nothing useful:\n{tree}"
    );
}

#[test]
fn analyzer_links_no_aws_sdk_and_no_tokio() {
    assert_pure("headroom-analyzer");
}

#[test]
fn schemas_links_no_aws_sdk_and_no_tokio() {
    assert_pure("headroom-schemas");
}

#[test]
fn the_analyzer_alone_does_not_enable_preserve_order() {
    // Feature unification lets any dependency switch serde_json or minijinja maps to
    // insertion order for everyone. The collector's aws-smithy-mocks does so for serde_json
    // in workspace test builds, which is why output built from `Value`s goes through
    // `headroom_schemas::canonical`, and why the test script also runs the analyzer's tests on
    // their own (see scripts/test). Here: nothing the analyzer itself pulls in may do it.
    for krate in ["serde_json", "minijinja"] {
        let tree = cargo_tree(&["-p", "headroom-analyzer", "-e", "features", "-i", krate]);
        assert!(
            !tree.contains("preserve_order"),
            "{krate} has preserve_order enabled in the analyzer's own build:\n{tree}"
        );
    }
}
