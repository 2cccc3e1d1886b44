//! Composed components, and bundles of split components, run in wasmtime and
//! behave like the hand-wired composition of the same children, or like the
//! original.

use std::path::PathBuf;

use wasmtime::component::{Component, Linker, Resource, ResourceType};
use wasmtime::{Config, Engine, Store};
use weld_format::{InputSpec, Inputs};
use weld_linker::{compose, ComposeOptions};

fn demo(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus/demo/compose")
        .join(file)
}

fn compose_files(files: &[&str]) -> Vec<u8> {
    let specs: Vec<InputSpec> = files
        .iter()
        .map(|f| InputSpec::parse(demo(f).to_str().unwrap()).unwrap())
        .collect();
    let inputs = Inputs::load(&specs).unwrap();
    let out = compose(&ComposeOptions::default(), &inputs).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    out.bytes
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    Engine::new(&config).unwrap()
}

/// The body of a `(component ...)` WAT file, to nest it by hand.
fn nested(file: &str, label: &str) -> String {
    let text = std::fs::read_to_string(demo(file)).unwrap();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(";;"))
        .collect::<Vec<_>>()
        .join("\n");
    let open = code.find("(component").unwrap() + "(component".len();
    let close = code.rfind(')').unwrap();
    format!("(component {label} {}\n)", &code[open..close])
}

fn run_u32(engine: &Engine, linker: &Linker<()>, bytes: &[u8]) -> u32 {
    let component = Component::new(engine, bytes).unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_typed_func::<(), (u32,)>(&mut store, "run").unwrap();
    let (r,) = run.call(&mut store, ()).unwrap();
    r
}

#[test]
fn composed_chain_returns_what_the_hand_wired_chain_returns() {
    let composed = compose_files(&["app.wat", "greeter.wat", "hello.wat"]);
    // The same three children, nested and wired by hand.
    let by_hand = format!(
        r#"(component
            {}
            {}
            {}
            (instance $h (instantiate $hello))
            (alias export $h "demo:hello/api@0.2.3" (instance $hello_api))
            (instance $g (instantiate $greeter (with "demo:hello/api@0.2.0" (instance $hello_api))))
            (alias export $g "demo:greet/api@1.0.0" (instance $greet_api))
            (instance $a (instantiate $app (with "demo:greet/api@1.0.0" (instance $greet_api))))
            (alias export $a "run" (func $run))
            (export "run" (func $run)))"#,
        nested("hello.wat", "$hello"),
        nested("greeter.wat", "$greeter"),
        nested("app.wat", "$app"),
    );
    let by_hand = wat::parse_str(&by_hand).unwrap();
    let engine = engine();
    let linker = Linker::new(&engine);
    let expected = run_u32(&engine, &linker, &by_hand);
    assert_eq!(expected, 7 * 2 + 1 + 100);
    assert_eq!(run_u32(&engine, &linker, &composed), expected);
}

/// The host side of `demo:host/api`: counters in a vector.
struct Counter;

#[derive(Default)]
struct Host {
    counts: Vec<u32>,
    bumps: u32,
}

#[test]
fn composed_children_share_one_host_resource_through_the_merged_import() {
    // counter-app imports demo:host/api@0.1.0 {counter, make, read}; bumper
    // imports @0.1.2 {counter, bump} and exports a function taking the
    // counter. The result imports @0.1.2 once, with all four items, and the
    // counter the app makes is the one the bumper bumps.
    let composed = compose_files(&["counter-app.wat", "bumper.wat"]);
    let engine = engine();
    let mut linker = Linker::<Host>::new(&engine);
    let mut api = linker.instance("demo:host/api@0.1.2").unwrap();
    api.resource("counter", ResourceType::host::<Counter>(), |_, _| Ok(()))
        .unwrap();
    api.func_wrap("make", |mut cx, (): ()| {
        let host: &mut Host = cx.data_mut();
        host.counts.push(0);
        Ok((Resource::<Counter>::new_own(host.counts.len() as u32 - 1),))
    })
    .unwrap();
    api.func_wrap("read", |cx, (c,): (Resource<Counter>,)| {
        Ok((cx.data().counts[c.rep() as usize],))
    })
    .unwrap();
    api.func_wrap("bump", |mut cx, (c,): (Resource<Counter>,)| {
        let host: &mut Host = cx.data_mut();
        host.counts[c.rep() as usize] += 1;
        host.bumps += 1;
        Ok(())
    })
    .unwrap();
    let component = Component::new(&engine, &composed).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance.get_typed_func::<(), (u32,)>(&mut store, "run").unwrap();
    let (r,) = run.call(&mut store, ()).unwrap();
    // run() lends the counter to bump-twice twice.
    assert_eq!(r, 4);
    assert_eq!(store.data().bumps, 4);
}

#[test]
fn bundle_of_split_runs_like_the_original() {
    // The composed chain nests three components, each with its modules:
    // split everything (any size) into a store, bundle it back, run both.
    let composed = compose_files(&["app.wat", "greeter.wat", "hello.wat"]);
    let dir = tempfile::tempdir().unwrap();
    let store = weld_linker::OciDir::open_or_create(dir.path()).unwrap();
    let split = weld_linker::split(
        &weld_linker::SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "chain",
        &composed,
        &store,
    )
    .unwrap();
    assert!(split.children.len() >= 6, "{:?}", split.children);
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&split.root)
        .unwrap();
    let bundled = weld_linker::bundle(&Default::default(), "chain", &split.root, &store).unwrap();
    let engine = engine();
    let linker = Linker::new(&engine);
    assert_eq!(
        run_u32(&engine, &linker, &bundled.bytes),
        run_u32(&engine, &linker, &composed)
    );
}

/// A core module returning `k` from `f`, padded with `pad` functions so it
/// is big enough to be shared.
fn shared_module(label: &str, k: i32, pad: usize) -> String {
    let mut m = format!("(core module {label} (func (export \"f\") (result i32) i32.const {k})");
    for i in 0..pad {
        m.push_str(&format!(" (func (export \"p{i}\") (result i32) i32.const {i})"));
    }
    m.push(')');
    m
}

/// The root: its own copy of M (shared), N5 (one byte away from the plug's
/// N4), and a nested component holding M again (a grandchild's copy);
/// `run` = M.f + b.g + N5.f; `h` = the grandchild's M.f.
fn hoist_root() -> String {
    format!(
        r#"(component
            (import "demo:b/api" (instance $b (export "g" (func (result u32)))))
            {m}
            {n}
            (component $inner
              {m_inner}
              (core instance $i (instantiate $m))
              (func (export "h") (result u32) (canon lift (core func $i "f"))))
            (instance $in (instantiate $inner))
            (alias export $in "h" (func $h))
            (export "h" (func $h))
            (core func $gl (canon lower (func $b "g")))
            (core instance $mi (instantiate $m))
            (core instance $ni (instantiate $n))
            (core module $add
              (import "x" "f" (func $f (result i32)))
              (import "x" "g" (func $g (result i32)))
              (import "x" "n" (func $n (result i32)))
              (func (export "run") (result i32) call $f call $g i32.add call $n i32.add))
            (core instance $a (instantiate $add (with "x" (instance
              (export "f" (func $mi "f")) (export "g" (func $gl)) (export "n" (func $ni "f"))))))
            (func (export "run") (result u32) (canon lift (core func $a "run"))))"#,
        m = shared_module("$m", 7, 120),
        n = shared_module("$n", 5, 120),
        m_inner = shared_module("$m", 7, 120),
    )
}

/// The plug: M (shared with the root), N4 (not shared), `g` = M.f * N4.f.
fn hoist_plug() -> String {
    format!(
        r#"(component
            {m}
            {n}
            (core instance $mi (instantiate $m))
            (core instance $ni (instantiate $n))
            (core module $mul
              (import "x" "a" (func $a (result i32)))
              (import "x" "b" (func $b (result i32)))
              (func (export "g") (result i32) call $a call $b i32.mul))
            (core instance $x (instantiate $mul (with "x" (instance (export "a" (func $mi "f")) (export "b" (func $ni "f"))))))
            (func $g (result u32) (canon lift (core func $x "g")))
            (instance $api (export "g" (func $g)))
            (export "demo:b/api" (instance $api)))"#,
        m = shared_module("$m", 7, 120),
        n = shared_module("$n", 4, 120),
    )
}

#[test]
fn modules_shared_by_children_are_defined_once_and_the_result_runs_the_same() {
    let root = wat::parse_str(hoist_root()).unwrap();
    let plug = wat::parse_str(hoist_plug()).unwrap();
    let inputs = Inputs::from_memory([("app", root.clone()), ("b", plug.clone())]).unwrap();
    let run = |min_size: usize| {
        let opts = ComposeOptions {
            min_size,
            ..ComposeOptions::default()
        };
        let out = compose(&opts, &inputs).unwrap();
        wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
        out
    };
    let deduped = run(1024);
    let plain = run(usize::MAX);
    // M, at the plug's top, the root's top and in the root's grandchild, is
    // defined once; N4 and N5 differ by one byte and stay where they are.
    assert_eq!(deduped.hoisted.len(), 1, "{:?}", deduped.hoisted);
    assert_eq!(deduped.hoisted[0].users, ["app", "b"]);
    assert!(plain.hoisted.is_empty());
    let m_size = deduped.hoisted[0].size as usize;
    assert!(m_size > 1024);
    // Three copies became one: the result is two copies smaller, give or
    // take the aliases and the definition's section header.
    let saved = plain.bytes.len() as i64 - deduped.bytes.len() as i64;
    assert!(
        (saved - 2 * m_size as i64).abs() < 64,
        "saved {saved} bytes, M is {m_size}"
    );
    // Same behaviour in wasmtime: run = 7 + 7*4 + 5 = 40, h = 7.
    let engine = engine();
    let linker = Linker::new(&engine);
    let h = |bytes: &[u8]| {
        let component = Component::new(&engine, bytes).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let h = instance.get_typed_func::<(), (u32,)>(&mut store, "h").unwrap();
        h.call(&mut store, ()).unwrap().0
    };
    for bytes in [&deduped.bytes, &plain.bytes] {
        assert_eq!(run_u32(&engine, &linker, bytes), 40);
        assert_eq!(h(bytes), 7);
    }
    // The same component type as the composition without dedupe.
    let ty = |bytes: &[u8]| {
        let c = Component::new(&engine, bytes).unwrap();
        let t = c.component_type();
        let imports: Vec<String> = t.imports(&engine).map(|(n, i)| format!("{n}: {i:?}")).collect();
        let exports: Vec<String> = t.exports(&engine).map(|(n, i)| format!("{n}: {i:?}")).collect();
        (imports, exports)
    };
    assert_eq!(ty(&deduped.bytes), ty(&plain.bytes));
    // Split, the hoisted module is one blob; bundled back, the same result.
    let store = weld_linker::MemoryStore::new();
    let s = weld_linker::split(
        &weld_linker::SplitOptions::default(),
        "app",
        &deduped.bytes,
        &store,
    )
    .unwrap();
    let m = weld_format::names::parse_hash_name_hex(&deduped.hoisted[0].digest["sha256:".len()..]).unwrap();
    assert_eq!(
        s.children.iter().filter(|c| c.digest == m).count(),
        1,
        "{:?}",
        s.children
    );
    // The children alias their parent: not blobs anyone could use alone.
    assert!(s.children.iter().all(|c| c.kind == "module"), "{:?}", s.children);
    let back = weld_linker::bundle(&Default::default(), "app", &s.root, &store).unwrap();
    assert_eq!(run_u32(&engine, &linker, &back.bytes), 40);
    assert_eq!(h(&back.bytes), 7);
}
