//! compose at scale: chains and stars of 900 generated components
//! (`benches/gen-components`) compose, validate and run; past the
//! validator's limits one error names the limit, the count and why, and
//! blames no input.

mod common;

use std::path::{Path, PathBuf};

use common::root;
use weld_format::Inputs;
use weld_linker::{compose, ComposeOptions};

/// A generated set: each component's bytes, in order.
type Set = Vec<Vec<u8>>;

/// `benches/gen-components DIR n`: its chain/, star/ and fchain/ of `n`
/// components, parsed.
fn generated(n: usize) -> (tempfile::TempDir, Set, Set, Set) {
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("benches/gen-components");
    let ok = std::process::Command::new(&script)
        .arg(dir.path())
        .arg(n.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "{} failed", script.display());
    let set = |kind: &str| -> Vec<Vec<u8>> {
        (0..n)
            .map(|k| wat::parse_file(dir.path().join(kind).join(format!("c{k}.wat"))).unwrap())
            .collect()
    };
    let (chain, star, fchain) = (set("chain"), set("star"), set("fchain"));
    (dir, chain, star, fchain)
}

fn compose_set(set: &[Vec<u8>]) -> Result<weld_linker::Composed, weld_linker::Error> {
    let inputs =
        Inputs::from_memory(set.iter().enumerate().map(|(k, b)| (format!("c{k}"), b.clone()))).unwrap();
    compose(&ComposeOptions::default(), &inputs)
}

/// The PyPI wasmtime (50.0.1, in the venv `corpus/build-cpy-pair` makes):
/// the Rust wasmtime of tests/runtime (48) still has the older validator
/// limit of 1000 instances, which a composition of 900 passes.
fn python_wasmtime() -> Option<PathBuf> {
    let cache = std::env::var_os("WELD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/weld"));
    let python = cache.join("tools/py/bin/python");
    if python.is_file() {
        return Some(python);
    }
    let why = format!("{} not found (corpus/build-cpy-pair makes it)", python.display());
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("skipped: {why}");
    None
}

/// Calls `bench:c0/api@1.0.0#f(0)` (or, for `g0`, the function `g0`) of a
/// composed set, in wasmtime.
fn call_root_f(python: &Path, bytes: &[u8], export: &str) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("composed.wasm");
    std::fs::write(&file, bytes).unwrap();
    let script = r#"
import sys, wasmtime
from wasmtime.component import Component, Linker
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
instance = Linker(engine).instantiate(store, Component.from_file(engine, sys.argv[1]))
if sys.argv[2] == "g0":
    f = instance.get_func(store, instance.get_export_index(store, "g0"))
else:
    api = instance.get_export_index(store, sys.argv[2])
    f = instance.get_func(store, instance.get_export_index(store, "f", api))
print(f(store, 0))
"#;
    let o = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .arg(export)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "wasmtime, export {export}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn chains_and_stars_of_900_compose_validate_and_run() {
    let Some(python) = python_wasmtime() else { return };
    let (_dir, chain, star, fchain) = generated(900);
    for (label, set, export) in [
        ("chain", &chain, "bench:c0/api@1.0.0"),
        ("star", &star, "bench:c0/api@1.0.0"),
        ("function chain", &fchain, "g0"),
    ] {
        let out = compose_set(set).unwrap_or_else(|e| panic!("{label}: {e}"));
        wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
        assert_eq!(out.embedded, 900, "{label}");
        // Each adds 1 to what it imports: the root returns N.
        assert_eq!(call_root_f(&python, &out.bytes, export), 900, "{label}");
    }
}

#[test]
fn past_the_validators_limits_one_error_names_the_limit_and_blames_no_input() {
    // 1,100 components: more than one component may hold.
    let (_dir, chain, _, _) = generated(1100);
    let e = compose_set(&chain).unwrap_err().to_string();
    assert_eq!(
        e,
        "the composed component would hold 1100 components; the validator allows 1000. Each of the 1100 distinct \
         components instantiated is one; the validator counts nested ones too, so composing in stages does not get \
         under it: use fewer distinct components."
    );
    // 600 components with 600 different core modules: each input is valid
    // and small; together they pass the validator's limit of 1000 modules
    // and components in all. The error is the output's, naming no input.
    let distinct: Vec<Vec<u8>> = (0..600)
        .map(|k| {
            let wat = if k + 1 < 600 {
                format!(
                    r#"(component
                        (import "bench:c{n}/api@1.0.0" (instance $u (export "f" (func (param "x" u32) (result u32)))))
                        (alias export $u "f" (func $uf))
                        (core func $ul (canon lower (func $uf)))
                        (core module $m (import "h" "i" (func $c (param i32) (result i32)))
                          (func (export "f") (param i32) (result i32) local.get 0 call $c i32.const {k} i32.add))
                        (core instance $h (export "i" (func $ul)))
                        (core instance $i (instantiate $m (with "h" (instance $h))))
                        (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
                        (instance $api (export "f" (func $f)))
                        (export "bench:c{k}/api@1.0.0" (instance $api)))"#,
                    n = k + 1
                )
            } else {
                format!(
                    r#"(component
                        (core module $m (func (export "f") (param i32) (result i32) local.get 0 i32.const {k} i32.add))
                        (core instance $i (instantiate $m))
                        (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
                        (instance $api (export "f" (func $f)))
                        (export "bench:c{k}/api@1.0.0" (instance $api)))"#
                )
            };
            wat::parse_str(wat).unwrap()
        })
        .collect();
    let e = compose_set(&distinct).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "the composed component would hold 1201 modules and components, nested ones included; the validator allows 1000."
        ),
        "{e}"
    );
    assert!(
        !e.contains("c1") && !e.contains("invalid component"),
        "an input was blamed: {e}"
    );
}
