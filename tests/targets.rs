//! `weld targets` and `compose --target`: worlds from a WIT directory, a
//! `.wit` file, an encoded WIT package and a component; the semver lines;
//! a composition checked before it is written. (The real components against
//! the WASI 0.2.0 and 0.2.6 worlds are case directories, tests/cases/targets.)

mod common;
#[allow(dead_code)]
#[path = "common/registry.rs"]
mod registry;

use std::path::PathBuf;

use common::{demo, stderr, stdout, weld};
use weld_linker::{targets, Direction, Status, TargetWorld};

/// The fetched WASI WIT directory (`corpus/fetch-wit`), or a skip/failure.
fn wasi_wit(version: &str) -> Option<PathBuf> {
    let dir = common::cache().join(format!("wit/wasi-{version}"));
    if dir.join("deps/cli/command.wit").is_file() {
        return Some(dir);
    }
    registry::missing(&format!("{} not fetched (run corpus/fetch-wit)", dir.display()));
    None
}

const HOST: &str = "package demo:host@1.0.0;
world app-host {
  import demo:greet/api@0.2.5;
  export run: func() -> string;
}
package demo:greet@0.2.5 {
  interface api { hello: func() -> string; }
}";

#[test]
fn the_library_reports_every_item_with_its_rule() {
    let world = TargetWorld::from_wit("host.wit", HOST, None).unwrap();
    assert_eq!(world.name(), "demo:host/app-host@1.0.0");
    let app = wat::parse_file(demo("components/app.wat")).unwrap();
    let r = targets(&world, "app", &app).unwrap();
    assert!(r.conforms, "{}", r.to_text());
    assert_eq!(r.items.len(), 2);
    assert_eq!(r.items[0].direction, Direction::Import);
    assert_eq!(r.items[0].matched.as_deref(), Some("demo:greet/api@0.2.5"));
    assert_eq!(
        r.items[0].status,
        Status::Semver {
            from: "0.2.0".into(),
            to: "0.2.5".into()
        }
    );
    assert_eq!(
        (r.items[1].direction, &r.items[1].status),
        (Direction::Export, &Status::Exact)
    );
    // Another track: missing, and the component does not conform.
    let world = TargetWorld::from_wit("host.wit", &HOST.replace("0.2.5", "0.3.0"), None).unwrap();
    let r = targets(&world, "app", &app).unwrap();
    assert!(!r.conforms);
    assert_eq!(r.items[0].status, Status::Missing);
    assert_eq!(
        r.items[0].to_string(),
        "import demo:greet/api@0.2.0: missing (the world does not provide it)"
    );
    // A semver match whose type differs is a type mismatch, in WIT syntax.
    let world = TargetWorld::from_wit(
        "host.wit",
        &HOST.replace("hello: func() -> string", "hello: func() -> u32"),
        None,
    )
    .unwrap();
    let r = targets(&world, "app", &app).unwrap();
    assert!(!r.conforms);
    let line = r.items[0].to_string();
    assert!(
        line.starts_with("import demo:greet/api@0.2.0: type mismatch: the component expects `hello: func() -> string;`; the world's `demo:greet/api@0.2.5` has `hello: func() -> u32;`"),
        "{line}"
    );
    // The world expects an export the component lacks.
    let world =
        TargetWorld::from_wit("host.wit", &HOST.replace("export run:", "export start:"), None).unwrap();
    let r = targets(&world, "app", &app).unwrap();
    assert_eq!(
        r.items[1].to_string(),
        "export start: missing (the component does not export it)"
    );
    // Not a component.
    let core = wat::parse_str("(module)").unwrap();
    assert_eq!(
        targets(&world, "m.wasm", &core).unwrap_err().to_string(),
        "m.wasm: not a component"
    );
}

#[test]
fn worlds_come_from_encoded_packages_and_components_too() {
    let (Some(wit), Some(tools)) = (wasi_wit("0.2.6"), registry::wasm_tools()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("wasi.wasm");
    let o = std::process::Command::new(&tools)
        .args(["component", "wit", "--wasm", "-o"])
        .arg(&pkg)
        .arg(&wit)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The encoded package keeps its own worlds: wasmtime:wasi/bindings
    // includes wasi:cli/imports@0.2.6. componentize-py's app imports WASI
    // 0.2.9: every import is provided, by semver.
    let Some(cpy) = common::real_binary("cpy-app") else {
        return;
    };
    let o = weld(&[
        "targets".as_ref(),
        pkg.as_os_str(),
        "--world".as_ref(),
        "bindings".as_ref(),
        cpy.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("import wasi:cli/stdout@0.2.9: semver 0.2.9 -> 0.2.6\n"),
        "{text}"
    );
    assert!(text.ends_with("conforms to wasmtime:wasi/bindings\n"), "{text}");
    // A component as the world: the app conforms to its own world, exactly.
    let app = dir.path().join("app.wasm");
    std::fs::write(&app, wat::parse_file(demo("components/app.wat")).unwrap()).unwrap();
    let o = weld(&[
        "targets".as_ref(),
        app.as_os_str(),
        app.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["conforms"], true);
    let statuses: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["exact", "exact"]);
    // --world is for packages.
    let o = weld(&[
        "targets".as_ref(),
        app.as_os_str(),
        "--world".as_ref(),
        "x".as_ref(),
        app.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("a component has one world"), "{}", stderr(&o));
}

#[test]
fn compose_checks_the_result_against_the_target_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let good = dir.path().join("good.wit");
    // The composed app imports nothing and exports run.
    std::fs::write(
        &good,
        "package demo:host@1.0.0; world runner { export run: func() -> string; }",
    )
    .unwrap();
    let bad = dir.path().join("bad.wit");
    std::fs::write(
        &bad,
        "package demo:host@1.0.0; world runner { export run: func() -> u32; export stop: func(); }",
    )
    .unwrap();
    let compose = |world: &std::path::Path| {
        weld(&[
            "compose".as_ref(),
            demo("components/app.wat").as_ref(),
            "--plug".as_ref(),
            demo("components/greeter.wat").as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            "--target".as_ref(),
            world.as_os_str(),
        ])
    };
    let o = compose(&good);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("weld: conforms to demo:host/runner@1.0.0 (1 items, 0 by semver)"),
        "{}",
        stderr(&o)
    );
    let before = std::fs::read(&out).unwrap();
    wasmparser::Validator::new().validate_all(&before).unwrap();
    let o = compose(&bad);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("weld: error: the composition does not conform to demo:host/runner@1.0.0: export run: type mismatch: the world expects `run: func() -> u32`; the component's `run` has `run: func() -> string`"),
        "{e}"
    );
    assert!(
        e.contains("; export stop: missing (the component does not export it); nothing written"),
        "{e}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
}
