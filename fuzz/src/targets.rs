//! The fuzz targets as plain functions, shared by the cargo-fuzz binaries in
//! `fuzz_targets/` and by `tests/fuzz_regressions.rs`, which replays every
//! input under `fuzz/regressions/` in the normal test run.
//!
//! Each target panics only on a weld bug: a panic inside weld, an output
//! that does not validate, a result that depends on the run. Each returns
//! an [`Outcome`]: whether weld ran on the input or why it stopped before,
//! which the tests and `scripts/fuzz-smoke` count, so a target whose inputs
//! all stop early fails instead of passing without testing anything.

use arbitrary::{Result, Unstructured};
use weld_format::names::{
    canonical_hash_name, parse_hash_name, semver_compatible, ExternName, ProviderIndex,
};
use weld_format::Inputs;
use weld_linker::{FuseError, FuseOptions, Icf, OnConflict};

/// What one run of a target did with its input.
#[must_use = "count the runs that reached weld"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// weld ran on the input: the linker's commands for every target but
    /// `names`, whose subject is weld-format's name parser.
    Reached,
    /// The input stopped before weld ran, for the reason given.
    Stopped(&'static str),
}

/// The outcome of an input that `arbitrary` could not turn into a case.
fn stopped(e: arbitrary::Error) -> Outcome {
    Outcome::Stopped(match e {
        arbitrary::Error::NotEnoughData => "ran out of bytes",
        _ => "arbitrary refused the bytes",
    })
}

/// Arbitrary bytes through load, survey, inspect, graph and fuse (or, for a
/// component, compose, split and bundle): errors are fine, panics are not,
/// and any output must validate. Reached once the bytes load as an input
/// (a wasm header or WAT text); survey may still refuse them, which the
/// linker's commands must report as errors.
pub fn load_survey(data: &[u8]) -> Outcome {
    let Ok(inputs) = Inputs::from_memory([("fuzz", data.to_vec())]) else {
        return Outcome::Stopped("not a WebAssembly input");
    };
    let input = inputs.iter().next().expect("one input");
    let _ = weld_format::survey(&input.display, input.bytes());
    let _ = weld_linker::inspect(input);
    let _ = weld_linker::graph(&Default::default(), &inputs);
    let opts = FuseOptions {
        validate: false,
        ..Default::default()
    };
    if wasmparser::Parser::is_component(input.bytes()) {
        // Hostile components through compose, split and bundle: errors are
        // fine, panics are not; a composition that succeeds must validate.
        if let Ok(out) = weld_linker::compose(&Default::default(), &inputs) {
            let all = wasmparser::WasmFeatures::all();
            if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&out.bytes) {
                panic!("compose accepted an input and wrote an invalid component: {e}");
            }
        }
        let store = weld_linker::MemoryStore::new();
        let split = weld_linker::split(
            &weld_linker::SplitOptions {
                min_size: 0,
                ..Default::default()
            },
            "fuzz",
            input.bytes(),
            &store,
        );
        let _ = weld_linker::bundle(&Default::default(), "fuzz", input.bytes(), &store);
        if let Ok(s) = split {
            let _ = weld_linker::bundle(&Default::default(), "fuzz", &s.root, &store);
        }
        return Outcome::Reached;
    }
    if let Ok(fused) = weld_linker::fuse(&opts, &inputs) {
        // weld accepted the input as a module; its output must then validate
        // if the input did.
        let all = wasmparser::WasmFeatures::all();
        if wasmparser::Validator::new_with_features(all)
            .validate_all(input.bytes())
            .is_ok()
        {
            if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&fused.bytes) {
                panic!("valid input, invalid output: {e}");
            }
        }
    }
    Outcome::Reached
}

fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_memories: 2,
        max_tables: 2,
        max_funcs: 16,
        max_instructions: 60,
        max_imports: 0,
        export_everything: true,
        ..Default::default()
    }
}

/// A module whose imports are `provider`'s exports, from module `from`.
fn imports_of(from: &str, provider: &[u8]) -> Option<Vec<u8>> {
    use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
    let s = weld_format::survey("p", provider).ok()?;
    let m = s.as_module()?;
    let mut rt = RoundtripReencoder;
    let mut types = wasm_encoder::TypeSection::new();
    for g in &m.rec_groups {
        let group = &m.types[g.start as usize..(g.start + g.len) as usize];
        let subs: Vec<_> = group
            .iter()
            .map(|t| rt.sub_type(t.clone()))
            .collect::<std::result::Result<_, _>>()
            .ok()?;
        if g.explicit {
            types.ty().rec(subs);
        } else {
            for t in &subs {
                types.ty().subtype(t);
            }
        }
    }
    let mut imports = wasm_encoder::ImportSection::new();
    for e in &m.exports {
        let i = e.index as usize;
        let defined = |n: u32| i.checked_sub(n as usize);
        let ty = match e.kind {
            wasmparser::ExternalKind::Func => wasm_encoder::EntityType::Function(m.func_types.get(i)?.0),
            wasmparser::ExternalKind::Table => wasm_encoder::EntityType::Table(
                rt.table_type(m.tables.get(defined(m.imported.tables)?)?.ty)
                    .ok()?,
            ),
            wasmparser::ExternalKind::Memory => wasm_encoder::EntityType::Memory(
                rt.memory_type(*m.memories.get(defined(m.imported.memories)?)?)
                    .ok()?,
            ),
            wasmparser::ExternalKind::Global => wasm_encoder::EntityType::Global(
                rt.global_type(m.globals.get(defined(m.imported.globals)?)?.ty)
                    .ok()?,
            ),
            wasmparser::ExternalKind::Tag => {
                let t = m.tags.get(defined(m.imported.tags)?)?;
                wasm_encoder::EntityType::Tag(wasm_encoder::TagType {
                    kind: wasm_encoder::TagKind::Exception,
                    func_type_idx: t.func_type_idx,
                })
            }
            _ => continue,
        };
        imports.import(from, e.name, ty);
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&types).section(&imports);
    Some(module.finish())
}

/// One to four generated modules, each generated against the exports of the
/// one before, so imports really link; fused with a random folding mode. The
/// output must validate, fusing twice must give the same bytes, and where
/// wasmi runs every module the fused one must behave like the inputs
/// instantiated one by one (results, traps, host calls, memories).
pub fn fuse(u: &mut Unstructured) -> Outcome {
    let FuseSet {
        modules,
        runnable,
        icf,
    } = match fuse_set(u) {
        Ok(set) => set,
        Err(e) => return stopped(e),
    };
    let opts = FuseOptions {
        on_conflict: OnConflict::Rename,
        icf,
        ..Default::default()
    };
    let run = || {
        let inputs = Inputs::from_memory(modules.clone()).expect("generated modules load");
        weld_linker::fuse(&opts, &inputs)
    };
    match run() {
        Ok(fused) => {
            // weld validated the inputs' bodies while rewriting them and the
            // output's sections after (DESIGN §3): the whole output must
            // validate, read again from scratch.
            let all = wasmparser::WasmFeatures::all();
            if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&fused.bytes) {
                panic!("invalid output: {e}");
            }
            let again = run().expect("second run");
            assert!(fused.bytes == again.bytes, "fuse is not deterministic");
            // Where wasmi runs them all (no GC, exceptions or SIMD), the
            // fused module behaves as the inputs instantiated one by one
            // (each imports from the one before: that is their order).
            let set: Vec<(&str, &[u8])> = modules.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
            // Only the sets generated for it: their memories are small.
            let runs = runnable && set.iter().all(|(_, b)| crate::exec::compiles(b));
            if runs && crate::exec::compiles(&fused.bytes) {
                let order: Vec<usize> = (0..set.len()).collect();
                let want = crate::exec::run_separately(&set, &order);
                let got = crate::exec::run_fused(&set, &fused.bytes);
                if let Err(diff) = crate::exec::same(&want, &got) {
                    panic!("the fused module behaves differently:\n  {diff}");
                }
            }
        }
        Err(weld_linker::Error::Fuse(e @ FuseError::Invalid { .. })) => panic!("invalid output: {e}"),
        Err(e) => panic!("fuse refused generated modules: {e}"),
    }
    Outcome::Reached
}

/// What the fuse target runs on.
struct FuseSet {
    /// The generated modules, as (name, binary).
    modules: Vec<(String, Vec<u8>)>,
    /// Whether they were generated for wasmi, for the differential run.
    runnable: bool,
    /// The folding mode.
    icf: Icf,
}

fn fuse_set(u: &mut Unstructured) -> Result<FuseSet> {
    let n = u.int_in_range(1..=4)?;
    let mut modules: Vec<(String, Vec<u8>)> = Vec::new();
    // Half the sets stay within what wasmi runs, for the differential check.
    let runnable: bool = u.arbitrary()?;
    for i in 0..n {
        let mut cfg = config();
        if runnable {
            cfg.gc_enabled = false;
            cfg.exceptions_enabled = false;
            cfg.simd_enabled = false;
            cfg.relaxed_simd_enabled = false;
            cfg.threads_enabled = false;
            cfg.wide_arithmetic_enabled = false;
            cfg.memory64_enabled = false;
            cfg.compact_imports_enabled = false;
            cfg.max_memory32_bytes = 1 << 18;
        }
        if let Some((name, prev)) = modules.last() {
            if let Some(avail) = imports_of(name, prev) {
                cfg.max_imports = 24;
                cfg.available_imports = Some(avail);
            }
        }
        let m = wasm_smith::Module::new(cfg, u)?;
        modules.push((format!("in{i}"), m.to_bytes()));
    }
    let icf = *u.choose(&[Icf::Safe, Icf::All, Icf::None])?;
    Ok(FuseSet {
        modules,
        runnable,
        icf,
    })
}

/// Arbitrary strings through the name parser and the semver matcher.
pub fn names(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::Stopped("not UTF-8");
    };
    let mut parts = text.splitn(2, '\n');
    let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    for s in [a, b] {
        if let Ok(n) = ExternName::parse(s) {
            let _ = (n.base(), n.track());
        }
        if let Some(d) = parse_hash_name(s) {
            assert_eq!(parse_hash_name(&canonical_hash_name(&d)), Some(d));
        }
    }
    assert_eq!(
        semver_compatible(a, b),
        semver_compatible(b, a),
        "semver matching is not symmetric"
    );
    let mut idx = ProviderIndex::new();
    idx.insert(a, 0u8);
    if let Some((_, rule)) = idx.lookup(b) {
        // What matched must be exact or on the same track.
        assert!(a == b || semver_compatible(a, b), "{a:?} matched {b:?} by {rule}");
    }
    Outcome::Reached
}

/// Generated modules nested in a component (some one level deeper, some
/// repeated), split into a fresh store with a random threshold, bundled
/// back. A valid input must split into a valid root (or be refused for a
/// type weld cannot declare), and bundle into a valid component with as
/// many distinct modules. Also composed alone: the result must validate.
pub fn split_bundle(u: &mut Unstructured) -> Outcome {
    let (app, min_size) = match split_bundle_app(u) {
        Ok(app) => app,
        Err(e) => return stopped(e),
    };
    let all = wasmparser::WasmFeatures::all();
    if wasmparser::Validator::new_with_features(all)
        .validate_all(&app)
        .is_err()
    {
        return Outcome::Stopped("the generated component does not validate");
    }
    let store = weld_linker::MemoryStore::new();
    let split = weld_linker::split(
        &weld_linker::SplitOptions {
            min_size,
            ..Default::default()
        },
        "app",
        &app,
        &store,
    );
    let split = split.unwrap_or_else(|e| panic!("a valid component failed to split: {e}"));
    if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&split.root) {
        panic!("invalid split root: {e}");
    }
    let bundled = weld_linker::bundle(&Default::default(), "root", &split.root, &store)
        .unwrap_or_else(|e| panic!("bundle of a fresh split failed: {e}"));
    if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&bundled.bytes) {
        panic!("invalid bundle: {e}");
    }
    // Composed alone, the app must still validate.
    let inputs = Inputs::from_memory([("app", app)]).expect("a component");
    if let Ok(out) = weld_linker::compose(&Default::default(), &inputs) {
        if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&out.bytes) {
            panic!("invalid composition: {e}");
        }
    }
    Outcome::Reached
}

/// The split_bundle target's component and `--min-size`.
fn split_bundle_app(u: &mut Unstructured) -> Result<(Vec<u8>, usize)> {
    let n = u.int_in_range(1..=3)?;
    let mut modules = Vec::new();
    for _ in 0..n {
        let mut cfg = config();
        cfg.max_imports = 4;
        cfg.export_everything = u.arbitrary()?;
        modules.push(wasm_smith::Module::new(cfg, u)?.to_bytes());
    }
    fn raw(id: u8, data: &[u8]) -> wasm_encoder::RawSection<'_> {
        wasm_encoder::RawSection { id, data }
    }
    let mut inner = wasm_encoder::Component::new();
    let mut outer = wasm_encoder::Component::new();
    for m in &modules {
        match u.int_in_range(0..=2)? {
            0 => {
                outer.section(&raw(1, m));
            }
            1 => {
                inner.section(&raw(1, m));
            }
            _ => {
                outer.section(&raw(1, m));
                outer.section(&raw(1, m));
            }
        }
    }
    let inner = inner.finish();
    outer.section(&raw(4, &inner));
    if u.arbitrary()? {
        outer.section(&raw(4, &inner));
    }
    let app = outer.finish();
    let min_size = u.int_in_range(0..=4096)?;
    Ok((app, min_size))
}

/// Value types a generated component function uses, with their core type
/// and a core constant of it.
const VALS: [(&str, &str, &str); 5] = [
    ("u32", "i32", "i32.const 0"),
    ("s64", "i64", "i64.const 0"),
    ("f32", "f32", "f32.const 0"),
    ("bool", "i32", "i32.const 0"),
    ("u8", "i32", "i32.const 0"),
];

/// A generated component set through compose: up to five components, each
/// exporting a versioned interface of scalar functions and importing, from
/// components after it, interfaces at versions on the same semver track or
/// not, with a subset of their functions (now and then of another type), a
/// host interface, sometimes a cycle, sometimes the same bytes under two
/// names. compose must either give a component that validates or refuse
/// with a one-line error in WAT/WIT terms; it must never panic.
pub fn compose(u: &mut Unstructured) -> Outcome {
    let inputs = match compose_set(u) {
        Ok(inputs) => inputs,
        Err(e) => return stopped(e),
    };
    let inputs = Inputs::from_memory(inputs).expect("generated components load");
    match weld_linker::compose(&Default::default(), &inputs) {
        Ok(out) => {
            let all = wasmparser::WasmFeatures::all();
            if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&out.bytes) {
                panic!("compose wrote an invalid component: {e}");
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty(), "an empty error");
            assert!(!text.contains('\n'), "a multi-line error: {text}");
            for debug in [
                "RefType {",
                "Concrete(",
                "Some(",
                "ComponentValType",
                "Primitive(",
            ] {
                assert!(!text.contains(debug), "Rust Debug in an error: {text}");
            }
        }
    }
    Outcome::Reached
}

/// The compose target's components, as (name, binary).
fn compose_set(u: &mut Unstructured) -> Result<Vec<(String, Vec<u8>)>> {
    let n = u.int_in_range(1..=5)?;
    // Per component: its interface version and its functions' types
    // (indices into VALS).
    type Spec = ((u8, u8, u8), Vec<(usize, usize)>);
    let mut specs: Vec<Spec> = Vec::new();
    for _ in 0..n {
        let v = (
            u.int_in_range(0..=2)?,
            u.int_in_range(0..=3)?,
            u.int_in_range(0..=3)?,
        );
        let funcs = (0..u.int_in_range(1..=4)?)
            .map(|_| Ok((u.choose_index(VALS.len())?, u.choose_index(VALS.len())?)))
            .collect::<Result<Vec<_>>>()?;
        specs.push((v, funcs));
    }
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for k in 0..n {
        let ((ma, mi, pa), funcs) = &specs[k];
        let mut wat = String::from("(component\n");
        // Imports from later components (or, rarely, an earlier one: a cycle).
        for (j, ((ja, ji, jp), jfuncs)) in specs.iter().enumerate() {
            let later = j > k;
            if j == k || !(later || u.ratio(1, 12)?) || !u.arbitrary::<bool>()? {
                continue;
            }
            let v = match u.int_in_range(0..=3)? {
                0 => (*ja, *ji, *jp),
                1 => (*ja, *ji, jp.wrapping_add(1)),
                2 => (*ja, ji.wrapping_add(1), 0),
                _ => (ja.wrapping_add(1), 0, 0),
            };
            wat.push_str(&format!(
                "  (import \"fz:p/i{j}@{}.{}.{}\" (instance\n",
                v.0, v.1, v.2
            ));
            for (f, &(p, r)) in jfuncs.iter().enumerate() {
                if !u.arbitrary::<bool>()? {
                    continue;
                }
                let p = if u.ratio(1, 16)? { (p + 1) % VALS.len() } else { p };
                wat.push_str(&format!(
                    "    (export \"f{f}\" (func (param \"a\" {}) (result {})))\n",
                    VALS[p].0, VALS[r].0
                ));
            }
            wat.push_str("  ))\n");
        }
        if u.ratio(1, 4)? {
            wat.push_str("  (import \"wasi:fz/host@0.2.0\" (instance (export \"h\" (func))))\n");
        }
        wat.push_str("  (core module $m\n");
        for (f, &(p, r)) in funcs.iter().enumerate() {
            wat.push_str(&format!(
                "    (func (export \"f{f}\") (param {}) (result {}) {})\n",
                VALS[p].1, VALS[r].1, VALS[r].2
            ));
        }
        wat.push_str("  )\n  (core instance $i (instantiate $m))\n");
        for (f, &(p, r)) in funcs.iter().enumerate() {
            wat.push_str(&format!(
                "  (func $f{f} (param \"a\" {}) (result {}) (canon lift (core func $i \"f{f}\")))\n",
                VALS[p].0, VALS[r].0
            ));
        }
        wat.push_str("  (instance $api");
        for f in 0..funcs.len() {
            wat.push_str(&format!(" (export \"f{f}\" (func $f{f}))"));
        }
        wat.push_str(")\n");
        wat.push_str(&format!(
            "  (export \"fz:p/i{k}@{ma}.{mi}.{pa}\" (instance $api)))\n"
        ));
        let bytes = wat::parse_str(&wat).expect("generated component text parses");
        inputs.push((format!("c{k}"), bytes));
    }
    // The same bytes under a second name, now and then.
    if u.ratio(1, 6)? {
        let k = u.choose_index(inputs.len())?;
        let bytes = inputs[k].1.clone();
        inputs.push((format!("copy{k}"), bytes));
    }
    Ok(inputs)
}
