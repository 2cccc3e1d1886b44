//! Shared helpers for the end-to-end tests: paths, running the CLI, and
//! generating the binary demo inputs (nothing generated is committed).

#![allow(dead_code)]

pub mod exec;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `corpus/demo`.
pub fn demo(rel: &str) -> String {
    root().join("corpus/demo").join(rel).display().to_string()
}

/// All `.wat` files of a demo set, sorted.
pub fn demo_set(set: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("corpus/demo").join(set))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// Runs the `weld` binary.
pub fn weld<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weld"))
        .args(args)
        .output()
        .expect("weld runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Converts a demo WAT file to a binary in `dir` and returns its path.
pub fn wasm_of(dir: &Path, rel: &str) -> PathBuf {
    let bytes = wat::parse_file(root().join("corpus/demo").join(rel)).unwrap();
    let out = dir.join(Path::new(rel).with_extension("wasm").file_name().unwrap());
    std::fs::write(&out, bytes).unwrap();
    out
}

/// The broken inputs: (name, bytes). `truncated` is a real module cut
/// inside its code section.
pub fn broken_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let good = wat::parse_file(root().join("corpus/demo/chain/b.wat")).unwrap();
    let truncated = good[..good.len() - 6].to_vec();
    // A fixed pseudo-random sequence (xorshift), so failures reproduce.
    let mut x: u32 = 0x9e37_79b9;
    let random: Vec<u8> = (0..256)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    vec![
        ("truncated.wasm", truncated),
        ("empty.wasm", Vec::new()),
        ("random.wasm", random),
        ("notes.txt", b"just some notes, not wasm\n".to_vec()),
    ]
}

/// A real binary fetched by `corpus/fetch ID` (`corpus/real.lock`), as
/// `<cache>/<id>.wasm`. When it is missing: under CI (`CI` set to anything
/// non-empty) this panics, since a test that passes on nothing hides a broken
/// fetch; elsewhere it prints `skipped: <why>` to stderr and returns `None`.
pub fn real_binary(id: &str) -> Option<PathBuf> {
    let path = real_cache().join(format!("{id}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{} not fetched (run `corpus/fetch {id}`; it needs the npm registry)",
        path.display()
    );
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; CI is set, so a missing real binary is a failure, not a skip");
    }
    eprintln!("skipped: {why}");
    None
}

/// The weld cache the corpus scripts fill (`WELD_CACHE`, else
/// `~/.cache/weld`).
pub fn cache() -> PathBuf {
    match std::env::var_os("WELD_CACHE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/weld"),
    }
}

/// Where `corpus/fetch` puts real binaries.
pub fn real_cache() -> PathBuf {
    cache().join("real")
}

/// The WIT of a component, as `wasm-tools component wit` (`tools`) prints it.
pub fn wit(tools: &Path, component: &Path) -> String {
    let o = Command::new(tools)
        .args(["component", "wit"])
        .arg(component)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "wasm-tools component wit {}: {}",
        component.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
