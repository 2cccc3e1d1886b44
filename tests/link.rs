//! `weld link` end to end.
//!
//! Differential: each C library set (corpus/dylink, built by
//! `corpus/build-dylink` with the npm @yowasp/clang toolchain) is linked by
//! `weld link --component` and by `wasm-tools component link`, and both run
//! in wasmtime (PyPI wasmtime 50.0.1, `corpus/cpy-pair/run.py`) with the
//! same stdout, stderr and exit code. Bad input: hand-written libraries,
//! each a one-line error with no output written.

mod common;
#[path = "common/dylink.rs"]
#[allow(dead_code)]
mod dylink;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cache;
use common::stderr;
use dylink::{adapter, core_modules, files, libc, python, reference, run, set, validate, Run};
use harness::{missing, wasm_tools};

/// Runs `weld link ARGS`.
fn weld<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    let mut all: Vec<&std::ffi::OsStr> = vec!["link".as_ref()];
    all.extend(args.iter().map(|a| a.as_ref()));
    common::weld(&all)
}

/// `weld link` of `inputs` (MAIN first) in `dir`, checked to validate.
fn weld_link(dir: &Path, inputs: &[PathBuf], extra: &[&str], out: &Path) -> String {
    let mut args: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(["-o".to_string(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = weld(&args);
    assert!(
        o.status.success(),
        "weld link in {}: {}",
        dir.display(),
        stderr(&o)
    );
    validate(&std::fs::read(out).unwrap());
    stderr(&o)
}

/// Links `main` + `libs` both ways and runs both with each argument list.
/// Returns the runs of weld's output.
fn differential(
    set_name: &str,
    weld_order: &[&str],
    ref_order: &[&str],
    extra: (&[&str], &[&str]),
    runs: &[&[&str]],
) -> Option<Vec<Run>> {
    let (dir, tools, python) = (set(set_name)?, wasm_tools()?, python()?);
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("weld.wasm");
    let theirs = tmp.path().join("ref.wasm");
    let ad = adapter();
    let mut weld_extra = vec!["--component", "--adapt", ad.as_str()];
    weld_extra.extend(extra.0);
    weld_link(&dir, &files(&dir, weld_order), &weld_extra, &ours);
    reference(&tools, &files(&dir, ref_order), extra.1, &theirs);
    let (a, b) = (std::fs::read(&ours).unwrap(), std::fs::read(&theirs).unwrap());
    assert!(
        core_modules(&a) < core_modules(&b),
        "weld's component has {} core modules, the reference {}",
        core_modules(&a),
        core_modules(&b)
    );
    let mut out = Vec::new();
    for args in runs {
        let (x, y) = (run(&python, &ours, args), run(&python, &theirs, args));
        assert_eq!(
            x, y,
            "{set_name} {args:?}: weld link and wasm-tools component link behave differently"
        );
        out.push(x);
    }
    Some(out)
}

#[test]
fn chain_of_libraries_behaves_like_wasm_tools_link() {
    let Some(runs) = differential(
        "chain",
        &["main.so", "libmid.so", "libbase.so", "libc.so"],
        &["libc.so", "libbase.so", "libmid.so", "main.so"],
        (&[], &[]),
        &[&[]],
    ) else {
        return;
    };
    let r = &runs[0];
    // Constructors ran dependencies first: mid's saw base's, main's saw both.
    assert!(
        r.stdout
            .starts_with("ctor base\nctor mid sees 41\nmain ctor saw 41\n"),
        "{r:?}"
    );
    // Data in libmid points at libbase's data; the function pointer taken in
    // libmid equals the one main takes.
    assert!(
        r.stdout.contains("mid_call 43\nsame fn 1 same ptr 1\ntls 8 9\n"),
        "{r:?}"
    );
    assert_eq!(r.stderr, "to stderr\n");
    // main returned 3: wasi:cli/run's error result.
    assert_eq!(r.code, Some(1));
}

#[test]
fn duplicates_and_stubs_behave_like_wasm_tools_link() {
    let Some(runs) = differential(
        "weak",
        &["main.so", "libdup1.so", "libdup2.so", "libstub.so", "libc.so"],
        &["libc.so", "libstub.so", "libdup1.so", "libdup2.so", "main.so"],
        (&["--stub-missing"], &["--stub-missing-functions"]),
        &[&[], &["call-the-stub"]],
    ) else {
        return;
    };
    assert_eq!(
        runs[0].stdout,
        "dup 1 one 11\ncalling the missing function: no\ndone\n"
    );
    assert_eq!(runs[0].code, Some(0));
    // The stub traps, in both.
    assert!(
        runs[1].stdout.ends_with("calling the missing function: yes\n"),
        "{:?}",
        runs[1]
    );
    assert_ne!(runs[1].code, Some(0));
}

#[test]
fn duplicate_and_missing_symbols_are_reported() {
    let Some(dir) = set("weak") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wasm");
    let inputs = files(
        &dir,
        &["main.so", "libdup1.so", "libdup2.so", "libstub.so", "libc.so"],
    );
    let mut args: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(["-o".into(), out.display().to_string()]);
    // Without --stub-missing: the missing function, and who needs it.
    let o = weld(&args);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("undefined function `never_defined`, needed by ") && e.contains("libstub.so"),
        "{e}"
    );
    assert!(!out.exists(), "no output on failure");
    // The duplicate is a warning naming both, or an error when asked.
    args.push("--stub-missing".into());
    let warn = weld_link(&dir, &inputs, &["--stub-missing"], &out);
    assert!(
        warn.contains("symbol `dup_value` is defined by ")
            && warn.contains("libdup1.so")
            && warn.contains("libdup2.so"),
        "{warn}"
    );
    std::fs::remove_file(&out).unwrap();
    args.push("--warn-duplicates=error".into());
    let o = weld(&args);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("symbol `dup_value` is defined by"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn weak_undefined_symbols_are_null() {
    let (Some(dir), Some(python)) = (set("weak"), python()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("weak.wasm");
    let ad = adapter();
    weld_link(
        &dir,
        &files(&dir, &["weakmain.so", "libweak.so", "libc.so"]),
        &["--component", "--adapt", &ad],
        &out,
    );
    let r = run(&python, &out, &[]);
    assert_eq!(r.stdout, "hook absent, data absent\n", "{r:?}");
    assert_eq!(r.code, Some(0));
}

#[test]
fn real_sqlite_program_behaves_like_wasm_tools_link() {
    let Some(runs) = differential(
        "sqlite",
        &["main.so", "libsqlite3.so", "libc.so"],
        &["libc.so", "libsqlite3.so", "main.so"],
        (&[], &[]),
        &[&[]],
    ) else {
        return;
    };
    let r = &runs[0];
    assert!(r.stdout.starts_with("sqlite 3."), "{r:?}");
    assert!(r.stdout.contains("n=5000"), "{r:?}");
    assert!(r.stdout.contains("fib40=102334155"), "{r:?}");
    assert!(r.stdout.contains("checksum "), "{r:?}");
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn reactor_initialises_dependencies_first() {
    let (Some(dir), Some(python)) = (set("reactor"), python()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reactor.wasm");
    weld_link(
        &dir,
        &files(&dir, &["main.so", "libcount.so", "libc.so"]),
        &[],
        &out,
    );
    // The core module is a WASI preview1 reactor: _initialize, then exports.
    let script = r#"
import sys, wasmtime
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.inherit_stdout()
store.set_wasi(wasi)
linker = wasmtime.Linker(engine)
linker.define_wasi()
inst = linker.instantiate(store, wasmtime.Module.from_file(engine, sys.argv[1]))
ex = inst.exports(store)
ex["_initialize"](store)
sys.stdout.flush()
print("answer", ex["answer"](store))
"#;
    let o = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "libcount ctor\nreactor ctor 102\nanswer 102103\n"
    );
}

/// A library as WAT, linked alone or with others; returns weld's stderr
/// after checking that it failed, in one line, and wrote nothing.
fn link_fails(libs: &[(&str, &str)], extra: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = Vec::new();
    for (name, wat) in libs {
        let p = tmp.path().join(name);
        let bytes = if wat.starts_with("(module") {
            wat::parse_str(wat).unwrap()
        } else {
            wat.as_bytes().to_vec()
        };
        std::fs::write(&p, bytes).unwrap();
        args.push(p.display().to_string());
    }
    let out = tmp.path().join("out.wasm");
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = weld(&args);
    assert!(!o.status.success(), "weld link succeeded");
    assert!(!out.exists(), "a failed link wrote its output");
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

const MAIN: &str = r#"(module (@dylink.0 (mem-info (memory 0 0)) (needed "libnope.so"))
    (func (export "_start")))"#;

#[test]
fn bad_libraries_are_one_line_errors() {
    // A library that needs one that is missing.
    let e = link_fails(&[("main.so", MAIN)], &[]);
    assert!(
        e.contains("main.so: needs `libnope.so`, which is not among the inputs"),
        "{e}"
    );
    // A needed name with `..` or `/`.
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["../evil.so", "sub/x.so"] {
        let main = MAIN.replace("libnope.so", bad);
        let dir = tmp.path().display().to_string();
        let e = link_fails(&[("main.so", &main)], &["--lib-dir", &dir]);
        assert!(
            e.contains(&format!("needed library `{bad}` cannot be looked up")),
            "{e}"
        );
    }
    // A symbol cycle of re-exports: a's `f` is its import `f`, which is
    // the first definition of `f`, which is a's import again.
    let a = r#"(module (@dylink.0 (mem-info (memory 0 0)))
        (import "env" "f" (func $f)) (export "f" (func $f)) (func (export "_start") call $f))"#;
    let e = link_fails(&[("a.so", a)], &[]);
    for line in e.lines() {
        assert!(
            line.contains("a.so") && line.contains("cycle of re-exports"),
            "{e}"
        );
    }
    // A module that is not position-independent.
    let fixed = r#"(module (@dylink.0 (mem-info (memory 4 0))) (memory 1) (func (export "_start")))"#;
    let e = link_fails(&[("fixed.so", fixed)], &[]);
    assert!(
        e.contains("fixed.so: defines its own memory: not a position-independent shared library"),
        "{e}"
    );
    let plain = r#"(module (func (export "_start")))"#;
    let e = link_fails(&[("plain.so", plain)], &[]);
    assert!(
        e.contains("plain.so: not a shared library (no dylink.0 section)"),
        "{e}"
    );
    // A dylink.0 section that lies about sizes.
    let lies = r#"(module (@dylink.0 (mem-info (memory 4 0)))
        (import "env" "memory" (memory 1)) (import "env" "__memory_base" (global $mb i32))
        (data (global.get $mb) "sixteen bytes...") (func (export "_start")))"#;
    let e = link_fails(&[("lies.so", lies)], &[]);
    assert!(
        e.contains(
            "lies.so: data 0 ends at __memory_base + 16, but its dylink.0 mem-info reserves only 4 bytes"
        ),
        "{e}"
    );
    // A truncated dylink.0 section: a mem-info that claims 9 bytes of 2.
    let mut truncated = b"\0asm\x01\0\0\0".to_vec();
    let payload: &[u8] = &[8, b'd', b'y', b'l', b'i', b'n', b'k', b'.', b'0', 1, 9, 24, 2];
    truncated.push(0);
    truncated.push(payload.len() as u8);
    truncated.extend_from_slice(payload);
    let t = tmp.path().join("truncated.so");
    std::fs::write(&t, &truncated).unwrap();
    let o = weld(&[
        t.display().to_string(),
        "-o".into(),
        tmp.path().join("o.wasm").display().to_string(),
    ]);
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("truncated.so: custom section `dylink.0`: malformed subsection"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
}

/// An empty library directory `libs` in `dir`, and a library beside it,
/// outside it.
fn lib_dir_and_outside(dir: &Path) -> (PathBuf, PathBuf) {
    let libs = dir.join("libs");
    std::fs::create_dir(&libs).unwrap();
    let outside = dir.join("outside.so");
    std::fs::write(
        &outside,
        wat::parse_str(r#"(module (@dylink.0 (mem-info (memory 0 0))))"#).unwrap(),
    )
    .unwrap();
    (libs, outside)
}

#[test]
fn lib_dir_is_capability_safe() {
    let tmp = tempfile::tempdir().unwrap();
    let (libs, outside) = lib_dir_and_outside(tmp.path());
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, libs.join("libnope.so")).unwrap();
    #[cfg(unix)]
    {
        let e = link_fails(&[("main.so", MAIN)], &["--lib-dir", &libs.display().to_string()]);
        assert!(e.contains("outside the library directory"), "{e}");
    }
    // A real file in the directory is found.
    std::fs::remove_file(libs.join("libnope.so")).ok();
    std::fs::copy(&outside, libs.join("libnope.so")).unwrap();
    let main = tmp.path().join("main.so");
    std::fs::write(&main, wat::parse_str(MAIN).unwrap()).unwrap();
    let out = tmp.path().join("out.wasm");
    let map = tmp.path().join("map.json");
    let o = weld(&[
        main.display().to_string(),
        "--lib-dir".into(),
        libs.display().to_string(),
        "-o".into(),
        out.display().to_string(),
        "--map".into(),
        map.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    validate(&std::fs::read(&out).unwrap());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    assert_eq!(m["libraries"][1]["name"], "libnope.so");
    assert_eq!(m["init_order"], serde_json::json!(["libnope.so", "main"]));
}

/// The library set componentize-py 0.25.1 ships (libpython3.14, libc,
/// libc++, the wasi-emulated libraries, its runtime), linked with the
/// reactor adapter: it validates, it has fewer core modules than the
/// reference link, and the component instantiates in wasmtime. (Running
/// Python needs the per-app bindings library componentize-py generates; the
/// set alone has none.)
#[test]
fn componentize_py_set_links_and_instantiates() {
    let dir = cache().join("dylink/cpy");
    if !dir.join("libpython3.14.so").is_file() {
        missing(&format!(
            "{} not extracted (run corpus/build-cpy-pair, then corpus/build-dylink)",
            dir.display()
        ));
        return;
    }
    let (Some(tools), Some(python)) = (wasm_tools(), python()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("weld.wasm");
    let theirs = tmp.path().join("ref.wasm");
    let reactor = format!(
        "wasi_snapshot_preview1={}",
        cache()
            .join("dylink/adapter/wasi_snapshot_preview1.reactor.wasm")
            .display()
    );
    let libs = [
        "libcomponentize_py_runtime-2.so",
        "libpython3.14.so",
        "libc.so",
        "libc++.so",
        "libc++abi.so",
        "libwasi-emulated-mman.so",
        "libwasi-emulated-process-clocks.so",
        "libwasi-emulated-getpid.so",
        "libwasi-emulated-signal.so",
        "libdl.so",
    ];
    let inputs: Vec<PathBuf> = libs.iter().map(|l| dir.join(l)).collect();
    weld_link(&dir, &inputs, &["--component", "--adapt", &reactor], &ours);
    let mut deps_first = inputs.clone();
    deps_first.reverse();
    let o = Command::new(&tools)
        .args(["component", "link", "--adapt", &reactor])
        .args(&deps_first)
        .arg("-o")
        .arg(&theirs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (std::fs::read(&ours).unwrap(), std::fs::read(&theirs).unwrap());
    assert!(
        core_modules(&a) < core_modules(&b),
        "{} vs {}",
        core_modules(&a),
        core_modules(&b)
    );
    let script = r#"
import sys, wasmtime
from wasmtime.component import Component, Linker
engine = wasmtime.Engine()
comp = Component.from_file(engine, sys.argv[1])
linker = Linker(engine)
linker.add_wasip2()
linker.define_unknown_imports_as_traps(comp)
store = wasmtime.Store(engine)
store.set_wasi(wasmtime.WasiConfig())
linker.instantiate(store, comp)
print("instantiated")
"#;
    for c in [&ours, &theirs] {
        let o = Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(c)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            c.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout), "instantiated\n");
    }
}

/// Writes WAT libraries into `dir` as binaries; returns their paths.
fn write_libs(dir: &Path, libs: &[(&str, &str)]) -> Vec<String> {
    libs.iter()
        .map(|(name, wat)| {
            let p = dir.join(name);
            std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
            p.display().to_string()
        })
        .collect()
}

/// `weld graph ARGS --format json`, and whether it succeeded.
fn graph_json(args: &[String]) -> (serde_json::Value, std::process::Output) {
    let mut all = vec!["graph".to_string(), "--format".into(), "json".into()];
    all.extend(args.iter().cloned());
    let o = common::weld(&all);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (v, o)
}

/// (importer, import, provider, symbol, rule) of every symbol edge.
fn symbol_edges(report: &serde_json::Value) -> Vec<[String; 5]> {
    let field = |e: &serde_json::Value, k: &str| e[k].as_str().unwrap().to_string();
    report["symbols"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| ["from", "import", "to", "symbol", "rule"].map(|k| field(e, k)))
                .collect()
        })
        .unwrap_or_default()
}

/// Every GOT entry of a link map has the symbol edge graph showed for it:
/// the same provider (`weld:link` for what the linker defines).
fn got_entries_agree(map: &serde_json::Value, edges: &[[String; 5]]) {
    for (got, ns) in [("got_mem", "GOT.mem"), ("got_func", "GOT.func")] {
        for entry in map[got].as_array().unwrap() {
            let symbol = entry["symbol"].as_str().unwrap();
            let from = entry["from"].as_str().unwrap();
            let to = match from {
                "linker" | "undefined weak" | "stub" => "weld:link",
                lib => lib,
            };
            let import = format!("{ns}.{symbol}");
            assert!(
                edges.iter().any(|e| e[1] == import && e[2] == to),
                "link bound {import} to {from}, graph shows {:?}",
                edges.iter().filter(|e| e[1] == import).collect::<Vec<_>>()
            );
        }
    }
}

const SHOWN_MAIN: &str = r#"(module (@dylink.0 (mem-info (memory 0 0)) (needed "lib.so"))
    (import "env" "memory" (memory 0))
    (import "env" "__memory_base" (global i32))
    (import "env" "two" (func $two (result i32)))
    (import "GOT.mem" "answer" (global (mut i32)))
    (import "GOT.func" "two" (global (mut i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
    (func (export "_start") call $two drop))"#;
const SHOWN_LIB: &str = r#"(module (@dylink.0 (mem-info (memory 4 0)))
    (import "env" "memory" (memory 0))
    (global (export "answer") i32 (i32.const 0))
    (func (export "two") (result i32) i32.const 2))"#;

#[test]
fn graph_shows_the_symbol_edges_link_binds() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = write_libs(tmp.path(), &[("main.so", SHOWN_MAIN), ("lib.so", SHOWN_LIB)]);
    let (report, o) = graph_json(&inputs);
    assert!(o.status.success(), "{}", stderr(&o));
    let edge = |from: &str, import: &str, to: &str, symbol: &str, rule: &str| {
        [from, import, to, symbol, rule].map(String::from)
    };
    assert_eq!(
        symbol_edges(&report),
        [
            edge("main", "env.memory", "weld:link", "memory", "linker"),
            edge(
                "main",
                "env.__memory_base",
                "weld:link",
                "__memory_base",
                "linker"
            ),
            edge("main", "env.two", "lib", "two", "symbol"),
            edge("main", "GOT.mem.answer", "lib", "answer", "symbol"),
            edge("main", "GOT.func.two", "lib", "two", "symbol"),
            edge("lib", "env.memory", "weld:link", "memory", "linker"),
        ]
    );
    assert_eq!(report["order"], serde_json::json!(["lib", "main"]));
    assert_eq!(report["load_order"], serde_json::json!(["main", "lib"]));
    assert_eq!(report["host_imports"][0]["import"], "wasi_snapshot_preview1");
    assert_eq!(report["edges"], serde_json::json!([]));

    // Text and DOT show the same edges.
    let text = common::stdout(&common::weld(&[&["graph".to_string()], &inputs[..]].concat()));
    assert!(
        text.contains("symbols: 6\n")
            && text.contains("  main imports env.two -> lib exports two [symbol]\n"),
        "{text}"
    );
    assert!(
        text.contains("order: lib, main\nload order: main, lib\n"),
        "{text}"
    );
    let mut dot_args = vec!["graph".to_string(), "--format".into(), "dot".into()];
    dot_args.extend(inputs.iter().cloned());
    let dot = common::stdout(&common::weld(&dot_args));
    assert!(dot.contains("\"weld:link\" [shape=ellipse];"), "{dot}");
    assert!(
        dot.contains("\"main\" -> \"lib\" [label=\"GOT.mem.answer\", style=dashed];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"main\" -> \"weld:link\" [label=\"env.memory (linker)\", style=dashed];"),
        "{dot}"
    );

    // `weld link` binds the GOT as graph showed.
    let out = tmp.path().join("out.wasm");
    let map = tmp.path().join("map.json");
    let mut args = inputs.clone();
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(["--map".into(), map.display().to_string()]);
    let o = weld(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let map: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    assert_eq!(map["got_mem"].as_array().unwrap().len(), 1);
    got_entries_agree(&map, &symbol_edges(&report));
}

#[test]
fn graph_refuses_what_link_refuses_in_the_same_words() {
    let tmp = tempfile::tempdir().unwrap();
    let main = r#"(module (@dylink.0 (mem-info (memory 0 0)))
        (import "env" "nope" (func))
        (import "GOT.tls" "t" (global (mut i32)))
        (func (export "_start")))"#;
    let inputs = write_libs(tmp.path(), &[("main.so", main)]);
    let (report, o) = graph_json(&inputs);
    assert!(!o.status.success());
    // The undefined function is unresolved; the unknown GOT namespace is a
    // problem, the one link stops at.
    assert_eq!(report["unresolved"][0]["import"], "env.nope");
    assert_eq!(
        report["unresolved"][0]["reason"],
        "undefined function: no library defines it"
    );
    let problem = report["problems"][0].as_str().unwrap();
    let words = "main.so: import \"GOT.tls\" \"t\": unknown GOT namespace";
    assert!(problem.ends_with(words), "{problem}");
    assert!(stderr(&o).contains(problem), "{}", stderr(&o));
    let e = link_fails(&[("main.so", main)], &[]);
    assert!(e.trim_end().ends_with(words), "{e}");
}

#[test]
fn graph_of_a_built_set_finds_what_link_finds_and_agrees_on_symbols() {
    let Some(dir) = set("chain") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sysroot = libc().parent().unwrap().display().to_string();
    let lib_dirs = [
        "--lib-dir".to_string(),
        dir.display().to_string(),
        "--lib-dir".into(),
        sysroot,
    ];
    let mut args = vec![dir.join("main.so").display().to_string()];
    args.extend(lib_dirs.iter().cloned());
    let (report, o) = graph_json(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let edges = symbol_edges(&report);
    assert!(edges.len() > 20, "{edges:?}");
    // libmid's functions come from libbase, main's printf from libc.
    assert!(
        edges
            .iter()
            .any(|e| e[0] == "main" && e[2] == "libmid.so" && e[4] == "symbol"),
        "{edges:?}"
    );
    assert!(edges.iter().any(|e| e[2] == "libc.so"), "{edges:?}");

    let out = tmp.path().join("out.wasm");
    let map = tmp.path().join("map.json");
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(["--map".into(), map.display().to_string()]);
    let o = weld(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let map: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    let libraries: Vec<&serde_json::Value> = map["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["name"])
        .collect();
    let load_order: Vec<&serde_json::Value> = report["load_order"].as_array().unwrap().iter().collect();
    assert_eq!(libraries, load_order);
    assert_eq!(map["init_order"], report["order"]);
    got_entries_agree(&map, &edges);
}

#[test]
fn lib_dir_escapes_are_refused_by_link_and_graph_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let (libs, outside) = lib_dir_and_outside(tmp.path());
    let mut cases = vec![
        ("../outside.so".to_string(), "`..` segments are refused"),
        (outside.display().to_string(), "absolute paths are refused"),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, libs.join("libout.so")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), libs.join("up")).unwrap();
        cases.push(("libout.so".into(), "outside the library directory"));
        cases.push(("up/outside.so".into(), "only bare file names are looked up"));
    }
    for (name, why) in cases {
        let main = MAIN.replace("libnope.so", &name);
        let dir = libs.display().to_string();
        let e = link_fails(&[("main.so", &main)], &["--lib-dir", &dir]);
        let said = format!("needed library `{name}` cannot be looked up: ");
        assert!(e.contains(&said) && e.contains(why), "{name}: {e}");
        let written = write_libs(tmp.path(), &[("main.so", &main)]);
        let (_, o) = graph_json(&[written[0].clone(), "--lib-dir".into(), dir]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains(&said) && stderr(&o).contains(why),
            "{name}: {}",
            stderr(&o)
        );
    }
}
