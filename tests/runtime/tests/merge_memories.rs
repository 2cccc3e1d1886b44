//! `fuse --merge-memories` against the same inputs instantiated one by one,
//! in wasmtime: every access of every memory, in and out of bounds, loads
//! and stores of every width (SIMD included), `memory.size` and
//! `memory.grow` of memories that cannot grow and of the one that does,
//! `memory.fill`, `memory.copy` between two memories, `memory.init` from a
//! passive segment, and the exported memory as the host reads it; then 150
//! inputs with a memory each, past the 100 memories engines accept; then
//! `--merge-tables` the same way.

use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use weld_format::Inputs;
use weld_linker::{fuse, FuseOptions};

/// What a call did: its results or its trap.
fn outcome(r: wasmtime::Result<Vec<Val>>) -> String {
    match r {
        Ok(vals) => format!(
            "ok {:?}",
            vals.iter()
                .map(|v| match v {
                    Val::I32(i) => format!("i32:{i}"),
                    Val::I64(i) => format!("i64:{i}"),
                    Val::F32(f) => format!("f32:{f:#x}"),
                    Val::F64(f) => format!("f64:{f:#x}"),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        ),
        Err(e) => match e.downcast_ref::<wasmtime::Trap>() {
            Some(t) => format!("trap {t}"),
            None => format!("error {e}"),
        },
    }
}

type Call = (&'static str, String, Vec<Val>);

/// Runs `calls` (input, export, arguments) on the inputs instantiated one
/// by one and on their fusion with `--merge-memories`; returns both logs,
/// each ending with the first `peek` bytes of the memory exported as
/// `memory` (if any), as the host reads it.
fn both(inputs: &[(String, String)], calls: &[Call], peek: usize) -> (Vec<String>, Vec<String>) {
    both_with(inputs, calls, peek, Merge::Memories)
}

/// What [`both_with`] merges.
#[derive(Clone, Copy, PartialEq)]
enum Merge {
    Memories,
    Tables,
}

/// [`both`], merging memories or tables.
fn both_with(
    inputs: &[(String, String)],
    calls: &[Call],
    peek: usize,
    merge: Merge,
) -> (Vec<String>, Vec<String>) {
    let engine = Engine::default();
    let run = |store: &mut Store<()>, instance: &dyn Fn(&str) -> Instance| -> Vec<String> {
        let mut log: Vec<String> = calls
            .iter()
            .map(|(input, name, args)| {
                let f = instance(input)
                    .get_func(&mut *store, name)
                    .unwrap_or_else(|| panic!("no export {name}"));
                let n = f.ty(&*store).results().len();
                let mut results = vec![Val::I32(0); n];
                let r = f.call(&mut *store, args, &mut results).map(|()| results);
                format!("{input}.{name}{args:?}: {}", outcome(r))
            })
            .collect();
        // (Once merged, every input's name finds the one instance.)
        let mut memories = Vec::new();
        for (input, _) in inputs {
            if let Some(m) = instance(input).get_memory(&mut *store, "memory") {
                memories.push(format!("memory: {:?}", &m.data(&*store)[..peek]));
            }
        }
        memories.dedup();
        log.extend(memories);
        log
    };
    // One by one.
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let instances: Vec<(String, Instance)> = inputs
        .iter()
        .map(|(name, wat)| {
            let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
            (name.clone(), linker.instantiate(&mut store, &module).unwrap())
        })
        .collect();
    let by_name = |n: &str| instances.iter().find(|(m, _)| m == n).unwrap().1;
    let separate = run(&mut store, &by_name);
    // Fused, every memory merged into one.
    let set = Inputs::from_memory(inputs.iter().map(|(n, w)| (n.clone(), w.as_bytes().to_vec()))).unwrap();
    let opts = FuseOptions {
        merge_memories: merge == Merge::Memories,
        merge_tables: merge == Merge::Tables,
        ..FuseOptions::default()
    };
    let fused = fuse(&opts, &set).unwrap();
    wasmparser::Validator::new().validate_all(&fused.bytes).unwrap();
    let count = |tables: bool| {
        wasmparser::Parser::new(0)
            .parse_all(&fused.bytes)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::MemorySection(s) if !tables => Some(s.count()),
                wasmparser::Payload::TableSection(s) if tables => Some(s.count()),
                _ => None,
            })
            .sum::<u32>()
    };
    assert_eq!(count(merge == Merge::Tables), 1, "one once merged");
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, &fused.bytes).unwrap();
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let merged = run(&mut store, &|_| instance);
    (separate, merged)
}

fn call(input: &'static str, name: &str, args: &[i64]) -> Call {
    let args = args
        .iter()
        .map(|&a| match i32::try_from(a) {
            Ok(a) => Val::I32(a),
            Err(_) => Val::I64(a),
        })
        .collect();
    (input, name.to_string(), args)
}

const X: &str = r#"(module
  (memory (export "memory") 1 1)
  (data (i32.const 16) "exported memory")
  (func (export "x_load") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func (export "x_store64") (param i32) (i64.store offset=8 (local.get 0) (i64.const 0x0102030405060708)))
  (func (export "x_storef") (param i32) (result f64)
    (f32.store (local.get 0) (f32.const 1.5))
    (f64.store offset=4 (local.get 0) (f64.const -2.25))
    (f64.load offset=4 (local.get 0)))
  (func (export "x_v128") (param i32) (result i64)
    (v128.store offset=16 (local.get 0) (v128.load (local.get 0)))
    (i64.load offset=24 (local.get 0)))
  (func (export "x_lane") (param i32) (result i32)
    (v128.store8_lane 3 (local.get 0) (i8x16.splat (i32.const 0x5a)))
    (i32.load8_u (local.get 0)))
  (func (export "x_fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 0x77) (local.get 1)))
  (func (export "x_size") (result i32) (memory.size))
  (func (export "x_grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

const Y: &str = r#"(module
  (memory $a 1 1)
  (memory $b 2 2)
  (data (memory $a) (i32.const 0) "in a")
  (data (memory $b) (i32.const 131068) "endb")
  (data $p "passive bytes")
  (func (export "y_a") (param i32) (result i32) (i32.load8_u $a (local.get 0)))
  (func (export "y_b") (param i32) (result i32) (i32.load16_u $b offset=1 (local.get 0)))
  (func (export "y_copy") (param i32 i32 i32) (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "y_init") (param i32 i32 i32) (memory.init $a $p (local.get 0) (local.get 1) (local.get 2)))
  (func (export "y_size") (result i32) (i32.add (memory.size $a) (i32.mul (i32.const 10) (memory.size $b))))
  (func (export "y_grow") (param i32) (result i32) (memory.grow $b (local.get 0))))"#;

const Z: &str = r#"(module
  (memory 1 3)
  (data (i32.const 65530) "edge!!")
  (func (export "z_load") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "z_store") (param i32 i32) (i32.store16 (local.get 0) (local.get 1)))
  (func (export "z_grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "z_size") (result i32) (memory.size))
  (func (export "z_fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 1) (local.get 1)))
  (func (export "z_copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2))))"#;

/// Every operator on three inputs: an exported memory that cannot grow,
/// two memories of one input (copied between), and the one that grows.
#[test]
fn merged_memories_run_like_the_inputs() {
    let inputs = [("x", X), ("y", Y), ("z", Z)].map(|(n, w)| (n.to_string(), w.to_string()));
    let mut calls = Vec::new();
    for a in [0, 12, 65528, 65529, 65532, 65536, -4, -1] {
        calls.push(call("x", "x_load", &[a]));
        calls.push(call("x", "x_store64", &[a]));
        calls.push(call("x", "x_storef", &[a]));
        calls.push(call("x", "x_v128", &[a]));
        calls.push(call("x", "x_lane", &[a]));
        calls.push(call("y", "y_a", &[a]));
        calls.push(call("y", "y_b", &[a]));
        calls.push(call("y", "y_b", &[a + 65536]));
        calls.push(call("z", "z_load", &[a]));
        calls.push(call("z", "z_store", &[a, 0x1234]));
    }
    for (d, n) in [(0, 16), (65520, 16), (65521, 16), (65536, 0), (65537, 0), (-1, 2)] {
        calls.push(call("x", "x_fill", &[d, n]));
        calls.push(call("z", "z_fill", &[d, n]));
    }
    for (d, s, n) in [
        (0, 0, 4),
        (131068, 0, 4),
        (131069, 0, 4),
        (8, 65534, 2),
        (8, 65535, 2),
        (0, 0, 0),
    ] {
        calls.push(call("y", "y_copy", &[d, s, n]));
        calls.push(call("y", "y_b", &[d]));
        calls.push(call("z", "z_copy", &[s, d, n]));
    }
    for (d, s, n) in [
        (100, 0, 13),
        (65530, 0, 6),
        (65531, 0, 6),
        (0, 10, 4),
        (0, 10, 3),
        (65536, 0, 0),
    ] {
        calls.push(call("y", "y_init", &[d, s, n]));
        calls.push(call("y", "y_a", &[d]));
    }
    calls.extend([
        call("x", "x_size", &[]),
        call("y", "y_size", &[]),
        call("z", "z_size", &[]),
        call("x", "x_grow", &[0]),
        call("x", "x_grow", &[1]),
        call("y", "y_grow", &[0]),
        call("y", "y_grow", &[1]),
        call("z", "z_load", &[65536]),
        call("z", "z_grow", &[1]),
        call("z", "z_size", &[]),
        call("z", "z_store", &[131070, 7]),
        call("z", "z_store", &[131071, 7]),
        call("z", "z_load", &[131070]),
        call("z", "z_fill", &[131000, 72]),
        call("z", "z_fill", &[131000, 73]),
        call("z", "z_grow", &[2]),
        call("z", "z_grow", &[1]),
        call("z", "z_grow", &[0]),
        call("z", "z_size", &[]),
        call("z", "z_load", &[196607]),
        call("z", "z_load", &[196608]),
        call("x", "x_size", &[]),
        call("y", "y_a", &[5]),
    ]);
    let (separate, merged) = both(&inputs, &calls, 128);
    for (s, m) in separate.iter().zip(&merged) {
        assert_eq!(s, m);
    }
    assert_eq!(separate.len(), merged.len());
    // The log has traps, successes, a failed and a successful grow.
    let traps = merged.iter().filter(|l| l.contains("out of bounds")).count();
    assert!(traps > 30, "{merged:#?}");
    assert!(merged
        .iter()
        .any(|l| l.starts_with("z.z_grow[I32(1)]: ok [\"i32:1\"]")));
    assert!(merged
        .iter()
        .any(|l| l.starts_with("x.x_grow[I32(1)]: ok [\"i32:-1\"]")));
    assert!(merged
        .iter()
        .any(|l| l.starts_with("z.z_grow[I32(2)]: ok [\"i32:-1\"]")));
}

/// 150 inputs with a memory each (the last one grows): plain fusing stops
/// at the 100 memories engines accept and says what to do; merged, the
/// fused module runs like the inputs, every memory's bounds kept.
#[test]
fn a_hundred_and_fifty_memories_merge_and_run_the_same() {
    const N: usize = 150;
    let inputs: Vec<(String, String)> = (0..N)
        .map(|i| {
            let memory = if i == N - 1 { "1 2" } else { "1 1" };
            let at = i * 397 % 65000;
            let wat = format!(
                r#"(module
                  (memory {memory})
                  (data (i32.const {at}) "input {i}")
                  (func (export "get{i}") (param i32) (result i32) (i32.load8_u (local.get 0)))
                  (func (export "put{i}") (param i32 i32) (i32.store16 offset=2 (local.get 0) (local.get 1)))
                  (func (export "name{i}") (result i64) (i64.load offset={at} (i32.const 0)))
                  (func (export "grow{i}") (param i32) (result i32) (memory.grow (local.get 0))))"#
            );
            (format!("m{i}"), wat)
        })
        .collect();
    let names: Vec<&'static str> = inputs.iter().map(|(n, _)| &*n.clone().leak()).collect();
    let mut calls = Vec::new();
    for (i, &input) in names.iter().enumerate() {
        let at = (i * 397 % 65000) as i64;
        calls.push(call(input, &format!("name{i}"), &[]));
        calls.push(call(input, &format!("get{i}"), &[at + 6]));
        calls.push(call(input, &format!("put{i}"), &[65532, i as i64]));
        calls.push(call(input, &format!("get{i}"), &[65535]));
        calls.push(call(input, &format!("put{i}"), &[65533, 1]));
        calls.push(call(input, &format!("get{i}"), &[65536]));
        calls.push(call(input, &format!("get{i}"), &[-1]));
    }
    let last = names[N - 1];
    calls.push(call(last, &format!("grow{}", N - 1), &[1]));
    calls.push(call(last, &format!("put{}", N - 1), &[131068, 9]));
    calls.push(call(last, &format!("get{}", N - 1), &[131070]));
    calls.push(call(names[0], "grow0", &[1]));
    let (separate, merged) = both(&inputs, &calls, 0);
    for (s, m) in separate.iter().zip(&merged) {
        assert_eq!(s, m);
    }
    assert_eq!(separate.len(), merged.len());
    assert!(merged.iter().any(|l| l.ends_with("ok [\"i32:9\"]")), "{merged:?}");

    // Without the option: one error naming the limit and the option.
    let set = Inputs::from_memory(inputs.iter().map(|(n, w)| (n.clone(), w.as_bytes().to_vec()))).unwrap();
    let err = fuse(&FuseOptions::default(), &set).unwrap_err().to_string();
    assert_eq!(
        err,
        "the fused module would have 150 memories, past the limit of 100 that engines accept (--merge-memories puts them in one)"
    );
}

const P: &str = r#"(module
  (type $i (func (result i32)))
  (table $t 4 4 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (elem $later func $three $one)
  (func $one (type $i) (i32.const 1))
  (func $two (type $i) (i32.const 2))
  (func $three (type $i) (i32.const 3))
  (func $bad (param i32))
  (func (export "p_call") (param i32) (result i32) (call_indirect $t (type $i) (local.get 0)))
  (func (export "p_call_bad") (param i32) (call_indirect $t (param i32) (i32.const 0) (local.get 0)))
  (func (export "p_is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "p_set") (param i32) (table.set $t (local.get 0) (ref.func $three)))
  (func (export "p_size") (result i32) (table.size $t))
  (func (export "p_grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "p_fill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $two) (local.get 1)))
  (func (export "p_init") (param i32 i32 i32) (table.init $t $later (local.get 0) (local.get 1) (local.get 2)))
  (elem declare func $bad))"#;

const Q: &str = r#"(module
  (type $i (func (result i32)))
  (table $a 3 3 funcref)
  (table $b 2 5 funcref)
  (elem (table $a) (i32.const 2) func $seven)
  (elem (table $b) (i32.const 0) func $eight)
  (func $seven (type $i) (i32.const 7))
  (func $eight (type $i) (i32.const 8))
  (func (export "q_a") (param i32) (result i32) (call_indirect $a (type $i) (local.get 0)))
  (func (export "q_b") (param i32) (result i32) (call_indirect $b (type $i) (local.get 0)))
  (func (export "q_copy") (param i32 i32 i32) (table.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "q_grow") (param i32) (result i32) (table.grow $b (ref.func $seven) (local.get 0)))
  (func (export "q_size") (result i32) (i32.add (table.size $a) (i32.mul (i32.const 10) (table.size $b)))))"#;

/// Every table operator on three tables (two of one input), merged into
/// one: calls in and out of bounds, through null slots and with the wrong
/// type, `table.get`/`set`/`size`/`grow`/`fill`/`copy`/`init`, against the
/// inputs instantiated one by one.
#[test]
fn merged_tables_run_like_the_inputs() {
    let inputs = [("p", P), ("q", Q)].map(|(n, w)| (n.to_string(), w.to_string()));
    let mut calls = Vec::new();
    for i in [0, 1, 2, 3, 4, 5, -1] {
        calls.push(call("p", "p_call", &[i]));
        calls.push(call("p", "p_is_null", &[i]));
        calls.push(call("q", "q_a", &[i]));
        calls.push(call("q", "q_b", &[i]));
    }
    calls.extend([
        call("p", "p_call_bad", &[0]),
        call("p", "p_set", &[3]),
        call("p", "p_call", &[3]),
        call("p", "p_set", &[4]),
        call("p", "p_size", &[]),
        call("p", "p_grow", &[0]),
        call("p", "p_grow", &[1]),
        call("p", "p_fill", &[2, 2]),
        call("p", "p_call", &[2]),
        call("p", "p_fill", &[3, 2]),
        call("p", "p_init", &[0, 0, 2]),
        call("p", "p_call", &[0]),
        call("p", "p_init", &[3, 0, 2]),
        call("q", "q_copy", &[0, 2, 1]),
        call("q", "q_b", &[0]),
        call("q", "q_copy", &[1, 2, 2]),
        call("q", "q_grow", &[2]),
        call("q", "q_size", &[]),
        call("q", "q_b", &[3]),
        call("q", "q_copy", &[1, 1, 2]),
        call("q", "q_grow", &[2]),
        call("q", "q_grow", &[1]),
        call("q", "q_b", &[4]),
        call("q", "q_b", &[5]),
        call("q", "q_size", &[]),
    ]);
    let (separate, merged) = both_with(&inputs, &calls, 0, Merge::Tables);
    for (s, m) in separate.iter().zip(&merged) {
        assert_eq!(s, m);
    }
    assert_eq!(separate.len(), merged.len());
    let traps = |what: &str| merged.iter().filter(|l| l.contains(what)).count();
    assert!(traps("out of bounds table access") >= 8, "{merged:#?}");
    assert!(traps("uninitialized element") >= 1, "{merged:#?}");
    assert!(traps("indirect call type mismatch") >= 1, "{merged:#?}");
    assert!(
        merged
            .iter()
            .any(|l| l.starts_with("q.q_grow[I32(2)]: ok [\"i32:2\"]")),
        "{merged:#?}"
    );
}
