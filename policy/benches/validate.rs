//! The native rule on the requests `host-harness bench` runs through policy.wasm: the same payload bytes into the same
//! function the wasm `validate` export calls (`entry::validate`), so bench/compare.sh can print the wasm/native ratio.
//!
//! Requests: tests/fixtures/requests/*.json (not expected.json) and bench/requests/*.json; settings: `{}`, or the JSON
//! in REQUIRE_DIGEST_BENCH_SETTINGS. Each benchmark is named after its request file's stem, as in `host-harness bench`.
//! Run: `cargo bench -p require-digest --bench validate` (add `-- --measurement-time 2` for a shorter run).

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use require_digest::entry;
use require_digest::resolver::TableResolver;
use serde_json::{Value, json};

const REQUEST_DIRS: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/requests"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/requests"),
];

fn request_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in REQUEST_DIRS {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|error| panic!("listing {dir}: {error}"));
        let mut in_dir: Vec<PathBuf> = entries
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "json")
                    && path.file_name().is_some_and(|name| name != "expected.json")
            })
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

/// The validation payload for the request in `path`: `{"request": …, "settings": …}`, as the host sends it.
fn payload(path: &Path, settings: &Value) -> Vec<u8> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let mut request: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
    // An AdmissionReview carries the AdmissionRequest in `request`, as `host-harness bench` unwraps it.
    if request.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        request = request["request"].take();
    }
    serde_json::to_vec(&json!({ "request": request, "settings": settings }))
        .expect("a Value serializes")
}

fn validate(c: &mut Criterion) {
    let settings: Value = match std::env::var("REQUIRE_DIGEST_BENCH_SETTINGS") {
        Ok(text) => serde_json::from_str(&text).expect("REQUIRE_DIGEST_BENCH_SETTINGS is JSON"),
        Err(_) => json!({}),
    };
    // No digests: a request that needs resolving fails to resolve, as `host-harness bench` skips those anyway.
    let resolver = TableResolver::default();
    let mut group = c.benchmark_group("validate");
    for path in request_files() {
        let name = path
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let payload = payload(&path, &settings);
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| entry::validate(std::hint::black_box(&payload), &resolver))
        });
    }
    group.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
