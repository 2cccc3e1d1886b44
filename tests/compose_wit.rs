//! Compose fidelity, checked with `wasm-tools component wit`: the result's
//! imports come in an order the component model accepts (each after the
//! imports whose types it uses), and restated imports name the same types
//! the inputs name.

mod common;
#[allow(dead_code)]
#[path = "common/registry.rs"]
mod registry;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{stderr, weld, wit};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn compose(args: &[&Path], out: &Path) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["compose".as_ref(), args[0].as_os_str()];
    for p in &args[1..] {
        all.push("--plug".as_ref());
        all.push(p.as_os_str());
    }
    all.push("-o".as_ref());
    all.push(out.as_os_str());
    let o = weld(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    wasmparser::Validator::new()
        .validate_all(&std::fs::read(out).unwrap())
        .unwrap();
}

#[test]
fn an_import_comes_after_the_import_whose_resource_its_types_use() {
    let Some(tools) = registry::wasm_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // `y` is instantiated first and imports `dep2` seeing only `f2`; `x`
    // imports `dep1` (resource t) and `dep2`, whose `f1` returns a `t`. The
    // result's `dep2` carries both functions, so it must follow `dep1`
    // although `y`, which needs it first, never imports `dep1`.
    let y = write(
        dir.path(),
        "y.wat",
        r#"(component
          (import "dep2" (instance $d2 (export "f2" (func (result u32)))))
          (alias export $d2 "f2" (func $f2))
          (instance $api (export "g" (func $f2)))
          (export "y-api" (instance $api)))"#,
    );
    let x = write(
        dir.path(),
        "x.wat",
        r#"(component
          (import "dep1" (instance $d1 (export "t" (type (sub resource)))))
          (alias export $d1 "t" (type $t))
          (import "dep2" (instance $d2 (export "f1" (func (result (own $t))))))
          (import "y-api" (instance $y (export "g" (func (result u32)))))
          (alias export $y "g" (func $g))
          (export "run" (func $g)))"#,
    );
    let out = dir.path().join("out.wasm");
    compose(&[&x, &y], &out);
    assert_eq!(
        wit(&tools, &out),
        "package root:component;

world root {
  import dep1: interface {
    resource t;
  }
  import dep2: interface {
    f2: func() -> u32;

    f1: func() -> t;
  }

  export run: func() -> u32;
}
"
    );
}

#[test]
fn restated_imports_name_the_types_the_inputs_name() {
    let Some(tools) = registry::wasm_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // `right` uses `t` through `left`, which uses it from `diamond-base`;
    // and `other` names `u32` as its own `t`. The result must say the same.
    let wit_file = write(
        dir.path(),
        "w.wit",
        "package demo:dia;

interface diamond-base {
  type t = u32;
}
interface left {
  use diamond-base.{t};
  lf: func() -> t;
}
interface right {
  use left.{t};
  rf: func() -> t;
}
interface other {
  type t = u32;
  of: func(x: t) -> t;
}
world app {
  import left;
  import right;
  import other;
  export run: func() -> u32;
}
",
    );
    let core = dir.path().join("core.wasm");
    let app = dir.path().join("app.wasm");
    for args in [
        vec![
            "component".as_ref(),
            "embed".as_ref(),
            "--dummy".as_ref(),
            wit_file.as_os_str(),
            "-o".as_ref(),
            core.as_os_str(),
        ],
        vec![
            "component".as_ref(),
            "new".as_ref(),
            core.as_os_str(),
            "-o".as_ref(),
            app.as_os_str(),
        ],
    ] {
        let o = Command::new(&tools).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let out = dir.path().join("out.wasm");
    compose(&[&app], &out);
    let (before, after) = (wit(&tools, &app), wit(&tools, &out));
    assert!(before.contains("use left.{t};"), "{before}");
    assert_eq!(before, after);
}
