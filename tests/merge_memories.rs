//! `fuse --merge-memories`: what it refuses (one line each, naming the
//! input, the item and the reason), what it accepts, and every memory
//! operator it rewrites giving a valid module. Behaviour in a runtime:
//! tests/runtime/tests/merge_memories.rs; debug information:
//! tests/debug_info.rs.

mod common;

use weld_format::Inputs;
use weld_linker::{fuse, FuseOptions};

fn merged(inputs: &[(&str, &str)], exports: Option<&[&str]>) -> Result<Vec<u8>, String> {
    let set =
        Inputs::from_memory(inputs.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
    let opts = FuseOptions {
        merge_memories: true,
        exports: exports.map(|e| e.iter().map(|s| s.to_string()).collect()),
        ..FuseOptions::default()
    };
    match fuse(&opts, &set) {
        Ok(f) => {
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(&f.bytes)
                .unwrap();
            Ok(f.bytes.to_vec())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn refused(inputs: &[(&str, &str)]) -> String {
    let e = merged(inputs, None).unwrap_err();
    assert!(!e.contains('\n'), "one line: {e}");
    assert!(e.contains("--merge-memories: "), "{e}");
    e
}

fn memories(bytes: &[u8]) -> u32 {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::MemorySection(s) => Some(s.count()),
            _ => None,
        })
        .sum()
}

const FIXED: &str = r#"(module (memory 1 1) (func (export "f") (result i32) (i32.load (i32.const 0))))"#;
const GROWS: &str = r#"(module (memory 1 2) (func (export "g") (result i32) (memory.grow (i32.const 1))))"#;

#[test]
fn an_imported_memory_is_refused() {
    let e = refused(&[("a", r#"(module (import "env" "mem" (memory 1)))"#), ("b", FIXED)]);
    assert_eq!(
        e,
        "a: import \"env\" \"mem\": --merge-memories: an imported memory cannot be merged (its size and contents belong to the host)"
    );
}

#[test]
fn two_exported_memories_are_refused_unless_exports_keep_one() {
    let a = r#"(module (memory (export "ma") 1 1))"#;
    let b = r#"(module (memory (export "mb") 1 1) (func (export "g")))"#;
    let e = refused(&[("a", a), ("b", b)]);
    assert_eq!(
        e,
        "a: export \"ma\": --merge-memories: a second memory is exported (besides b export \"mb\"); a merged memory stands for one (keep one with --exports)"
    );
    let out = merged(&[("a", a), ("b", b)], Some(&["mb", "g"])).unwrap();
    assert_eq!(memories(&out), 1);
}

#[test]
fn two_memories_that_grow_are_refused_naming_both() {
    let grows = |n: &str| {
        format!(
            r#"(module (memory 1 4) (func (export "grow_{n}") (result i32) (memory.grow (i32.const 1))))"#
        )
    };
    let (a, b) = (grows("a"), grows("b"));
    let e = refused(&[("a", &a), ("b", &b)]);
    assert_eq!(
        e,
        "b: memory 0: --merge-memories: it grows (memory.grow in b func 0), and so does a memory 0 (memory.grow in a func 0); only one memory of a merged memory may grow (the last)"
    );
    // One that may grow but never does is kept at its size: accepted.
    let never = r#"(module (memory 1 4) (func (export "peek") (result i32) (i32.load (i32.const 0))))"#;
    let out = merged(&[("a", &a), ("n", never)], None).unwrap();
    assert_eq!(memories(&out), 1);
}

#[test]
fn an_exported_memory_that_grows_is_refused() {
    let a = r#"(module (memory (export "memory") 1) (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#;
    let e = refused(&[("a", a), ("b", FIXED)]);
    assert_eq!(
        e,
        "a: memory 0: --merge-memories: the exported memory grows (memory.grow in a func 0); it must stay at base 0, and only the last memory may grow"
    );
}

#[test]
fn a_segment_past_its_memory_or_at_no_constant_offset_is_refused() {
    // (The memory that grows is the last one, which a segment may pass:
    // instantiation traps merged or not.)
    let past = r#"(module (memory 1 1) (data (i32.const 65534) "abc"))"#;
    let e = refused(&[("a", past), ("b", FIXED), ("c", GROWS)]);
    assert_eq!(
        e,
        "a: data 0: --merge-memories: the segment ends past its memory's 65536 bytes (instantiation would trap)"
    );
    let moving = r#"(module (import "env" "base" (global i32)) (memory 1 1) (data (global.get 0) "abc"))"#;
    let e = refused(&[("a", moving), ("b", FIXED)]);
    assert_eq!(
        e,
        "a: data 0: --merge-memories: the segment's offset is not a constant, so it cannot be moved"
    );
}

#[test]
fn sixty_four_bit_and_shared_memories_are_refused() {
    let e = refused(&[("a", "(module (memory i64 1))"), ("b", FIXED)]);
    assert_eq!(e, "a: memory 0: --merge-memories: the memory is 64-bit");
    let e = refused(&[("a", "(module (memory 1 1 shared))"), ("b", FIXED)]);
    assert_eq!(e, "a: memory 0: --merge-memories: the memory is shared");
}

#[test]
fn one_memory_is_left_as_it_is() {
    let set = Inputs::from_memory([("a".to_string(), FIXED.as_bytes().to_vec())]).unwrap();
    let plain = fuse(&FuseOptions::default(), &set).unwrap();
    let out = merged(&[("a", FIXED)], None).unwrap();
    assert_eq!(&plain.bytes[..], &out[..]);
}

#[test]
fn more_than_a_hundred_tables_is_one_error_naming_the_limit_and_the_option() {
    let inputs: Vec<(String, Vec<u8>)> = (0..101)
        .map(|i| (format!("t{i}"), b"(module (table 1 1 funcref))".to_vec()))
        .collect();
    let set = Inputs::from_memory(inputs).unwrap();
    let e = fuse(&FuseOptions::default(), &set).unwrap_err().to_string();
    assert_eq!(
        e,
        "the fused module would have 101 tables, past the limit of 100 that engines accept (--merge-tables puts them in one)"
    );
    let opts = FuseOptions {
        merge_tables: true,
        ..FuseOptions::default()
    };
    let out = fuse(&opts, &set).unwrap();
    let tables: u32 = wasmparser::Parser::new(0)
        .parse_all(&out.bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::TableSection(s) => Some(s.count()),
            _ => None,
        })
        .sum();
    assert_eq!(tables, 1);
}

fn tables_refused(inputs: &[(&str, &str)]) -> String {
    let set =
        Inputs::from_memory(inputs.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
    let opts = FuseOptions {
        merge_tables: true,
        ..FuseOptions::default()
    };
    let e = fuse(&opts, &set).unwrap_err().to_string();
    assert!(!e.contains('\n') && e.contains("--merge-tables: "), "{e}");
    e
}

/// `--merge-tables` refuses what would change behaviour: an imported
/// table, tables of different element types, a table with an initial value
/// expression, two exported tables, two that grow, a segment past a table
/// that keeps its size.
#[test]
fn merge_tables_refuses_what_would_change_behaviour() {
    let t = r#"(module (table 2 2 funcref))"#;
    assert_eq!(
        tables_refused(&[("a", r#"(module (import "env" "t" (table 1 funcref)))"#), ("b", t)]),
        "a: import \"env\" \"t\": --merge-tables: an imported table cannot be merged (its contents belong to the host)"
    );
    assert_eq!(
        tables_refused(&[("a", t), ("b", "(module (table 1 externref))")]),
        "b: table 0: --merge-tables: the table holds externref, and a table 0 holds funcref"
    );
    assert_eq!(
        tables_refused(&[
            ("a", t),
            ("b", "(module (func $f) (table 1 funcref (ref.func $f)))")
        ]),
        "b: table 0: --merge-tables: the table has an initial value expression"
    );
    assert_eq!(
        tables_refused(&[("a", r#"(module (table (export "x") 1 1 funcref))"#), ("b", r#"(module (table (export "y") 1 1 funcref))"#)]),
        "b: export \"y\": --merge-tables: a second table is exported (besides a export \"x\"); a merged table stands for one (keep one with --exports)"
    );
    let grows = |n: &str| {
        format!(
            r#"(module (table 1 3 funcref) (func (export "g{n}") (result i32) (table.grow (ref.null func) (i32.const 1))))"#
        )
    };
    assert_eq!(
        tables_refused(&[("a", &grows("a")), ("b", &grows("b"))]),
        "b: table 0: --merge-tables: it grows (table.grow in b func 0), and so does a table 0 (table.grow in a func 0); only one table of a merged table may grow (the last)"
    );
    assert_eq!(
        tables_refused(&[
            (
                "a",
                r#"(module (func $f) (table 2 2 funcref) (elem (i32.const 1) $f $f))"#
            ),
            ("b", t),
            ("c", &grows("c"))
        ]),
        "a: elem 0: --merge-tables: the segment ends past its table's 2 elements (instantiation would trap)"
    );
}

/// Every operator that names a memory, on a memory that keeps its size
/// (checked accesses) and on the one that grows (moved accesses), gives a
/// module that validates (fuse validates merged output whole) with one
/// memory, each access with the operands the operator takes.
#[test]
fn every_memory_operator_merges_into_a_valid_module() {
    let mut body = String::new();
    for m in ["$f", "$g"] {
        for (op, ty) in [
            ("i32.load", ""),
            ("i64.load", ""),
            ("f32.load", ""),
            ("f64.load", ""),
            ("i32.load8_s", ""),
            ("i32.load16_u", ""),
            ("i64.load32_s", ""),
            ("v128.load", ""),
            ("v128.load8x8_s", ""),
            ("v128.load32_zero", ""),
            ("v128.load64_splat", ""),
            ("i32.atomic.load", ""),
            ("i64.atomic.load32_u", ""),
            ("i32.store", "i32"),
            ("i64.store16", "i64"),
            ("f32.store", "f32"),
            ("f64.store", "f64"),
            ("v128.store", "v128"),
            ("i32.atomic.store8", "i32"),
            ("i64.atomic.store", "i64"),
            ("i32.atomic.rmw.add", "i32"),
            ("i64.atomic.rmw32.xchg_u", "i64"),
            ("memory.atomic.notify", "i32"),
            ("i32.atomic.rmw.cmpxchg", "i32 i32"),
            ("i64.atomic.rmw8.cmpxchg_u", "i64 i64"),
            ("memory.atomic.wait32", "i32 i64"),
            ("memory.atomic.wait64", "i64 i64"),
        ] {
            let args: String = ty
                .split_whitespace()
                .map(|t| match t {
                    "v128" => "(v128.const i64x2 1 2)".to_string(),
                    t => format!("({t}.const 7)"),
                })
                .collect();
            body.push_str(&format!("({op} {m} offset=8 (local.get 0) {args})\n"));
            body.push_str("(drop)\n");
        }
        body.push_str(&format!(
            "(v128.load8_lane {m} 1 (local.get 0) (v128.const i64x2 0 0)) (drop)\n"
        ));
        body.push_str(&format!(
            "(v128.store64_lane {m} 1 (local.get 0) (v128.const i64x2 0 0))\n"
        ));
        body.push_str(&format!(
            "(memory.fill {m} (local.get 0) (i32.const 1) (i32.const 2))\n"
        ));
        body.push_str(&format!(
            "(memory.init {m} $d (local.get 0) (i32.const 0) (i32.const 1))\n"
        ));
        body.push_str(&format!(
            "(drop (memory.size {m})) (drop (memory.grow {m} (i32.const 0)))\n"
        ));
    }
    body.push_str("(memory.copy $f $g (i32.const 0) (i32.const 1) (i32.const 2))\n");
    body.push_str("(memory.copy $g $f (i32.const 0) (i32.const 1) (i32.const 2))\n");
    // (Stores leave nothing to drop: their `drop`s above pair with the
    // next result; keep the stack balanced with a value per store.)
    let wat = format!(
        r#"(module
          (memory $f 1 1)
          (memory $g 1 2)
          (data $d "x")
          (func (export "all") (param i32) {body}))"#
    );
    let balanced = balance(&wat);
    let out = merged(&[("a", &balanced)], None).unwrap();
    assert_eq!(memories(&out), 1);
}

/// `wat` with a `(i32.const 0)` before each `(drop)` that follows an
/// operator leaving nothing (stores, fills): validated by the parser.
fn balance(wat: &str) -> String {
    let mut out = String::new();
    let mut lines = wat.lines().peekable();
    while let Some(l) = lines.next() {
        out.push_str(l);
        out.push('\n');
        let leaves_nothing = l.contains("store") && !l.contains("rmw");
        if leaves_nothing && lines.peek() == Some(&"(drop)") {
            out.push_str("(i32.const 0)\n");
        }
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&wat::parse_str(&out).unwrap())
        .unwrap();
    out
}

/// From the command line: a refusal is one line on stderr and writes
/// nothing; an accepted merge writes one valid module with one memory and
/// one table, and the link map gives the bases.
#[test]
fn the_command_line_merges_or_refuses_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, wat: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, wat).unwrap();
        p.display().to_string()
    };
    let a = write(
        "a.wat",
        r#"(module (memory (export "ma") 1 1) (table 1 1 funcref))"#,
    );
    let b = write(
        "b.wat",
        r#"(module (memory (export "mb") 1 1) (table 2 2 funcref) (func (export "g")))"#,
    );
    let out = dir.path().join("out.wasm");
    let o = common::weld(&["fuse", &a, &b, "--merge-memories", "-o", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = common::stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--merge-memories: a second memory is exported"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");

    let map = dir.path().join("map.json");
    let o = common::weld(&[
        "fuse",
        &a,
        &b,
        "--merge-memories",
        "--merge-tables",
        "--exports=mb,g",
        "-o",
        out.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    wasmparser::Validator::new().validate_all(&bytes).unwrap();
    let counts = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::MemorySection(s) => Some(("memory", s.count())),
            wasmparser::Payload::TableSection(s) => Some(("table", s.count())),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(counts, vec![("table", 1), ("memory", 1)]);
    let map: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    let bases: Vec<(u64, u64)> = map["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["memory_bases"][0].as_u64().unwrap(),
                i["table_bases"][0].as_u64().unwrap(),
            )
        })
        .collect();
    // b's memory is exported: it is at 0; a's follows. Tables: in order.
    assert_eq!(bases, vec![(65536, 0), (0, 1)]);
}
