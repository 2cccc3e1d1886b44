//! `weld map COMPONENT --exec CMD`: Binaryen's `wasm-opt -O` (npm
//! `binaryen`, JS build) on each distinct core module of real components
//! (jco's wasm-tools build, the componentize-py app): the output validates,
//! keeps the WIT (`wasm-tools component wit`), runs the same in wasmtime
//! (PyPI `wasmtime`) and is smaller. Small generated components check the
//! rest: each distinct module run once, `--only`/`--min-size`/`--dry-run`,
//! a failing command, a command that drops a used export, and bad input,
//! each a one-line error with nothing written.

mod common;
#[path = "common/dylink.rs"]
#[allow(dead_code)]
mod dylink;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cache, real_binary, stderr, stdout, weld, wit};
use dylink::{call_jco, core_modules, python, run, validate};
use harness::{tool, wasm_tools};

/// Binaryen's wasm-opt, as `corpus/build-debug` installs it (npm).
fn wasm_opt() -> Option<PathBuf> {
    tool(
        "wasm-opt",
        "WELD_WASM_OPT",
        &[cache().join("tools/npm/node_modules/.bin/wasm-opt")],
    )
}

/// `weld map IN --exec 'wasm-opt -all --disable-compact-imports -O {in} -o
/// {out}' -o OUT` (every feature but the compact imports encoding, which
/// engines do not read yet), checked:
/// valid, same WIT, as many core modules, smaller. Returns the output.
fn optimized(tools: &Path, opt: &Path, input: &Path, dir: &Path) -> PathBuf {
    let out = dir.join(format!(
        "{}.opt.wasm",
        input.file_stem().unwrap().to_string_lossy()
    ));
    let exec = format!(
        "'{}' -all --disable-compact-imports -O {{in}} -o {{out}}",
        opt.display()
    );
    let o = weld(&[
        "map".as_ref(),
        input.as_os_str(),
        "--exec".as_ref(),
        exec.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "weld map {}: {}", input.display(), stderr(&o));
    let (a, b) = (std::fs::read(input).unwrap(), std::fs::read(&out).unwrap());
    validate(&b);
    eprintln!(
        "{}: {} -> {} bytes\n{}",
        input.display(),
        a.len(),
        b.len(),
        stdout(&o)
    );
    assert!(b.len() < a.len(), "{}: not smaller", input.display());
    assert_eq!(core_modules(&a), core_modules(&b));
    // One line per distinct module, each smaller or the same.
    assert!(stdout(&o).lines().count() >= 4, "{}", stdout(&o));
    assert_eq!(
        wit(tools, input),
        wit(tools, &out),
        "{}: the WIT changed",
        input.display()
    );
    out
}

#[test]
fn wasm_opt_on_a_jco_component_keeps_its_wit_and_its_results() {
    let (Some(tools), Some(python), Some(opt)) = (wasm_tools(), python(), wasm_opt()) else {
        return;
    };
    let Some(input) = real_binary("jco-1.0.3-wasm-tools") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // With every feature, wasm-opt writes the adapter's imports in the
    // compact imports proposal's encoding, which wasmtime refuses: weld
    // refuses the result first.
    let exec = format!("'{}' -all -O {{in}} -o {{out}}", opt.display());
    let bad = tmp.path().join("bad.wasm");
    let o = weld(&[
        "map".as_ref(),
        input.as_os_str(),
        "--only".as_ref(),
        "wit-component:adapter:wasi_snapshot_preview1".as_ref(),
        "--exec".as_ref(),
        exec.as_ref(),
        "-o".as_ref(),
        bad.as_os_str(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the result needs a WebAssembly proposal the original did not use: invalid leading byte 0x7F with compact imports proposal disabled"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
    let out = optimized(&tools, &opt, &input, tmp.path());
    let (a, b) = (call_jco(&python, &input), call_jco(&python, &out));
    assert!(a.contains("print: ok('(module"), "{a}");
    assert_eq!(a, b, "the export calls differ");
}

#[test]
fn wasm_opt_on_the_componentize_py_app_runs_the_same() {
    let (Some(tools), Some(python), Some(opt)) = (wasm_tools(), python(), wasm_opt()) else {
        return;
    };
    let Some(app) = real_binary("cpy-app") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = optimized(&tools, &opt, &app, tmp.path());
    for args in [&[][..], &["one", "two"][..]] {
        let neutral = |path: &Path| {
            let r = run(&python, path, args);
            let p = path.display().to_string();
            (r.stdout.replace(&p, "APP"), r.stderr.replace(&p, "APP"), r.code)
        };
        let (x, y) = (neutral(&app), neutral(&out));
        assert!(x.0.contains("GREETING=from-the-host"), "{x:?}");
        assert_eq!(x, y, "the optimized app behaves differently");
    }
}

/// A component with three core modules: `$m` instantiated twice (in the
/// component and, the same bytes again, in a nested one), `$n` once; `$m`'s
/// export `f` and `$n`'s `g` are used, `$m`'s `unused` is not.
const THREE: &str = r#"(component
  (core module $m
    (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add)
    (func (export "unused")))
  (core module $n (@name "named")
    (func (export "g") (result i32) i32.const 40 i32.const 2 i32.add))
  (core instance $mi (instantiate $m))
  (core instance $ni (instantiate $n))
  (func (export "f") (result u32) (canon lift (core func $mi "f")))
  (func (export "g") (result u32) (canon lift (core func $ni "g")))
  (component $inner
    (core module $m
      (func (export "f") (result i32) i32.const 1 i32.const 2 i32.add)
      (func (export "unused")))
    (core instance $i (instantiate $m))
    (func (export "h") (result u32) (canon lift (core func $i "f"))))
  (instance $c (instantiate $inner))
  (export "h" (func $c "h")))"#;

fn write_wat(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
    p
}

/// `weld map` with `args`, in `dir`.
fn map(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_weld"))
        .arg("map")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    eprintln!("weld map {}: {}{}", args.join(" "), stdout(&o), stderr(&o));
    o
}

#[test]
fn each_distinct_module_runs_once_and_the_selection_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = write_wat(dir, "three.wasm", THREE);
    // Two distinct modules ($m twice, the same bytes), $m at two places.
    let o = map(dir, &["three.wasm", "--dry-run"]);
    assert!(o.status.success());
    let listed = stdout(&o);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with("run ") && lines[0].contains("module[0], component[0]/module[0]"),
        "{listed}"
    );
    assert!(lines[1].contains("\"named\" module[1]"), "{listed}");
    // --only by name, by hash prefix; --min-size.
    let hash = lines[0].split_whitespace().nth(2).unwrap().to_string();
    let o = map(dir, &["three.wasm", "--dry-run", "--only", "named"]);
    assert!(
        stdout(&o).lines().next().unwrap().starts_with("skip"),
        "{}",
        stdout(&o)
    );
    let o = map(
        dir,
        &[
            "three.wasm",
            "--dry-run",
            "--only",
            &hash["sha256-".len()..][..10],
        ],
    );
    let l: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert!(l[0].starts_with("run ") && l[1].starts_with("skip"), "{l:?}");
    let o = map(dir, &["three.wasm", "--dry-run", "--min-size", "100000"]);
    assert!(stdout(&o).lines().all(|l| l.starts_with("skip")));
    let o = map(
        dir,
        &["three.wasm", "--dry-run", "--only", "nothing-by-this-name"],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("`nothing-by-this-name` names no core module"),
        "{}",
        stderr(&o)
    );

    // Each distinct module once: the command logs each run.
    let log = dir.join("runs.log");
    let exec = format!("echo run >> '{}' && cp {{in}} {{out}}", log.display());
    let o = map(dir, &["three.wasm", "--exec", &exec, "-o", "out.wasm", "-j", "2"]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
    // Copies change nothing.
    assert_eq!(
        std::fs::read(dir.join("out.wasm")).unwrap(),
        std::fs::read(&input).unwrap()
    );
}

#[test]
fn a_transformed_module_lands_in_every_place_of_its_original() {
    let Some(tools) = wasm_tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_wat(dir, "three.wasm", THREE);
    // The used export stays; `unused` is renamed (allowed: nothing uses it),
    // and `i32.const 1` becomes `i32.const 5`: f returns 7 everywhere.
    let exec = format!(
        "'{t}' print {{in}} | sed -e 's/\"unused\"/\"renamed\"/' -e 's/i32.const 1$/i32.const 5/' | '{t}' parse -o {{out}}",
        t = tools.display()
    );
    let o = map(dir, &["three.wasm", "--exec", &exec, "-o", "out.wasm"]);
    assert!(o.status.success());
    let out = std::fs::read(dir.join("out.wasm")).unwrap();
    validate(&out);
    let text = wasmprinter::print_bytes(&out).unwrap();
    assert_eq!(text.matches("(export \"renamed\"").count(), 2, "{text}");
    assert_eq!(text.matches("i32.const 5").count(), 2, "{text}");
    assert!(!text.contains("i32.const 1\n"), "{text}");
}

#[test]
fn a_failing_command_or_a_dropped_export_is_one_line_and_nothing_is_written() {
    let Some(tools) = wasm_tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_wat(dir, "three.wasm", THREE);
    let cases: Vec<(String, &str)> = vec![
        (
            "echo 'it broke' >&2; exit 3 # {in} {out}".to_string(),
            "exited with status 3: it broke",
        ),
        ("true {in} {out}".to_string(), "wrote no {out} file"),
        (
            "echo garbage > {out} #{in}".to_string(),
            "the result is not a WebAssembly binary",
        ),
        // A valid module, but a bad one: a body that does not type.
        (
            format!(
                "'{t}' print {{in}} | sed 's/i32.const 2/f32.const 2/' | '{t}' parse -o {{out}}",
                t = tools.display()
            ),
            "the result is not valid: type mismatch",
        ),
        (
            format!(
                "'{t}' print {{in}} | sed 's/(export \"f\"/(export \"x\"/; s/(export \"g\"/(export \"y\"/' | '{t}' parse -o {{out}}",
                t = tools.display()
            ),
            "export \"f\" (func (result i32)) is used by the component and was removed",
        ),
    ];
    for (exec, says) in cases {
        let o = map(dir, &["three.wasm", "--exec", &exec, "-o", "out.wasm"]);
        assert!(!o.status.success(), "{exec}");
        let e = stderr(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains(says), "{exec}: {e}");
        assert!(e.contains("three.wasm: module["), "{e}");
        assert!(!dir.join("out.wasm").exists(), "{exec}: an output was written");
    }
    let o = map(dir, &["three.wasm", "--exec", "cp {in} x", "-o", "out.wasm"]);
    assert!(stderr(&o).contains("must name {in} and {out}"), "{}", stderr(&o));
}

#[test]
fn bad_input_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = wat::parse_str(THREE).unwrap();
    // A nested module cut short: the component's size fields still say the
    // old length.
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 40);
    // A name section whose module name is not UTF-8.
    let bad_name = {
        let mut m = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        m.extend_from_slice(&[0, 10, 4, b'n', b'a', b'm', b'e', 0, 3, 2, 0xff, 0xfe]);
        let mut c = wat::parse_str("(component)").unwrap();
        c.push(1);
        wasm_encoder::Encode::encode(&m.len(), &mut c);
        c.extend_from_slice(&m);
        c
    };
    // Components nested past the limit.
    let deep = {
        let mut c = wat::parse_str("(component)").unwrap();
        for _ in 0..70 {
            let mut outer = wat::parse_str("(component)").unwrap();
            outer.push(4);
            wasm_encoder::Encode::encode(&c.len(), &mut outer);
            outer.extend_from_slice(&c);
            c = outer;
        }
        c
    };
    let module = wat::parse_str("(module)").unwrap();
    for (name, bytes, says) in [
        ("truncated.wasm", truncated, "unexpected end"),
        ("bad-name.wasm", bad_name, "module[0]: name section"),
        ("deep.wasm", deep, "nested deeper than 64 levels"),
        ("module.wasm", module, "not a component"),
    ] {
        std::fs::write(dir.join(name), &bytes).unwrap();
        let o = map(dir, &[name, "--exec", "cp {in} {out}", "-o", "out.wasm"]);
        assert!(!o.status.success(), "{name}");
        let e = stderr(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains(name) && e.contains(says), "{name}: {e}");
        assert!(!e.contains("panicked"), "{e}");
        assert!(!dir.join("out.wasm").exists());
    }
}

#[test]
fn an_exported_module_takes_an_index_and_keeps_all_its_exports() {
    let Some(tools) = wasm_tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // `$a` is exported (so every export of it is needed); the export is
    // module index 1, so `$b` is index 2, and its `g` is used.
    write_wat(
        dir,
        "exported.wasm",
        r#"(component
  (core module $a (func (export "f") (result i32) i32.const 1))
  (export "a" (core module $a))
  (core module $b (func (export "g") (result i32) i32.const 2) (func (export "spare")))
  (core instance $bi (instantiate 2))
  (func (export "g") (result u32) (canon lift (core func $bi "g"))))"#,
    );
    let rename = |from: &str, to: &str| {
        format!(
            "'{t}' print {{in}} | sed 's/(export \"{from}\"/(export \"{to}\"/' | '{t}' parse -o {{out}}",
            t = tools.display()
        )
    };
    let o = map(
        dir,
        &["exported.wasm", "--exec", &rename("g", "h"), "-o", "out.wasm"],
    );
    assert!(
        stderr(&o).contains("module[1]") && stderr(&o).contains("export \"g\""),
        "{}",
        stderr(&o)
    );
    let o = map(
        dir,
        &["exported.wasm", "--exec", &rename("f", "x"), "-o", "out.wasm"],
    );
    assert!(
        stderr(&o).contains("module[0]") && stderr(&o).contains("export \"f\""),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("out.wasm").exists());
    // `spare` is nobody's: renaming it is fine.
    let o = map(
        dir,
        &[
            "exported.wasm",
            "--exec",
            &rename("spare", "other"),
            "-o",
            "out.wasm",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    validate(&std::fs::read(dir.join("out.wasm")).unwrap());
}
