//! WAC documents composed by weld (`compose_document`) against `wac compose`
//! of the same document: a chain, a diamond wired by spreads, an explicit
//! import with a whole instance as an argument and an implicit import, a
//! `targets` clause, versioned dependencies. Each result validates, has
//! the same WIT as wac's (`wasm-tools component wit`), and returns the same
//! in wasmtime.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};
use weld_linker::{compose_document, ComposeOptions, PackageSources};

#[path = "../../common/tools.rs"]
mod tools;
#[path = "../../common/wac_packages.rs"]
mod wac_packages;
use wac_packages::{packages, COUNTER};

/// Each document, and what its `run` returns given `seed` = 10 and a host
/// counter returning 5.
const DOCS: &[(&str, &str, u32)] = &[
    (
        "chain",
        r#"package test:chain;
let c = new demo:counter {};
let d = new demo:doubler@1.0.0 { "demo:counter/api@1.0.0": c["demo:counter/api@1.0.0"] };
let t = new demo:tripler@2.0.0 { "demo:counter/api@1.0.0": d["demo:doubler/api@1.0.0"] };
let f = new demo:front { "demo:tripler/api@1.0.0": t["demo:tripler/api@1.0.0"] };
export f.run;
"#,
        42,
    ),
    (
        // Identifiers standing for interfaces by their short names.
        "chain-short-names",
        r#"package test:short;
let c = new demo:counter {};
let d = new demo:doubler@1.0.0 { api: c.api };
let t = new demo:tripler@2.0.0 { api: d.api };
let f = new demo:front { api: t.api };
export f.run;
"#,
        42,
    ),
    (
        "diamond",
        r#"package test:diamond;
let c = new demo:counter {};
let d = new demo:doubler@1.0.0 { ...c };
let t = new demo:tripler@2.0.0 { ...c };
let s = new demo:sum { ...d, ...t };
export s.run;
"#,
        35,
    ),
    (
        "imports",
        r#"package test:imports;
import seed: func() -> u32;
let f = new demo:flat { seed };
let d = new demo:doubler@1.0.0 { "demo:counter/api@1.0.0": f };
let t = new demo:tripler@2.0.0 { ... };
let s = new demo:sum { ...d, ...t };
export s.run;
"#,
        // (10 + 1) * 2 + 5 * 3
        37,
    ),
    (
        // Imported instances: one passed whole under another name, the
        // exports of another by a spread and by name.
        "imported-instance",
        r#"package test:imported;
import base: interface { next: func() -> u32; };
import seeds: interface { seed: func() -> u32; };
let f = new demo:flat { ...seeds };
let g = new demo:flat { seed: seeds.seed };
let d = new demo:doubler@1.0.0 { "demo:counter/api@1.0.0": f };
let t = new demo:tripler@2.0.0 { "demo:counter/api@1.0.0": base };
let s = new demo:sum { ...d, ...t };
export s.run;
"#,
        // (10 + 1) * 2 + 5 * 3
        37,
    ),
    (
        "targets",
        r#"package test:targeted targets demo:target/app;
let c = new demo:counter {};
let d = new demo:doubler@1.0.0 { ...c };
let t = new demo:tripler@2.0.0 { ...c };
let s = new demo:sum { ...d, ...t };
export s.run;
"#,
        35,
    ),
];

/// A tool: `$env`, on PATH, or where .ci/run installs it.
fn tool(name: &str, env: &str) -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    tools::tool(name, env, &[home.join(".cache/weld/tools/cargo/bin").join(name)])
}

fn wit(wasm_tools: &Path, bytes: &[u8], dir: &Path) -> String {
    let path = dir.join("wit-input.wasm");
    std::fs::write(&path, bytes).unwrap();
    let o = Command::new(wasm_tools)
        .args(["component", "wit"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn run(bytes: &[u8]) -> u32 {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    linker.root().func_wrap("seed", |_, (): ()| Ok((10u32,))).unwrap();
    linker
        .instance(COUNTER)
        .unwrap()
        .func_wrap("next", |_, (): ()| Ok((5u32,)))
        .unwrap();
    for (instance, func, value) in [("base", "next", 5u32), ("seeds", "seed", 10)] {
        linker
            .instance(instance)
            .unwrap()
            .func_wrap(func, move |_, (): ()| Ok((value,)))
            .unwrap();
    }
    let component = Component::new(&engine, bytes).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let f = instance.get_typed_func::<(), (u32,)>(&mut store, "run").unwrap();
    f.call(&mut store, ()).unwrap().0
}

#[test]
fn documents_compose_as_wac_composes_them() {
    let (Some(wac), Some(wasm_tools)) = (tool("wac", "WELD_WAC"), tool("wasm-tools", "WELD_WASM_TOOLS"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let deps = dir.path().join("deps");
    packages(&deps);
    // The target world, as an encoded WIT package.
    let wit_file = dir.path().join("world.wit");
    std::fs::write(
        &wit_file,
        "package demo:target;\nworld app { export run: func() -> u32; }\n",
    )
    .unwrap();
    let o = Command::new(&wasm_tools)
        .args(["component", "wit", "--wasm", "-o"])
        .arg(deps.join("demo/target.wasm"))
        .arg(&wit_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for (name, doc, expected) in DOCS {
        let file = dir.path().join(format!("{name}.wac"));
        std::fs::write(&file, doc).unwrap();
        // weld: the doubler by a versioned --dep (outside the deps dir),
        // the rest from the deps dir.
        let elsewhere = dir.path().join("doubler-1.0.0.wasm");
        std::fs::copy(deps.join("demo/doubler/1.0.0.wasm"), &elsewhere).unwrap();
        let sources = PackageSources {
            deps: vec![("demo:doubler@1.0.0".to_string(), elsewhere)],
            deps_dir: Some(deps.clone()),
            ..Default::default()
        };
        let out = compose_document(&ComposeOptions::default(), file.to_str().unwrap(), doc, &sources)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let from: Vec<(&str, &str)> = out
            .packages
            .iter()
            .map(|p| (p.package.as_str(), p.from.as_str()))
            .collect();
        assert!(
            from.iter()
                .any(|(p, f)| *p == "demo:doubler@1.0.0" && f.ends_with("doubler-1.0.0.wasm")),
            "{name}: the versioned --dep was not used: {from:?}"
        );
        // The plain chains are composed while wac-parser resolves; the
        // others (spreads, imports, a target world) after.
        assert_eq!(
            out.read_ahead,
            name.starts_with("chain"),
            "{name}: read ahead {}",
            out.read_ahead
        );
        let weld = out.composed.bytes;
        wasmparser::Validator::new()
            .validate_all(&weld)
            .unwrap_or_else(|e| panic!("{name}: invalid: {e}"));

        // wac, the same document and packages.
        let wac_out = dir.path().join(format!("{name}.wac.wasm"));
        let o = Command::new(&wac)
            .arg("compose")
            .arg(&file)
            .arg("--deps-dir")
            .arg(&deps)
            .arg("-o")
            .arg(&wac_out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "wac compose {name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let wac_bytes = std::fs::read(&wac_out).unwrap();

        assert_eq!(
            wit(&wasm_tools, &weld, dir.path()),
            wit(&wasm_tools, &wac_bytes, dir.path()),
            "{name}: the WIT differs from wac's"
        );
        assert_eq!(run(&weld), *expected, "{name}: weld's result");
        assert_eq!(run(&wac_bytes), *expected, "{name}: wac's result");
    }
}
