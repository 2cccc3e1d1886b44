//! `weld fuse` end to end over corpus/demo: every output validates and
//! behaves like the inputs instantiated one by one (wasmi); every error case
//! is a clear message and leaves no output behind.

mod common;

use common::exec::{run_fused, run_separately};
use common::*;
use weld_format::Inputs;
use weld_linker::{FuseOptions, OnConflict};

/// The `.wat` files of a demo set as (name, binary) pairs, sorted by name.
fn load_set(set: &str) -> Vec<(String, Vec<u8>)> {
    demo_set(set)
        .iter()
        .map(|p| {
            let name = std::path::Path::new(p)
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            (name, wat::parse_file(p).unwrap())
        })
        .collect()
}

fn validate_all_features(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("fused output does not validate: {e}"));
}

/// The number of memories a module defines.
fn memory_count(bytes: &[u8]) -> u32 {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::MemorySection(r)) => Some(r.count()),
            _ => None,
        })
        .unwrap_or(0)
}

fn fuse_with(opts: &FuseOptions, set: &[(String, Vec<u8>)]) -> weld_linker::Fused {
    let inputs = Inputs::from_memory(set.iter().cloned()).unwrap();
    weld_linker::fuse(opts, &inputs).unwrap_or_else(|e| panic!("fuse failed: {e}"))
}

/// Fuses a demo set, validates, and compares execution with the inputs run
/// one by one.
fn check_behaves_like_inputs(set: &str) -> Vec<u8> {
    let inputs = load_set(set);
    let fused = fuse_with(&FuseOptions::default(), &inputs);
    validate_all_features(&fused.bytes);
    let pairs: Vec<(&str, &[u8])> = inputs.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let order: Vec<usize> = fused
        .map
        .order
        .iter()
        .map(|n| inputs.iter().position(|(m, _)| m == n).unwrap())
        .collect();
    let want = run_separately(&pairs, &order);
    let got = run_fused(&pairs, &fused.bytes);
    assert!(!want.calls.is_empty(), "{set}: nothing was called");
    assert_eq!(got, want, "{set}: fused module behaves differently");
    fused.bytes.into_vec()
}

#[test]
fn chain_behaves_like_inputs() {
    check_behaves_like_inputs("chain");
}

#[test]
fn diamond_behaves_like_inputs() {
    check_behaves_like_inputs("diamond");
}

#[test]
fn reexport_is_followed_to_the_definition() {
    let bytes = check_behaves_like_inputs("reexport");
    // `app` calls lib's function directly: no import is left.
    let imports = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .any(|p| matches!(p, Ok(wasmparser::Payload::ImportSection(_))));
    assert!(!imports);
}

#[test]
fn start_order_and_deferred_segments_behave_like_inputs() {
    check_behaves_like_inputs("start-order");
    // And the log shows the order explicitly: a's start, then b's start
    // seeing b's data ('B' = 66), then c's start seeing what b copied.
    let inputs = load_set("start-order");
    let fused = fuse_with(&FuseOptions::default(), &inputs);
    let pairs: Vec<(&str, &[u8])> = inputs.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let got = run_fused(&pairs, &fused.bytes);
    assert_eq!(
        got.log,
        ["env.log[\"i32:1\"]", "env.log[\"i32:66\"]", "env.log[\"i32:66\"]"]
    );
}

#[test]
fn shared_memory_behaves_like_inputs() {
    let bytes = check_behaves_like_inputs("shared-memory");
    let memories = memory_count(&bytes);
    assert_eq!(memories, 1, "an imported memory is the provider's memory");
}

#[test]
fn multi_memory_behaves_like_inputs() {
    let bytes = check_behaves_like_inputs("multi-memory");
    let memories = memory_count(&bytes);
    assert_eq!(memories, 2, "separate memories stay separate");
}

#[test]
fn tables_and_call_indirect_behave_like_inputs() {
    check_behaves_like_inputs("tables");
}

#[test]
fn ref_func_element_expressions_are_written_as_function_indices() {
    let fused = check_behaves_like_inputs("elem-exprs");
    // The `ref.func` items only segments use function indices now (lib's
    // at 0 and app's at 2, adjacent, are one); the one with a `ref.null`
    // keeps its expressions.
    assert_eq!(
        segments(&fused),
        ["active 0 at 0: functions 3", "active 0 at 4: expressions 2"]
    );
}

/// Each element segment of `bytes`: mode, table, offset and items.
fn segments(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::ElementSection(r) = p.unwrap() {
            for e in r {
                let e = e.unwrap();
                let mode = match e.kind {
                    wasmparser::ElementKind::Active {
                        table_index,
                        offset_expr,
                    } => {
                        let op = offset_expr.get_operators_reader().read().unwrap();
                        let at = match op {
                            wasmparser::Operator::I32Const { value } => value.to_string(),
                            other => format!("{other:?}"),
                        };
                        format!("active {} at {at}", table_index.unwrap_or(0))
                    }
                    wasmparser::ElementKind::Passive => "passive".into(),
                    wasmparser::ElementKind::Declared => "declared".into(),
                };
                let items = match e.items {
                    wasmparser::ElementItems::Functions(f) => format!("functions {}", f.count()),
                    wasmparser::ElementItems::Expressions(_, x) => format!("expressions {}", x.count()),
                };
                out.push(format!("{mode}: {items}"));
            }
        }
    }
    out
}

/// wasm-split's shape: each secondary module fills single slots of the
/// primary's table (set to nulls first). Fused, the adjacent slots are one
/// segment, the null segment stays before it, and every slot holds what it
/// held when the inputs were instantiated one by one.
#[test]
fn adjacent_table_slots_from_many_inputs_are_one_segment() {
    let fused = check_behaves_like_inputs("split-table");
    assert_eq!(
        segments(&fused),
        [
            "active 0 at 0: functions 2",
            "active 1 at 0: expressions 8",
            "active 1 at 0: functions 5"
        ]
    );
}

#[test]
fn fuse_to_writes_what_fuse_returns_over_the_previous_output() {
    let inputs = load_set("tables");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    std::fs::write(&out, b"previous output").unwrap();
    let set = Inputs::from_memory(inputs.iter().cloned()).unwrap();
    let fused = weld_linker::fuse_to(&FuseOptions::default(), &set, &out).unwrap();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        fused.bytes,
        "the file is not the output returned"
    );
    assert_eq!(fused.bytes, fuse_with(&FuseOptions::default(), &inputs).bytes);
    validate_all_features(&fused.bytes);
    // On Linux the output is built in its file, through a mapping (the
    // temporary directory's file system reserves blocks: ext4, tmpfs).
    #[cfg(target_os = "linux")]
    assert!(
        matches!(fused.bytes, weld_linker::Output::Mapped(_)),
        "the output was not built in its file"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["out.wasm"], "a temporary file was left");
    // A failed run (here: no inputs) leaves that output as it is.
    let none = Inputs::from_memory(Vec::<(String, Vec<u8>)>::new()).unwrap();
    assert!(weld_linker::fuse_to(&FuseOptions::default(), &none, &out).is_err());
    assert_eq!(std::fs::read(&out).unwrap(), fused.bytes);
    // An output whose directory does not exist is an error naming it.
    let missing = dir.path().join("no-such-dir").join("out.wasm");
    let e = weld_linker::fuse_to(&FuseOptions::default(), &set, &missing).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("cannot write {}: ", missing.display())),
        "{e}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), fused.bytes);
}

#[test]
fn globals_in_const_exprs_behave_like_inputs() {
    check_behaves_like_inputs("globals");
}

#[test]
fn passive_segments_with_memory_init_behave_like_inputs() {
    check_behaves_like_inputs("passive");
}

/// wasmi has no exception handling: check the structure instead (the tag
/// import is the provider's tag, and the output validates).
#[test]
fn tags_are_linked() {
    let inputs = load_set("tags");
    let fused = fuse_with(&FuseOptions::default(), &inputs);
    validate_all_features(&fused.bytes);
    let mut tags = 0;
    let mut imports = 0;
    for p in wasmparser::Parser::new(0).parse_all(&fused.bytes) {
        match p.unwrap() {
            wasmparser::Payload::TagSection(r) => tags = r.count(),
            wasmparser::Payload::ImportSection(r) => imports = r.count(),
            _ => {}
        }
    }
    assert_eq!((tags, imports), (1, 0));
    let app = fused.map.inputs.iter().find(|m| m.name == "app").unwrap();
    let lib = fused.map.inputs.iter().find(|m| m.name == "lib").unwrap();
    assert_eq!(app.tags, lib.tags);
}

#[test]
fn identical_functions_fold_and_behave_like_inputs() {
    let bytes = check_behaves_like_inputs("icf");
    let inputs = load_set("icf");
    assert_eq!(fuse_with(&FuseOptions::default(), &inputs).bytes, bytes);
    // In planned order, so the indices below are the inputs' own.
    let planned = FuseOptions {
        keep_order: true,
        ..Default::default()
    };
    let fused = fuse_with(&planned, &inputs);
    // b's $times7, $is_even and $is_odd fold into a's twins; $times8 stays.
    let folds: Vec<(String, u32, u32)> = fused
        .map
        .folded
        .iter()
        .map(|f| (f.input.clone(), f.func, f.into))
        .collect();
    assert_eq!(
        folds,
        [("b".to_string(), 1, 0), ("b".into(), 3, 1), ("b".into(), 4, 2)]
    );
    let none = fuse_with(
        &FuseOptions {
            icf: weld_linker::Icf::None,
            ..planned
        },
        &inputs,
    );
    assert!(none.bytes.len() > fused.bytes.len());
}

#[test]
fn name_section_is_merged_and_sorted() {
    let inputs = load_set("tables");
    let planned = FuseOptions {
        keep_order: true,
        ..Default::default()
    };
    let fused = fuse_with(&planned, &inputs);
    let mut names = Vec::new();
    for p in wasmparser::Parser::new(0).parse_all(&fused.bytes) {
        if let wasmparser::Payload::CustomSection(c) = p.unwrap() {
            if let wasmparser::KnownCustom::Name(r) = c.as_known() {
                for n in r {
                    if let wasmparser::Name::Function(m) = n.unwrap() {
                        for x in m {
                            let x = x.unwrap();
                            names.push((x.index, x.name.to_string()));
                        }
                    }
                }
            }
        }
    }
    // lib's functions, then app's, in index order; app's name for its
    // import of lib's `apply` does not rename lib's function.
    assert_eq!(
        names,
        [
            (0, "double".to_string()),
            (1, "square".into()),
            (3, "inc".into()),
            (4, "neg".into())
        ]
    );
}

#[test]
fn single_module_fuse_keeps_code_byte_for_byte() {
    let inputs = load_set("tables");
    let lib = vec![inputs.iter().find(|(n, _)| n == "lib").unwrap().clone()];
    let fused = fuse_with(&FuseOptions::default(), &lib);
    let code = |b: &[u8]| {
        wasmparser::Parser::new(0)
            .parse_all(b)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(f) => Some(f.as_bytes().to_vec()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(code(&fused.bytes), code(&lib[0].1));
}

#[test]
fn export_conflicts_rename_or_skip() {
    let set = vec![
        (
            "a".to_string(),
            wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 1))"#).unwrap(),
        ),
        (
            "b".to_string(),
            wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 2))"#).unwrap(),
        ),
    ];
    let inputs = Inputs::from_memory(set.clone()).unwrap();
    let err = weld_linker::fuse(&FuseOptions::default(), &inputs).unwrap_err();
    assert!(
        err.to_string()
            .contains("b: export \"f\" conflicts with the export of a"),
        "{err}"
    );

    let opts = FuseOptions {
        on_conflict: OnConflict::Rename,
        ..Default::default()
    };
    let fused = fuse_with(&opts, &set);
    let exports: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&fused.bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::ExportSection(r) => Some(
                r.into_iter()
                    .map(|e| e.unwrap().name.to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(exports, ["f", "b.f"]);

    let opts = FuseOptions {
        on_conflict: OnConflict::Skip,
        exports: Some(vec!["f".into()]),
        ..Default::default()
    };
    let fused = fuse_with(&opts, &set);
    validate_all_features(&fused.bytes);
}

#[test]
fn exports_filter_keeps_ref_func_targets_declared() {
    // `get` returns a reference to `f`, declared only by f's export.
    let set = vec![(
        "m".to_string(),
        wat::parse_str(
            r#"(module (func $f (export "f")) (func (export "get") (result funcref) ref.func $f))"#,
        )
        .unwrap(),
    )];
    let opts = FuseOptions {
        exports: Some(vec!["get".into()]),
        ..Default::default()
    };
    let fused = fuse_with(&opts, &set);
    validate_all_features(&fused.bytes);
}

#[test]
fn custom_sections_merged_copied_or_dropped_with_a_warning() {
    let set = vec![
        (
            "a".to_string(),
            wat::parse_str(r#"(module (@custom "component-type:a" "wit-a") (@custom "mystery" "?") (@producers (language "Rust" "1.0")))"#).unwrap(),
        ),
        ("b".to_string(), wat::parse_str(r#"(module (@producers (language "C" "17") (language "Rust" "1.0")))"#).unwrap()),
    ];
    let fused = fuse_with(&FuseOptions::default(), &set);
    let mut customs = Vec::new();
    for p in wasmparser::Parser::new(0).parse_all(&fused.bytes) {
        if let wasmparser::Payload::CustomSection(c) = p.unwrap() {
            customs.push((c.name().to_string(), c.data().to_vec()));
        }
    }
    let names: Vec<&str> = customs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["producers", "component-type:a"]);
    assert_eq!(customs[1].1, b"wit-a");
    assert!(
        fused
            .warnings
            .iter()
            .any(|w| w.contains("dropped custom section `mystery`")),
        "{:?}",
        fused.warnings
    );
    // producers: Rust once, C added.
    let p = String::from_utf8_lossy(&customs[0].1).into_owned();
    assert_eq!(p.matches("Rust").count(), 1, "{p}");
    assert!(p.contains('C'), "{p}");
}

#[test]
fn identical_host_imports_are_merged() {
    let set = vec![
        (
            "a".to_string(),
            wat::parse_str(r#"(module (import "env" "f" (func (param i32))) (import "env" "g" (func)))"#)
                .unwrap(),
        ),
        (
            "b".to_string(),
            wat::parse_str(
                r#"(module (import "env" "f" (func (param i32))) (import "env" "f" (func (param i64))))"#,
            )
            .unwrap(),
        ),
    ];
    let fused = fuse_with(&FuseOptions::default(), &set);
    let imports: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&fused.bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::ImportSection(r) => Some(
                r.into_imports()
                    .map(|i| {
                        let i = i.unwrap();
                        format!("{}.{}", i.module, i.name)
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    // f(i32) once, g once, f(i64) kept apart: same names, different types.
    assert_eq!(imports, ["env.f", "env.g", "env.f"]);
}

// ---- errors through the CLI: message, exit 1, no output written ----

fn fuse_cli_fails(files: &[(&str, &str)], expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["fuse".to_string()];
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        args.push(p.display().to_string());
    }
    let out = dir.path().join("out.wasm");
    std::fs::write(&out, b"previous output").unwrap();
    args.push("-o".into());
    args.push(out.display().to_string());
    let o = weld(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for e in expect {
        assert!(err.contains(e), "expected `{e}` in: {err}");
    }
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"previous output",
        "the old output must stay untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn cycle_is_an_error_naming_every_edge() {
    let files: Vec<(String, String)> = demo_set("cycle")
        .iter()
        .map(|p| {
            (
                std::path::Path::new(p)
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    fuse_cli_fails(&refs, &["a imports b.f -> b imports c.g -> c imports a.h"]);
}

#[test]
fn type_mismatch_names_both_sides() {
    fuse_cli_fails(
        &[
            ("a.wat", r#"(module (import "b" "f" (func (param i64))) (import "b" "g" (global i32)))"#),
            ("b.wat", r#"(module (func (export "f") (param i32)) (global (export "g") (mut i32) (i32.const 0)))"#),
        ],
        &[
            "a.wat: import \"b\" \"f\": type mismatch: expected (func (param i64)), but `b` exports `f` as (func (param i32))",
            "a.wat: import \"b\" \"g\": type mismatch: expected global i32",
        ],
    );
}

#[test]
fn kind_mismatch_names_both_sides() {
    fuse_cli_fails(
        &[
            ("a.wat", r#"(module (import "b" "m" (func)))"#),
            ("b.wat", r#"(module (memory (export "m") 1))"#),
        ],
        &["a.wat: import \"b\" \"m\": expected func, but `b` exports `m` as a memory"],
    );
}

#[test]
fn missing_provider_export_is_an_error() {
    fuse_cli_fails(
        &[
            ("a.wat", r#"(module (import "b" "nope" (func)))"#),
            ("b.wat", r#"(module (func (export "f")))"#),
        ],
        &["a.wat: import \"b\" \"nope\": input `b` has no export `nope`"],
    );
}

#[test]
fn duplicate_input_names_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.wat");
    std::fs::write(&a, "(module)").unwrap();
    let o = weld(&[
        "fuse".to_string(),
        format!("x={}", a.display()),
        format!("x={}", a.display()),
        "-o".into(),
        dir.path().join("o.wasm").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("input name `x` is already used"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("o.wasm").exists());
}

#[test]
fn export_conflict_is_an_error_by_default() {
    fuse_cli_fails(
        &[
            ("a.wat", r#"(module (memory (export "memory") 1))"#),
            ("b.wat", r#"(module (memory (export "memory") 1))"#),
        ],
        &[
            "b.wat: export \"memory\" conflicts with the export of",
            "--on-conflict",
        ],
    );
}

#[test]
fn linking_sections_are_refused() {
    let mut m = wat::parse_str("(module)").unwrap();
    // A custom section `linking` (id 0, size, name, payload).
    m.extend_from_slice(&[0, 9, 7]);
    m.extend_from_slice(b"linking");
    m.push(2);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("obj.wasm");
    std::fs::write(&p, &m).unwrap();
    let o = weld(&[
        "fuse".as_ref(),
        p.as_os_str(),
        "-o".as_ref(),
        dir.path().join("o.wasm").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("custom section `linking`"), "{}", stderr(&o));
}

#[test]
fn cli_fuse_writes_output_and_map_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["fuse".to_string()];
    args.extend(demo_set("tables"));
    let out1 = dir.path().join("one.wasm");
    let map = dir.path().join("map.json");
    let mut a1 = args.clone();
    a1.extend([
        "-o".into(),
        out1.display().to_string(),
        "--map".into(),
        map.display().to_string(),
    ]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_weld"))
        .args(&a1)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out2 = dir.path().join("two.wasm");
    let mut a2 = args.clone();
    a2.extend(["-o".into(), out2.display().to_string()]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_weld"))
        .args(&a2)
        .env("RAYON_NUM_THREADS", "4")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    assert_eq!(m["order"], serde_json::json!(["lib", "app"]));
    // app's imported `apply` (func 0) maps to lib's `apply`.
    let lib_apply = m["inputs"][1]["funcs"][2].clone();
    assert_eq!(m["inputs"][0]["name"], "app");
    assert_eq!(m["inputs"][0]["funcs"][0], lib_apply);
}

/// Two modules of `n` functions each, `a` importing `imports` of `b`'s: every
/// body calls others (so the rewriter changes its immediates) and returns a
/// distinct constant (so folding keeps them apart).
fn many_functions(n: usize, imports: usize) -> Vec<(String, Vec<u8>)> {
    let mut b = String::from("(module\n");
    for i in 0..n {
        let callee = (i * 7 + 1) % n;
        b.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32)\n\
             local.get 0 i32.eqz (if (result i32) (then i32.const {i}) (else local.get 0 i32.const 1 i32.sub call $f{callee})))\n"
        ));
    }
    b.push(')');
    let mut a = String::from("(module\n");
    for k in 0..imports {
        a.push_str(&format!(
            "(import \"b\" \"f{}\" (func $b{k} (param i32) (result i32)))\n",
            k * (n / imports)
        ));
    }
    for i in 0..n {
        let (own, theirs) = ((i * 13 + 5) % n, i % imports);
        a.push_str(&format!(
            "(func $g{i} (export \"g{i}\") (param i32) (result i32)\n\
             local.get 0 i32.eqz (if (result i32) (then i32.const {}) (else local.get 0 i32.const 1 i32.sub call $g{own} call $b{theirs})))\n",
            i + n
        ));
    }
    a.push(')');
    vec![
        ("a".to_string(), wat::parse_str(&a).unwrap()),
        ("b".to_string(), wat::parse_str(&b).unwrap()),
    ]
}

/// The number of functions a module defines.
fn defined_funcs(bytes: &[u8]) -> u32 {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::FunctionSection(r)) => Some(r.count()),
            _ => None,
        })
        .unwrap_or(0)
}

/// The body rewriter and the validator work in chunks of
/// `weld_linker`'s `CHUNK` (1024) functions, in parallel: with 5000+ bodies
/// (well over three chunks, so chunks really run on different threads and
/// are gathered in order), 1 thread and 4 threads give the same bytes.
#[test]
fn output_is_byte_identical_with_1_and_4_threads_over_several_chunks() {
    let set = many_functions(2600, 200);
    let inputs = Inputs::from_memory(set.iter().cloned()).unwrap();
    let fuse_on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| weld_linker::fuse(&FuseOptions::default(), &inputs))
            .unwrap_or_else(|e| panic!("fuse failed: {e}"))
    };
    let one = fuse_on(1);
    let four = fuse_on(4);
    validate_all_features(&one.bytes);
    let chunks = defined_funcs(&one.bytes).div_ceil(1024);
    assert!(chunks > 4, "only {chunks} rewrite chunks");
    assert!(
        one.bytes == four.bytes,
        "1 thread and 4 threads give different bytes"
    );
    assert_eq!(
        serde_json::to_string(&one.map).unwrap(),
        serde_json::to_string(&four.map).unwrap()
    );
}

/// A list of removed or emptied functions as (input, index) pairs.
fn listed(r: &[weld_linker::RemovedReport]) -> Vec<(String, u32)> {
    r.iter().map(|r| (r.input.clone(), r.func)).collect()
}

/// Input-local indices of `input`'s functions that the map says were
/// removed, and of those it kept.
fn removed_and_kept(fused: &weld_linker::Fused, input: &str) -> (Vec<u32>, Vec<u32>) {
    let m = fused.map.inputs.iter().find(|m| m.name == input).unwrap();
    let (gone, kept): (Vec<_>, Vec<_>) =
        (0..m.funcs.len() as u32).partition(|&i| m.funcs[i as usize].is_none());
    (gone, kept)
}

#[test]
fn unreachable_functions_are_removed_and_nothing_observable_changes() {
    // lib: 0 $helper, 1 $tail, 2 $in_table, 3 $by_global, 4 $by_body,
    // 5 $orphan, 6 $orphan_callee, 7 $only_dead, 8 $start_helper, 9 $start,
    // 10.. the exports. app: 0 the import, 1 $app_orphan, 2 run.
    let bytes = check_behaves_like_inputs("dead");
    let inputs = load_set("dead");
    let fused = fuse_with(&FuseOptions::default(), &inputs);
    assert_eq!(fused.bytes, bytes);
    assert_eq!(removed_and_kept(&fused, "lib").0, [5, 6, 7]);
    assert_eq!(removed_and_kept(&fused, "app").0, [1]);
    let listed = listed(&fused.map.removed);
    assert_eq!(
        listed,
        [
            ("app".to_string(), 1),
            ("lib".into(), 5),
            ("lib".into(), 6),
            ("lib".into(), 7)
        ]
    );
    assert_eq!(fused.map.func_order, "by use");
    // The byte report adds up: sections to the file, inputs' bodies and
    // segments to the code and data sections less their headers.
    let b = &fused.map.bytes;
    assert_eq!(
        8 + b.sections.iter().map(|s| s.1).sum::<usize>(),
        fused.bytes.len()
    );
    let section = |n: &str| b.sections.iter().find(|s| s.0 == n).map_or(0, |s| s.1);
    let code: usize = b.inputs.iter().map(|i| i.code).sum();
    let n_bodies = wasmparser::Parser::new(0)
        .parse_all(&fused.bytes)
        .filter(|p| matches!(p, Ok(wasmparser::Payload::CodeSectionEntry(_))))
        .count();
    // The code section is its id, its size, its body count and the
    // inputs' bodies (lib's start function is used as is: no synthesized one).
    let leb = |x: usize| {
        if x < 128 {
            1
        } else if x < 16384 {
            2
        } else {
            3
        }
    };
    let inner = leb(n_bodies) + code;
    assert_eq!(section("code"), 1 + leb(inner) + inner);
    let data: usize = b.inputs.iter().map(|i| i.data).sum();
    assert!(data <= section("data"));
    // The dead code after `return` is gone from `used`, not just its callee.
    let printed = wasmprinter::print_bytes(&fused.bytes).unwrap();
    assert!(!printed.contains("i32.const 42"), "{printed}");

    // --keep-unused keeps all of them, and in planned order every index is
    // the input's own.
    let all = fuse_with(
        &FuseOptions {
            keep_unused: true,
            keep_order: true,
            ..Default::default()
        },
        &inputs,
    );
    validate_all_features(&all.bytes);
    assert!(all.map.removed.is_empty());
    assert_eq!(all.map.func_order, "planned");
    assert!(all.bytes.len() > fused.bytes.len());
    let lib = all.map.inputs.iter().find(|m| m.name == "lib").unwrap();
    assert_eq!(lib.funcs, (0..18).map(Some).collect::<Vec<_>>());
    assert!(all.map.emptied.is_empty());
}

#[test]
fn address_taken_functions_are_never_removed() {
    // With only app's `run` kept, lib's exports go, and so do the
    // functions only they reached (`$by_body` too: only a dropped export
    // named it, its declaration alone keeps nothing); but a function in a
    // table or under a global's `ref.func` stays, as does the start
    // function and what it calls. `$in_table` keeps its index and slot, but
    // no indirect call is left to reach it: its body is `unreachable`.
    let inputs = load_set("dead");
    let fused = fuse_with(
        &FuseOptions {
            exports: Some(vec!["run".into()]),
            ..Default::default()
        },
        &inputs,
    );
    validate_all_features(&fused.bytes);
    let (gone, kept) = removed_and_kept(&fused, "lib");
    assert_eq!(kept, [0, 2, 3, 8, 9, 10, 17], "kept {kept:?}, removed {gone:?}");
    let emptied = listed(&fused.map.emptied);
    assert_eq!(emptied, [("lib".to_string(), 2), ("lib".into(), 17)]);
    // Every function in an element segment of the output is defined.
    for p in wasmparser::Parser::new(0).parse_all(&fused.bytes) {
        if let wasmparser::Payload::ElementSection(r) = p.unwrap() {
            for e in r {
                if let wasmparser::ElementItems::Functions(fs) = e.unwrap().items {
                    for f in fs {
                        let f = f.unwrap();
                        assert!(fused.map.inputs.iter().any(|m| m.funcs.contains(&Some(f))), "{f}");
                    }
                }
            }
        }
    }
    // What is left still runs: run(x) = used(x) + 1 = x + 11, and the start
    // function ran.
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, &fused.bytes[..]).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let inst = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let run = inst.get_typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 1).unwrap(), 12);
    assert_eq!(inst.exports(&store).count(), 1);
}
