//! Fused core modules against the same inputs instantiated one by one, in
//! wasmtime, for what wasmi cannot run: GC types shared across inputs
//! (subtyping at link time, casts, struct and array access) and exception
//! handling (a tag defined in one input, thrown and caught in others,
//! `throw_ref` of a caught exnref, uncaught exceptions).

use wasmtime::{Config, Engine, Instance, Linker, Module, Store, Val};
use weld_format::Inputs;
use weld_linker::{fuse, FuseOptions};

fn engine() -> Engine {
    let mut c = Config::new();
    c.wasm_gc(true)
        .wasm_function_references(true)
        .wasm_exceptions(true)
        .wasm_tail_call(true);
    Engine::new(&c).unwrap()
}

/// What a call did: its results, a trap, or an uncaught exception (with
/// the tag's payload as seen by the host).
fn outcome(store: &mut Store<()>, r: wasmtime::Result<Vec<Val>>) -> String {
    match r {
        Ok(vals) => format!(
            "ok {:?}",
            vals.iter()
                .map(|v| match v {
                    Val::I32(i) => format!("i32:{i}"),
                    Val::I64(i) => format!("i64:{i}"),
                    other => format!("{:?}", other.ty(&*store).is_ok()),
                })
                .collect::<Vec<_>>()
        ),
        Err(e) if e.is::<wasmtime::ThrownException>() => {
            let exn = store
                .take_pending_exception()
                .expect("a thrown exception is pending");
            let payload: Vec<String> = (0..4)
                .map_while(|i| exn.field(&mut *store, i).ok())
                .map(|v| match v {
                    Val::I32(i) => format!("i32:{i}"),
                    Val::I64(i) => format!("i64:{i}"),
                    _ => "ref".into(),
                })
                .collect();
            format!("uncaught exception {payload:?}")
        }
        Err(e) => match e.downcast_ref::<wasmtime::Trap>() {
            Some(t) => format!("trap {t}"),
            None => format!("error {e}"),
        },
    }
}

/// Calls `calls` (export name, i32 arguments) on the separately
/// instantiated `inputs` (each registered under its name, in order; calls
/// go to the last) and on their fusion; returns both logs.
fn both(inputs: &[(&str, &str)], calls: &[(&str, &[i32])]) -> (Vec<String>, Vec<String>) {
    let engine = engine();
    let call_all = |store: &mut Store<()>, instance: &Instance| -> Vec<String> {
        calls
            .iter()
            .map(|(name, args)| {
                let f = instance
                    .get_func(&mut *store, name)
                    .unwrap_or_else(|| panic!("no export {name}"));
                let ty = f.ty(&*store);
                let mut results = vec![Val::I32(0); ty.results().len()];
                let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
                let r = f.call(&mut *store, &args, &mut results).map(|()| results);
                format!("{name}: {}", outcome(store, r))
            })
            .collect()
    };
    // One by one.
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let mut last = None;
    for (name, wat) in inputs {
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        linker.instance(&mut store, name, instance).unwrap();
        last = Some(instance);
    }
    let separate = call_all(&mut store, &last.unwrap());
    // Fused.
    let set =
        Inputs::from_memory(inputs.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
    let fused = fuse(&FuseOptions::default(), &set).unwrap();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&fused.bytes)
        .unwrap();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, &fused.bytes).unwrap();
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    (separate, call_all(&mut store, &instance))
}

#[test]
fn gc_types_cross_inputs_with_subtyping_and_run_the_same() {
    // `shapes` defines a hierarchy and exports values of the subtypes;
    // `user` declares the imports with supertypes (immutable globals are
    // covariant, functions match declared supertypes) and casts back down.
    let shapes = r#"(module
        (type $shape (sub (struct (field i32))))
        (type $point (sub $shape (struct (field i32) (field (mut i32)))))
        (type $vec (array (mut i32)))
        (type $mk_super (sub (func (param i32) (result (ref $shape)))))
        (type $mk_sub (sub $mk_super (func (param i32) (result (ref $shape)))))
        (global (export "origin") (ref $point) (struct.new $point (i32.const 1) (i32.const 2)))
        (global (export "small") i31ref (ref.i31 (i32.const 77)))
        (func (export "make") (type $mk_sub) (param i32) (result (ref $shape))
          (struct.new $point (local.get 0) (i32.mul (local.get 0) (i32.const 10))))
        (func (export "vec") (param i32) (result (ref $vec))
          (array.new $vec (i32.const 3) (local.get 0))))"#;
    let user = r#"(module
        (type $shape (sub (struct (field i32))))
        (type $point (sub $shape (struct (field i32) (field (mut i32)))))
        (type $vec (array (mut i32)))
        (type $mk_super (sub (func (param i32) (result (ref $shape)))))
        (import "shapes" "origin" (global $origin (ref $shape)))
        (import "shapes" "small" (global $small eqref))
        (import "shapes" "make" (func $make (type $mk_super)))
        (import "shapes" "vec" (func $vec (param i32) (result (ref $vec))))
        (func (export "origin_y") (result i32)
          (struct.get $point 1 (ref.cast (ref $point) (global.get $origin))))
        (func (export "made") (param i32) (result i32)
          (local $p (ref $point))
          (local.set $p (ref.cast (ref $point) (call $make (local.get 0))))
          (struct.set $point 1 (local.get $p) (i32.add (struct.get $point 1 (local.get $p)) (i32.const 1)))
          (i32.add (struct.get $shape 0 (local.get $p)) (struct.get $point 1 (local.get $p))))
        (func (export "small_val") (result i32)
          (i31.get_s (ref.cast (ref i31) (global.get $small))))
        (func (export "is_point") (result i32)
          (ref.test (ref $point) (global.get $origin)))
        (func (export "vec_sum") (param i32) (result i32)
          (local $v (ref $vec))
          (local.set $v (call $vec (local.get 0)))
          (array.set $vec (local.get $v) (i32.const 1) (i32.const 100))
          (i32.add (array.get $vec (local.get $v) (i32.const 0))
            (i32.add (array.get $vec (local.get $v) (i32.const 1)) (array.len (local.get $v)))))
        (func (export "bad_cast") (result i32)
          (struct.get $point 1 (ref.cast (ref $point) (struct.new $shape (i32.const 0))))))"#;
    let (separate, fused) = both(
        &[("shapes", shapes), ("user", user)],
        &[
            ("origin_y", &[]),
            ("made", &[4]),
            ("small_val", &[]),
            ("is_point", &[]),
            ("vec_sum", &[5]),
            ("bad_cast", &[]),
        ],
    );
    assert_eq!(separate, fused);
    assert_eq!(
        fused,
        [
            "origin_y: ok [\"i32:2\"]",
            "made: ok [\"i32:45\"]",
            "small_val: ok [\"i32:77\"]",
            "is_point: ok [\"i32:1\"]",
            "vec_sum: ok [\"i32:108\"]",
            "bad_cast: trap wasm trap: cast failure",
        ]
    );
}

#[test]
fn exceptions_cross_inputs_and_run_the_same() {
    // `tags` defines the tag; `thrower` throws it; `catcher` catches it by
    // tag, rethrows a caught exnref with throw_ref, and lets one escape.
    let tags = r#"(module (tag (export "oops") (param i32)))"#;
    let thrower = r#"(module
        (import "tags" "oops" (tag $oops (param i32)))
        (tag $private (param i32))
        (func (export "throw") (param i32) (throw $oops (local.get 0)))
        (func (export "throw_private") (param i32) (throw $private (local.get 0))))"#;
    let catcher = r#"(module
        (import "tags" "oops" (tag $oops (param i32)))
        (import "thrower" "throw" (func $throw (param i32)))
        (import "thrower" "throw_private" (func $throw_private (param i32)))
        (func (export "caught") (param i32) (result i32)
          (block $h (result i32)
            (try_table (catch $oops $h) (call $throw (local.get 0)))
            (i32.const -1))
          (i32.const 1) (i32.add))
        (func (export "rethrown") (param i32) (result i32)
          (local $e exnref)
          (block $h (result i32)
            (try_table (catch $oops $h)
              (block $r (result i32 exnref)
                (try_table (catch_ref $oops $r) (call $throw (local.get 0)))
                (unreachable))
              (local.set $e)
              (drop)
              (throw_ref (local.get $e)))
            (i32.const -1))
          (i32.const 1000) (i32.add))
        (func (export "other_tag_passes") (param i32) (result i32)
          (block $h (result i32)
            (try_table (catch $oops $h) (call $throw_private (local.get 0)))
            (i32.const -1)))
        (func (export "catch_all") (param i32) (result i32)
          (block $h
            (try_table (catch_all $h) (call $throw_private (local.get 0)))
            (return (i32.const -1)))
          (i32.const 7))
        (func (export "escapes") (param i32) (call $throw (local.get 0))))"#;
    let (separate, fused) = both(
        &[("tags", tags), ("thrower", thrower), ("catcher", catcher)],
        &[
            ("caught", &[41]),
            ("rethrown", &[5]),
            ("other_tag_passes", &[3]),
            ("catch_all", &[9]),
            ("escapes", &[12]),
        ],
    );
    assert_eq!(separate, fused);
    assert_eq!(fused[0], "caught: ok [\"i32:42\"]");
    assert_eq!(fused[1], "rethrown: ok [\"i32:1005\"]");
    assert_eq!(fused[2], "other_tag_passes: uncaught exception [\"i32:3\"]");
    assert_eq!(fused[3], "catch_all: ok [\"i32:7\"]");
    assert_eq!(fused[4], "escapes: uncaught exception [\"i32:12\"]");
}

/// Data segments written as one by fuse (touching, or a few zeros apart,
/// across inputs sharing a memory) give the memory the same bytes, gaps
/// included; a `memory.init` of a merged (dropped) active segment traps as
/// the input's did, and a passive segment between merged ones is still the
/// one code names.
#[test]
fn coalesced_data_segments_run_the_same() {
    let lib = r#"(module (memory (export "m") 1)
        (data (i32.const 0) "ab") (data (i32.const 2) "cd") (data (i32.const 9) "ef")
        (data (i32.const 100) "gh"))"#;
    let user = r#"(module (import "lib" "m" (memory 1))
        (data (i32.const 4) "xy") (data "pq") (data (i32.const 6) "z")
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
        (func (export "init_passive") (param i32) (result i32)
          (memory.init 1 (i32.const 200) (i32.const 0) (local.get 0))
          (i32.load8_u (i32.const 201)))
        (func (export "init_active") (param i32) (result i32)
          (memory.init 2 (i32.const 300) (i32.const 0) (local.get 0))
          (i32.const 1))
        (func (export "drop_active") (result i32) (data.drop 0) (i32.const 1)))"#;
    let inputs = [("lib", lib), ("user", user)];
    let mut calls: Vec<(&str, Vec<i32>)> = (0..12).map(|a| ("load", vec![a])).collect();
    calls.extend([
        ("load", vec![100]),
        ("load", vec![101]),
        ("init_passive", vec![2]),
        ("init_active", vec![0]),
        ("init_active", vec![1]),
        ("drop_active", vec![]),
    ]);
    let calls: Vec<(&str, &[i32])> = calls.iter().map(|(n, a)| (*n, a.as_slice())).collect();
    let (separate, fused) = both(&inputs, &calls);
    assert_eq!(separate, fused);
    assert_eq!(fused[9], "load: ok [\"i32:101\"]", "{fused:?}");
    assert_eq!(fused[7], "load: ok [\"i32:0\"]", "{fused:?}");
    assert!(fused[16].starts_with("init_active: trap"), "{fused:?}");
    // The segments were merged: 0..7 and 9..11 are one, 100 another.
    let set =
        Inputs::from_memory(inputs.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
    let out = fuse(&FuseOptions::default(), &set).unwrap();
    assert_eq!((out.map.segments.data_in, out.map.segments.data_out), (7, 3));
}
