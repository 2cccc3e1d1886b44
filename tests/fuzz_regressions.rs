//! Replays every input under `fuzz/regressions/<target>/` through its fuzz
//! target, so each crash found stays fixed, and runs every target on a few
//! fixed seeds so the targets do not rot between fuzzing runs.

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;
// The differential run of the fuse target (`crate::exec` there).
#[path = "common/exec.rs"]
#[allow(dead_code)]
mod exec;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name() != ".gitkeep")
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Deterministic pseudo-random seeds (xorshift), `n` of `len` bytes.
fn seeds(n: usize, len: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect()
}

#[test]
fn load_survey_regressions_and_smoke() {
    for (name, data) in inputs("load_survey") {
        eprintln!("replaying load_survey/{name}");
        targets::load_survey(&data);
    }
    for s in seeds(64, 512) {
        targets::load_survey(&s);
    }
    // Valid modules too: every demo input, cut at every 7th byte.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo/tables/app.wat");
    let bytes = wat::parse_file(demo).unwrap();
    for cut in (0..=bytes.len()).step_by(7) {
        targets::load_survey(&bytes[..cut]);
    }
}

#[test]
fn fuse_regressions_and_smoke() {
    for (name, data) in inputs("fuse") {
        eprintln!("replaying fuse/{name}");
        let _ = targets::fuse(&mut arbitrary::Unstructured::new(&data));
    }
    for s in seeds(40, 4096) {
        let _ = targets::fuse(&mut arbitrary::Unstructured::new(&s));
    }
}

#[test]
fn names_regressions_and_smoke() {
    for (name, data) in inputs("names") {
        eprintln!("replaying names/{name}");
        targets::names(&data);
    }
    for s in seeds(200, 40) {
        targets::names(&s);
    }
    for pair in [
        "a:b/c@0.2.0\na:b/c@0.2.3",
        "a:b/c@1.0.0\na:b/c@2.0.0",
        "x\nx",
        "sha256-00\nsha256:00",
    ] {
        targets::names(pair.as_bytes());
    }
}

#[test]
fn split_bundle_regressions_and_smoke() {
    for (_, data) in inputs("split_bundle") {
        let _ = targets::split_bundle(&mut arbitrary::Unstructured::new(&data));
    }
    for s in seeds(64, 4096) {
        let _ = targets::split_bundle(&mut arbitrary::Unstructured::new(&s));
    }
}

#[test]
fn compose_regressions_and_smoke() {
    for (name, data) in inputs("compose") {
        eprintln!("replaying compose/{name}");
        let _ = targets::compose(&mut arbitrary::Unstructured::new(&data));
    }
    for s in seeds(120, 1024) {
        let _ = targets::compose(&mut arbitrary::Unstructured::new(&s));
    }
}
