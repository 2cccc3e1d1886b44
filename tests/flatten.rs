//! `weld flatten` end to end, on real components of four families: a C
//! program wrapped with the preview1 adapter (`wasm-tools component new
//! --adapt`), C library sets linked by `wasm-tools component link`, the
//! componentize-py app and layer, jco's Rust components, and a `weld
//! compose` of the componentize-py pair. Each output validates, keeps the
//! input's WIT (`wasm-tools component wit`), holds fewer core modules, and
//! runs in wasmtime (PyPI `wasmtime`) as the input does. Bad input is in
//! `tests/cases/flatten/`.

mod common;
#[path = "common/dylink.rs"]
#[allow(dead_code)]
mod dylink;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cache, real_binary, stderr, weld, wit};
use dylink::{adapter, call_jco, core_modules, files, python, reference, run, set, validate, Run};
use harness::{missing, wasm_tools};

/// `weld flatten IN -o OUT --map MAP`: the output validated, the map read.
fn flatten(input: &Path, out: &Path) -> serde_json::Value {
    let map = out.with_extension("map.json");
    let o = weld(&[
        "flatten".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--map".as_ref(),
        map.as_os_str(),
    ]);
    assert!(
        o.status.success(),
        "weld flatten {}: {}",
        input.display(),
        stderr(&o)
    );
    validate(&std::fs::read(out).unwrap());
    serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap()
}

/// Flattens `input` and checks what every family shares: fewer core
/// modules (at most `max_after`), the same WIT, no larger. Returns the
/// output's path (in `dir`) and the map.
fn flatten_checked(tools: &Path, input: &Path, dir: &Path, max_after: usize) -> (PathBuf, serde_json::Value) {
    let out = dir.join(format!(
        "{}.flat.wasm",
        input.file_stem().unwrap().to_string_lossy()
    ));
    let map = flatten(input, &out);
    let (a, b) = (std::fs::read(input).unwrap(), std::fs::read(&out).unwrap());
    let (before, after) = (core_modules(&a), core_modules(&b));
    eprintln!(
        "{}: {before} -> {after} core modules, {} -> {} bytes",
        input.display(),
        a.len(),
        b.len()
    );
    assert_eq!(map["core_modules_before"], before);
    assert_eq!(map["core_modules_after"], after);
    assert!(
        after < before && after <= max_after,
        "{before} -> {after} core modules"
    );
    assert_eq!(
        wit(tools, input),
        wit(tools, &out),
        "{}: the WIT changed",
        input.display()
    );
    (out, map)
}

/// Both components run alike with each argument list (a program that
/// prints its `argv[0]` prints its own path: that is set aside).
fn same_runs(python: &Path, a: &Path, b: &Path, runs: &[&[&str]]) -> Vec<Run> {
    let neutral = |r: Run, path: &Path| {
        let p = path.display().to_string();
        Run {
            stdout: r.stdout.replace(&p, "COMPONENT"),
            stderr: r.stderr.replace(&p, "COMPONENT"),
            code: r.code,
        }
    };
    runs.iter()
        .map(|args| {
            let (x, y) = (neutral(run(python, a, args), a), neutral(run(python, b, args), b));
            assert_eq!(x, y, "{} and {} behave differently", a.display(), b.display());
            x
        })
        .collect()
}

/// The shim that wit-component adds for the adapter was looked through:
/// imports of its stubs made direct, and (`dropped`) the shim and fixup
/// instances gone. `component link`'s fixup also sets the GOT and runs
/// the constructors, so it stays, linked in.
fn shim_bypassed(map: &serde_json::Value, dropped: bool) {
    let g = &map["groups"][0];
    assert!(g["direct_calls"].as_u64().unwrap() > 0, "{map}");
    let n = g["dropped"].as_array().unwrap().len();
    assert_eq!(n, if dropped { 2 } else { 0 }, "{map}");
}

#[test]
fn a_c_program_with_the_adapter_runs_the_same_flattened() {
    let (Some(tools), Some(python)) = (wasm_tools(), python()) else {
        return;
    };
    let program = cache().join("dylink/static/chain.wasm");
    if !program.is_file() {
        return missing(&format!(
            "{} not built (run corpus/build-dylink)",
            program.display()
        ));
    }
    let tmp = tempfile::tempdir().unwrap();
    let component = tmp.path().join("program.wasm");
    let o = Command::new(&tools)
        .args(["component", "new"])
        .arg(&program)
        .args(["--adapt", &adapter(), "-o"])
        .arg(&component)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (out, map) = flatten_checked(&tools, &component, tmp.path(), 2);
    shim_bypassed(&map, true);
    let runs = same_runs(&python, &component, &out, &[&[]]);
    assert!(runs[0].stdout.contains("mid_call 43\n"), "{:?}", runs[0]);
    assert_eq!(runs[0].stderr, "to stderr\n");
}

/// `wasm-tools component link` of a library set, flattened, runs the same.
fn component_link_form(set_name: &str, libs: &[&str]) -> Option<Vec<Run>> {
    let (dir, tools, python) = (set(set_name)?, wasm_tools()?, python()?);
    let tmp = tempfile::tempdir().unwrap();
    let linked = tmp.path().join(format!("{set_name}.wasm"));
    reference(&tools, &files(&dir, libs), &[], &linked);
    let (out, map) = flatten_checked(&tools, &linked, tmp.path(), 3);
    shim_bypassed(&map, false);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&out) < size(&linked),
        "{} -> {} bytes",
        size(&linked),
        size(&out)
    );
    Some(same_runs(&python, &linked, &out, &[&[]]))
}

#[test]
fn component_link_of_the_chain_set_runs_the_same_flattened() {
    let Some(runs) = component_link_form("chain", &["libc.so", "libbase.so", "libmid.so", "main.so"]) else {
        return;
    };
    // Constructors still run dependencies first; data and function
    // pointers across libraries still agree.
    assert!(runs[0].stdout.starts_with("ctor base\n"), "{:?}", runs[0]);
    assert!(runs[0].stdout.contains("same fn 1 same ptr 1\n"), "{:?}", runs[0]);
    assert_eq!(runs[0].code, Some(1));
}

#[test]
fn component_link_of_sqlite_runs_the_same_flattened() {
    let Some(runs) = component_link_form("sqlite", &["libc.so", "libsqlite3.so", "main.so"]) else {
        return;
    };
    assert!(runs[0].stdout.contains("fib40=102334155"), "{:?}", runs[0]);
    assert_eq!(runs[0].code, Some(0));
}

#[test]
fn the_componentize_py_app_and_layer_flatten_and_the_app_runs_the_same() {
    let (Some(tools), Some(python)) = (wasm_tools(), python()) else {
        return;
    };
    let (Some(app), Some(layer)) = (real_binary("cpy-app"), real_binary("cpy-layer")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // 14 core modules (main, adapter, libc, libpython, ...) become at most 3.
    let (out, map) = flatten_checked(&tools, &app, tmp.path(), 3);
    shim_bypassed(&map, true);
    assert!(std::fs::metadata(&out).unwrap().len() < std::fs::metadata(&app).unwrap().len());
    let runs = same_runs(&python, &app, &out, &[&[], &["one", "two"]]);
    assert!(runs[0].stdout.contains("GREETING=from-the-host"), "{:?}", runs[0]);
    // The layer is a library component (it exports wasi:cli/environment):
    // flattened, valid, same WIT.
    flatten_checked(&tools, &layer, tmp.path(), 3);
}

#[test]
fn jco_components_flatten_with_the_same_wit_and_the_same_results() {
    let (Some(tools), Some(python)) = (wasm_tools(), python()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for id in [
        "jco-1.0.3-wasm-tools",
        "jco-1.0.3-js-component-bindgen",
        "jco-0.14.2-wasm-tools",
        "jco-0.14.2-js-component-bindgen",
    ] {
        let Some(input) = real_binary(id) else { return };
        let (out, map) = flatten_checked(&tools, &input, tmp.path(), 2);
        shim_bypassed(&map, true);
        // The 1.0.3 builds target WASI 0.2.0, which wasmtime provides; the
        // 0.14.2 ones a release candidate it does not.
        if id == "jco-1.0.3-wasm-tools" {
            let (a, b) = (call_jco(&python, &input), call_jco(&python, &out));
            assert!(a.contains("print: ok('(module"), "{a}");
            assert_eq!(a, b, "{id}: the export calls differ");
        }
    }
}

#[test]
fn a_composition_of_adapted_components_flattens_child_by_child_and_runs() {
    let (Some(tools), Some(python)) = (wasm_tools(), python()) else {
        return;
    };
    let (Some(app), Some(layer)) = (real_binary("cpy-app"), real_binary("cpy-layer")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let composed = tmp.path().join("pair.wasm");
    let o = weld(&[
        "compose".as_ref(),
        app.as_os_str(),
        "--plug".as_ref(),
        layer.as_os_str(),
        "-o".as_ref(),
        composed.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The children alias the modules compose hoisted into the parent; each
    // child is flattened on its own.
    let (out, map) = flatten_checked(&tools, &composed, tmp.path(), 4);
    let groups = map["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{map}");
    assert!(groups
        .iter()
        .all(|g| g["component"].as_str().unwrap().contains(": component ")));
    let runs = same_runs(&python, &composed, &out, &[&[]]);
    assert!(runs[0].stdout.contains("hello from the layer"), "{:?}", runs[0]);
}
