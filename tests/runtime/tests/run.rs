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
    let store = weld_linker::Store::open_or_create(dir.path()).unwrap();
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
