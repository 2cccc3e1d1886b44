//! What the tests of `weld link` and `weld flatten` share: the C library
//! sets `corpus/build-dylink` builds, the preview1 adapter, the PyPI
//! wasmtime venv, running a `wasi:cli/run` component, and
//! `wasm-tools component link` as the reference.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{cache, root};
use crate::harness::missing;

/// The built set `name` (its folder), with the sysroot's libc.so and the
/// adapter beside it; missing is a failure under CI.
pub fn set(name: &str) -> Option<PathBuf> {
    let dir = cache().join("dylink").join(name);
    let ready = dir.join("main.so").is_file()
        && cache().join("dylink/sysroot/libc.so").is_file()
        && cache()
            .join("dylink/adapter/wasi_snapshot_preview1.command.wasm")
            .is_file();
    if ready {
        return Some(dir);
    }
    missing(&format!("{} not built (run corpus/build-dylink)", dir.display()));
    None
}

pub fn libc() -> PathBuf {
    cache().join("dylink/sysroot/libc.so")
}

pub fn adapter() -> String {
    format!(
        "wasi_snapshot_preview1={}",
        cache()
            .join("dylink/adapter/wasi_snapshot_preview1.command.wasm")
            .display()
    )
}

pub fn python() -> Option<PathBuf> {
    let p = cache().join("tools/py/bin/python");
    if p.is_file() {
        return Some(p);
    }
    missing(&format!(
        "{} not found (corpus/build-cpy-pair makes it)",
        p.display()
    ));
    None
}

/// What a run printed and returned.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Runs a wasi:cli/run component in wasmtime.
pub fn run(python: &Path, component: &Path, args: &[&str]) -> Run {
    let out = Command::new(python)
        .arg(root().join("corpus/cpy-pair/run.py"))
        .arg(component)
        .args(args)
        .output()
        .expect("python runs");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        // A trap's message names the failing module and function by index,
        // which differ between the two links; keep the first line.
        stderr: String::from_utf8_lossy(&out.stderr)
            .lines()
            .take_while(|l| !l.starts_with("Traceback") && !l.contains("wasm backtrace"))
            .map(|l| format!("{l}\n"))
            .collect(),
        code: out.status.code(),
    }
}

/// What `corpus/flatten/call.py` prints for jco's wasm-tools component:
/// the results of a fixed set of export calls, one line each.
pub fn call_jco(python: &Path, component: &Path) -> String {
    let o = Command::new(python)
        .arg(root().join("corpus/flatten/call.py"))
        .arg(component)
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "call.py {}: {}",
        component.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The number of core modules in a component (at any depth).
pub fn core_modules(bytes: &[u8]) -> usize {
    let mut n = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ModuleSection { .. } = p.unwrap() {
            n += 1;
        }
    }
    n
}

pub fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("output validates");
}

/// `wasm-tools component link` of `inputs` (dependencies first).
pub fn reference(tools: &Path, inputs: &[PathBuf], extra: &[&str], out: &Path) {
    let o = Command::new(tools)
        .args(["component", "link", "--adapt", &adapter()])
        .args(extra)
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "wasm-tools component link: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn files(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| if *n == "libc.so" { libc() } else { dir.join(n) })
        .collect()
}
