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
use weld_linker::{FuseError, FuseOptions, Fused, Icf, OnConflict};

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
/// component, compose, flatten, split and bundle): errors are fine, panics are not,
/// and any output must validate. Bytes that do not load as an input (a wasm
/// header or WAT text) are loaded again behind a core module's header, so
/// that libFuzzer's mutations of the header do not keep most executions
/// away from survey; survey may still refuse them, which the linker's
/// commands must report as errors. Reached once either form loads.
pub fn load_survey(data: &[u8]) -> Outcome {
    const CORE_HEADER: &[u8] = b"\0asm\x01\0\0\0";
    let inputs = match Inputs::from_memory([("fuzz", data.to_vec())]) {
        Ok(inputs) => inputs,
        Err(_) => match Inputs::from_memory([("fuzz", [CORE_HEADER, data].concat())]) {
            Ok(inputs) => inputs,
            Err(_) => return Outcome::Stopped("not a WebAssembly input, even behind a header"),
        },
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
        // And through flatten: errors are fine, panics are not, and the
        // output of a valid input must validate (flatten checks sections
        // only; an invalid body it did not link is the input's).
        if let Ok(out) = weld_linker::flatten(&Default::default(), "fuzz", input.bytes()) {
            let all = wasmparser::WasmFeatures::all();
            let valid = |b: &[u8]| wasmparser::Validator::new_with_features(all).validate_all(b);
            if valid(input.bytes()).is_ok() {
                if let Err(e) = valid(&out.bytes) {
                    panic!("flatten wrote an invalid component from a valid one: {e}");
                }
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
/// instantiated one by one (results, traps, host calls, memories). The same
/// modules wrapped in a component, core instances wired to each other, go
/// through `flatten` too (see [`flatten_checked`]).
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
    match fuse_checked(&opts, &modules) {
        Ok(fused) => {
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
    merged_checked(&modules, runnable, icf);
    flatten_checked(&modules, icf);
    Outcome::Reached
}

/// `modules` fused with every memory, every table or both merged into one
/// (by the set's size, so each input always takes the same way): refused
/// with a reason (the options' rules), or valid (fuse validates merged
/// output whole) and, where wasmi runs it, making the same calls return the
/// same results and traps as the inputs instantiated one by one.
fn merged_checked(modules: &[(String, Vec<u8>)], runnable: bool, icf: Icf) {
    let way = modules.len() % 3;
    // Only the functions stay exported (every generated module may export
    // its memory and tables, and a merged memory stands for one export).
    // (By their names in the fused module, renamed on conflict.)
    let set: Vec<(&str, &[u8])> = modules.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let functions: Vec<String> = crate::exec::exports(&set)
        .into_iter()
        .filter(|e| e.1 == wasmparser::ExternalKind::Func)
        .map(|e| e.3)
        .collect();
    let opts = FuseOptions {
        on_conflict: OnConflict::Rename,
        icf,
        merge_memories: way != 1,
        merge_tables: way != 0,
        exports: Some(functions),
        ..Default::default()
    };
    match fuse_checked(&opts, modules) {
        Ok(fused) => {
            let runs = runnable && set.iter().all(|(_, b)| crate::exec::compiles(b));
            if runs && crate::exec::compiles(&fused.bytes) {
                let order: Vec<usize> = (0..set.len()).collect();
                let want = crate::exec::run_separately(&set, &order);
                let got = crate::exec::run_fused(&set, &fused.bytes);
                if let Err(diff) = crate::exec::same_calls(&want, &got) {
                    panic!("the module with merged memories behaves differently:\n  {diff}");
                }
            }
        }
        Err(weld_linker::Error::Fuse(FuseError::MergeMemories(_) | FuseError::MergeTables(_))) => {}
        Err(e) => panic!("fuse with merged memories or tables failed on generated modules: {e}"),
    }
}

/// `modules` as one component: each instantiated once, with the one before
/// as its argument (each imports only from it), and every exported function
/// of numeric parameters and at most one result lifted and exported, so
/// their code stays live. A valid component must flatten into one linked
/// module that validates, with the same exports.
fn flatten_checked(modules: &[(String, Vec<u8>)], icf: Icf) {
    let Some(component) = as_component(modules) else {
        return;
    };
    let all = wasmparser::WasmFeatures::all();
    if wasmparser::Validator::new_with_features(all)
        .validate_all(&component)
        .is_err()
    {
        return;
    }
    let opts = weld_linker::FlattenOptions {
        icf,
        ..Default::default()
    };
    let out = weld_linker::flatten(&opts, "fuzz", &component)
        .unwrap_or_else(|e| panic!("flatten refused a valid component of generated modules: {e}"));
    if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&out.bytes) {
        panic!("flatten wrote an invalid component: {e}");
    }
    // Each module that imports is wired to the one before: every chain of
    // modules wired to each other becomes one module.
    let chains = modules
        .iter()
        .enumerate()
        .filter(|(i, (_, m))| {
            *i == 0
                || weld_format::survey("m", m)
                    .ok()
                    .and_then(|s| s.as_module().map(|m| m.imports.is_empty()))
                    .unwrap_or(true)
        })
        .count();
    assert_eq!(
        out.report.core_modules_after, chains,
        "{} modules in {chains} wired chains: {:?}",
        out.report.core_modules_before, out.report.core_modules_after
    );
    let exports = |b: &[u8]| -> Vec<String> {
        wasmparser::Parser::new(0)
            .parse_all(b)
            .filter_map(|p| match p {
                Ok(wasmparser::Payload::ComponentExportSection(r)) => Some(
                    r.into_iter()
                        .flatten()
                        .map(|e| e.name.name.to_string())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(
        exports(&component),
        exports(&out.bytes),
        "flatten changed the exports"
    );
}

/// The component [`flatten_checked`] flattens; `None` when a module does
/// not survey.
fn as_component(modules: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    use wasm_encoder::{
        Alias, CanonicalFunctionSection, Component, ComponentAliasSection, ComponentExportKind,
        ComponentExportSection, ComponentSectionId, ComponentTypeSection, ComponentValType, ExportKind,
        InstanceSection, ModuleArg, PrimitiveValType, RawSection,
    };
    let mut c = Component::new();
    for (_, m) in modules {
        c.section(&RawSection {
            id: ComponentSectionId::CoreModule as u8,
            data: m,
        });
    }
    let mut instances = InstanceSection::new();
    for (i, (_, m)) in modules.iter().enumerate() {
        let s = weld_format::survey("m", m).ok()?;
        let imports = !s.as_module()?.imports.is_empty();
        match (i.checked_sub(1), imports) {
            (Some(prev), true) => {
                let name = modules[prev].0.as_str();
                instances.instantiate(i as u32, [(name, ModuleArg::Instance(prev as u32))]);
            }
            _ => {
                instances.instantiate(i as u32, std::iter::empty::<(&str, ModuleArg)>());
            }
        }
    }
    c.section(&instances);
    let prim = |v: &wasmparser::ValType| match v {
        wasmparser::ValType::I32 => Some(PrimitiveValType::S32),
        wasmparser::ValType::I64 => Some(PrimitiveValType::S64),
        wasmparser::ValType::F32 => Some(PrimitiveValType::F32),
        wasmparser::ValType::F64 => Some(PrimitiveValType::F64),
        _ => None,
    };
    let (mut core_funcs, mut types, mut funcs) = (0u32, 0u32, 0u32);
    for (i, (_, m)) in modules.iter().enumerate() {
        let s = weld_format::survey("m", m).ok()?;
        let m = s.as_module()?;
        for e in &m.exports {
            if e.kind != wasmparser::ExternalKind::Func {
                continue;
            }
            let ty = m.func_types.get(e.index as usize)?;
            let Some(wasmparser::CompositeInnerType::Func(f)) =
                m.types.get(ty.as_usize()).map(|t| &t.composite_type.inner)
            else {
                continue;
            };
            let params: Option<Vec<PrimitiveValType>> = f.params().iter().map(prim).collect();
            let results: Option<Vec<PrimitiveValType>> = f.results().iter().map(prim).collect();
            let (Some(params), Some(results)) = (params, results) else {
                continue;
            };
            if results.len() > 1 || params.len() > 16 {
                continue;
            }
            let mut alias = ComponentAliasSection::new();
            alias.alias(Alias::CoreInstanceExport {
                instance: i as u32,
                kind: ExportKind::Func,
                name: e.name,
            });
            c.section(&alias);
            let mut t = ComponentTypeSection::new();
            let names: Vec<String> = (0..params.len()).map(|p| format!("p{p}")).collect();
            t.function()
                .params(
                    names
                        .iter()
                        .zip(&params)
                        .map(|(n, p)| (n.as_str(), ComponentValType::Primitive(*p))),
                )
                .result(results.first().map(|r| ComponentValType::Primitive(*r)));
            c.section(&t);
            let mut canon = CanonicalFunctionSection::new();
            canon.lift(core_funcs, types, []);
            c.section(&canon);
            let mut ex = ComponentExportSection::new();
            ex.export(
                format!("f{funcs}").as_str(),
                ComponentExportKind::Func,
                funcs,
                None,
            );
            c.section(&ex);
            core_funcs += 1;
            types += 1;
            funcs += 2;
        }
    }
    Some(c.finish())
}

/// Fuses `modules`. When that succeeds, the whole output must validate,
/// read again from scratch (weld validated the inputs' bodies while
/// rewriting them and the output's sections after, DESIGN §3), and a
/// second run must give the same bytes.
fn fuse_checked(opts: &FuseOptions, modules: &[(String, Vec<u8>)]) -> Result<Fused, weld_linker::Error> {
    let run = || {
        let inputs = Inputs::from_memory(modules.to_vec()).expect("generated modules load");
        weld_linker::fuse(opts, &inputs)
    };
    let fused = run()?;
    let all = wasmparser::WasmFeatures::all();
    if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&fused.bytes) {
        panic!("invalid output: {e}");
    }
    let again = run().expect("second run");
    assert!(fused.bytes == again.bytes, "fuse is not deterministic");
    Ok(fused)
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
    fuse_set_with(u, false)
}

/// A fuse set; with `defines`, its first module defines a function (the
/// dwarf target's sets: wasm-smith makes modules without any from short
/// inputs, and those have no code to describe).
fn fuse_set_with(u: &mut Unstructured, defines: bool) -> Result<FuseSet> {
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
        if defines && i == 0 {
            // The first module imports nothing, so a function fits; without
            // GC its first type is a function type.
            cfg.gc_enabled = false;
            cfg.min_types = 1;
            cfg.min_funcs = 1;
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

/// Arbitrary strings through the name parser and the semver matcher. Bytes
/// that are not UTF-8 are read lossily (each bad sequence becomes U+FFFD),
/// so every execution reaches the parser.
pub fn names(data: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(data);
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

/// What a generated DWARF case breaks on purpose, or may break: which
/// errors fuse may then give, and whether its output's DWARF is checked.
#[derive(Debug, Default, Clone, Copy)]
struct Breaks {
    /// A debug section was truncated or had a byte flipped.
    corrupt: bool,
    /// A line row lies past the end of its sequence's function.
    past: bool,
    /// An expression names a global the module does not have.
    foreign_global: bool,
    /// An expression names a global whose output index may need a longer
    /// LEB128 than its input index (gimli writes the index as a LEB128 of
    /// minimal length; weld rewrites it at its old length).
    global_may_grow: bool,
}

/// What the dwarf target runs on.
struct DwarfCase {
    /// The generated modules, some of them with DWARF sections appended.
    modules: Vec<(String, Vec<u8>)>,
    /// The folding mode.
    icf: Icf,
    /// The exports to keep (`None`: all), so that unused functions, their
    /// line sequences and code ranges are removed.
    exports: Option<Vec<String>>,
    /// What the DWARF breaks.
    breaks: Breaks,
}

/// A module's defined functions' bodies in code addresses (offsets from
/// the code section's payload start), each from its first local
/// declaration byte (after the body's size) to its end; and its globals
/// (imported and defined). `None` when wasmparser cannot read it.
fn code_layout(bytes: &[u8]) -> Option<(Vec<std::ops::Range<u32>>, u32)> {
    use wasmparser::{Payload, TypeRef};
    let mut payload = None;
    let mut bodies = Vec::new();
    let mut globals = 0u32;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        match p.ok()? {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    if matches!(i.ok()?.ty, TypeRef::Global(_)) {
                        globals += 1;
                    }
                }
            }
            Payload::GlobalSection(r) => globals += r.count(),
            Payload::CodeSectionStart { unchecked_range, .. } => payload = Some(unchecked_range.start),
            Payload::CodeSectionEntry(b) => {
                let r = b.range();
                let p = payload?;
                bodies.push((r.start - p) as u32..(r.end - p) as u32);
            }
            _ => {}
        }
    }
    Some((bodies, globals))
}

/// The length of `x` as an unsigned LEB128.
fn leb_len(x: u32) -> u32 {
    (32 - x.leading_zeros()).div_ceil(7).max(1)
}

/// DWARF sections, by name, with their bytes.
type DebugSections = Vec<(&'static str, Vec<u8>)>;

/// A fuse set, with DWARF written by gimli for some of its functions (see
/// [`dwarf`]).
fn dwarf_case(u: &mut Unstructured) -> Result<Option<DwarfCase>> {
    // The DWARF's choices come from the input's first quarter, the modules
    // from the rest: wasm-smith would otherwise eat short inputs whole and
    // leave every choice of the DWARF at its default.
    let head = u.bytes(u.len() / 4)?;
    let FuseSet { mut modules, icf, .. } = fuse_set_with(u, true)?;
    let u = &mut Unstructured::new(head);
    let layouts: Vec<_> = modules
        .iter()
        .map(|(_, b)| code_layout(b).expect("wasmparser reads a generated module"))
        .collect();
    // The output's globals number at most all the inputs' together.
    let total_globals: u32 = layouts.iter().map(|(_, g)| g).sum();
    let candidates: Vec<usize> = (0..modules.len()).filter(|&k| !layouts[k].0.is_empty()).collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut chosen = Vec::new();
    for &k in &candidates {
        if u.ratio(1, 2)? {
            chosen.push(k);
        }
    }
    if chosen.is_empty() {
        chosen.push(candidates[u.choose_index(candidates.len())?]);
    }
    let mut breaks = Breaks::default();
    let mut debug: Vec<(usize, DebugSections)> = Vec::new();
    for &k in &chosen {
        let (bodies, globals) = &layouts[k];
        let sections = module_dwarf(u, bodies, *globals, total_globals, &mut breaks)?;
        debug.push((k, sections));
    }
    // Now and then one debug section corrupted: truncated, or a byte flipped.
    if !u.ratio(5, 6)? {
        let i = u.choose_index(debug.len())?;
        let sections = &mut debug[i].1;
        let s = u.choose_index(sections.len())?;
        let data = &mut sections[s].1;
        if u.arbitrary()? {
            let keep = u.int_in_range(0..=data.len() - 1)?;
            data.truncate(keep);
        } else {
            let at = u.choose_index(data.len())?;
            data[at] ^= u.int_in_range(1..=255u8)?;
        }
        breaks.corrupt = true;
    }
    // Custom sections may go after every other section: appended.
    for (k, sections) in debug {
        let bytes = &mut modules[k].1;
        for (name, data) in sections {
            let mut n = Vec::new();
            wasm_encoder::Encode::encode(name, &mut n);
            bytes.push(0);
            wasm_encoder::Encode::encode(&((n.len() + data.len()) as u32), bytes);
            bytes.extend_from_slice(&n);
            bytes.extend_from_slice(&data);
        }
    }
    // Now and then only some exports kept (names no other module exports,
    // which fuse does not rename), so that functions are removed.
    let exports = if u.ratio(3, 4)? {
        None
    } else {
        let mut names: Vec<String> = Vec::new();
        for (_, bytes) in &modules {
            for p in wasmparser::Parser::new(0).parse_all(bytes) {
                if let Ok(wasmparser::Payload::ExportSection(r)) = p {
                    names.extend(r.into_iter().filter_map(|e| Some(e.ok()?.name.to_string())));
                }
            }
        }
        let mut unique = Vec::new();
        for n in &names {
            if names.iter().filter(|m| *m == n).count() == 1 && u.ratio(1, 3)? {
                unique.push(n.clone());
            }
        }
        Some(unique)
    };
    Ok(Some(DwarfCase {
        modules,
        icf,
        exports,
        breaks,
    }))
}

/// One unit of DWARF (version 4 or 5) for some of the functions whose
/// bodies are `bodies`, in a module with `globals` globals: a line
/// sequence, a subprogram and variables located in Wasm globals and
/// locals per function; sometimes location lists and a range list. Its
/// non-empty sections, by name.
fn module_dwarf(
    u: &mut Unstructured,
    bodies: &[std::ops::Range<u32>],
    globals: u32,
    total_globals: u32,
    breaks: &mut Breaks,
) -> Result<DebugSections> {
    use gimli::write::{
        Address, AttributeValue as Av, DwarfUnit, EndianVec, Expression, LineProgram, LineString, Location,
        LocationList, Range, RangeList, Sections,
    };
    use gimli::{constants as dw, Encoding, Format, LineEncoding, LittleEndian};

    let version = if u.arbitrary()? { 5 } else { 4 };
    let encoding = Encoding {
        format: Format::Dwarf32,
        version,
        address_size: 4,
    };
    let mut dwarf = DwarfUnit::new(encoding);
    dwarf.unit.line_program = LineProgram::new(
        encoding,
        LineEncoding::default(),
        LineString::String(b"/fz".to_vec()),
        None,
        LineString::String(b"fz.c".to_vec()),
        None,
    );
    let dir = dwarf.unit.line_program.default_directory();
    let file = dwarf
        .unit
        .line_program
        .add_file(LineString::String(b"fz.c".to_vec()), dir, None);

    let mut funcs = Vec::new();
    for d in 0..bodies.len() {
        if u.ratio(2, 3)? {
            funcs.push(d);
        }
    }
    if funcs.is_empty() {
        funcs.push(u.choose_index(bodies.len())?);
    }

    let root = dwarf.unit.root();
    let name = dwarf.strings.add("fz.c");
    let cu = dwarf.unit.get_mut(root);
    cu.set(dw::DW_AT_name, Av::StringRef(name));
    cu.set(dw::DW_AT_producer, Av::String(b"weld-fuzz".to_vec()));
    cu.set(dw::DW_AT_low_pc, Av::Address(Address::Constant(0)));
    if u.ratio(1, 3)? {
        let list = RangeList(
            funcs
                .iter()
                .map(|&d| Range::StartLength {
                    begin: Address::Constant(bodies[d].start as u64),
                    length: bodies[d].len() as u64,
                })
                .collect(),
        );
        let id = dwarf.unit.ranges.add(list);
        dwarf
            .unit
            .get_mut(root)
            .set(dw::DW_AT_ranges, Av::RangeListRef(id));
    }

    for &d in &funcs {
        let start = bodies[d].start as u64;
        let len = bodies[d].len() as u64;
        // The line sequence: rows at offsets in the body, in order; rarely
        // one past its end.
        let program = &mut dwarf.unit.line_program;
        program.begin_sequence(Some(Address::Constant(start)));
        let mut offsets = (0..u.int_in_range(1..=4)?)
            .map(|_| u.int_in_range(0..=len - 1))
            .collect::<Result<Vec<u64>>>()?;
        offsets.sort_unstable();
        // (`ratio` is true once the input runs out: what is rare is its
        // negation.)
        if !u.ratio(31, 32)? {
            offsets.push(len + u.int_in_range(0..=16)?);
            breaks.past = true;
        }
        for &o in &offsets {
            let row = program.row();
            row.address_offset = o;
            row.file = file;
            row.line = u.int_in_range(1..=5000)?;
            row.column = u.int_in_range(0..=120)?;
            row.is_statement = u.arbitrary()?;
            program.generate_row();
        }
        let last = offsets.last().copied().unwrap_or(0);
        program.end_sequence(len.max(last + 1));

        // Its subprogram, with a variable in a global or a local.
        let mut expr = Expression::new();
        match u.int_in_range(0..=2)? {
            0 => expr.op_wasm_global(pick_global(u, globals, total_globals, breaks)?),
            1 => expr.op_wasm_local(u.int_in_range(0..=8)?),
            _ => {
                expr.op_wasm_local(u.int_in_range(0..=8)?);
                expr.op_piece(4);
                expr.op_wasm_global(pick_global(u, globals, total_globals, breaks)?);
                expr.op_piece(4);
            }
        }
        let sp = dwarf.unit.add(root, dw::DW_TAG_subprogram);
        let e = dwarf.unit.get_mut(sp);
        e.set(dw::DW_AT_name, Av::String(format!("f{d}").into_bytes()));
        e.set(dw::DW_AT_low_pc, Av::Address(Address::Constant(start)));
        e.set(dw::DW_AT_high_pc, Av::Udata(len));
        let var = dwarf.unit.add(sp, dw::DW_TAG_variable);
        let e = dwarf.unit.get_mut(var);
        e.set(dw::DW_AT_name, Av::String(b"v".to_vec()));
        e.set(dw::DW_AT_location, Av::Exprloc(expr));
        // Sometimes a variable with a location list over part of the body.
        if u.ratio(1, 3)? {
            let mut list = Vec::new();
            for _ in 0..u.int_in_range(1..=2)? {
                let begin = u.int_in_range(0..=len - 1)?;
                let length = u.int_in_range(1..=len - begin)?;
                let mut data = Expression::new();
                if u.arbitrary()? {
                    data.op_wasm_global(pick_global(u, globals, total_globals, breaks)?);
                } else {
                    data.op_wasm_local(u.int_in_range(0..=8)?);
                }
                list.push(Location::StartLength {
                    begin: Address::Constant(start + begin),
                    length,
                    data,
                });
            }
            let id = dwarf.unit.locations.add(LocationList(list));
            let var = dwarf.unit.add(sp, dw::DW_TAG_variable);
            let e = dwarf.unit.get_mut(var);
            e.set(dw::DW_AT_name, Av::String(b"w".to_vec()));
            e.set(dw::DW_AT_location, Av::LocationListRef(id));
        }
    }

    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf
        .write(&mut sections)
        .expect("gimli writes the generated DWARF");
    let mut out = Vec::new();
    sections
        .for_each(|id, w| {
            if !w.slice().is_empty() {
                out.push((id.name(), w.slice().to_vec()));
            }
            Ok::<_, ()>(())
        })
        .expect("no error");
    Ok(out)
}

/// A global for an expression of a module with `globals` globals, in a
/// set with `total_globals`: one of its own, now and then any.
fn pick_global(u: &mut Unstructured, globals: u32, total_globals: u32, breaks: &mut Breaks) -> Result<u32> {
    let g = if globals > 0 && u.ratio(15, 16)? {
        u.int_in_range(0..=globals - 1)?
    } else {
        u.arbitrary()?
    };
    if g >= globals {
        breaks.foreign_global = true;
    }
    if leb_len(g) < leb_len(total_globals.saturating_sub(1)) {
        breaks.global_may_grow = true;
    }
    Ok(g)
}

/// A fuse set with DWARF (version 4 or 5, written by gimli) for some
/// functions of some of its modules: a line sequence per function (rarely
/// with a row past the function's end), a subprogram with its code range,
/// variables located in Wasm globals and locals, sometimes location lists
/// and a range list; sometimes one debug section truncated or with a byte
/// flipped; sometimes only some exports kept, so functions are removed.
/// Fused keeping the DWARF: fuse must never panic; an output must validate
/// and not depend on the run; unless the DWARF was broken on purpose, fuse
/// must succeed (or refuse, naming it, a global the module does not have
/// or whose index outgrows its LEB128) and gimli must read the output's
/// DWARF, with every line row, range and location in an output function
/// body and every subprogram on a body (or given the tombstone).
pub fn dwarf(u: &mut Unstructured) -> Outcome {
    let case = match dwarf_case(u) {
        Ok(Some(case)) => case,
        Ok(None) => return Outcome::Stopped("no generated module defines a function"),
        Err(e) => return stopped(e),
    };
    let opts = FuseOptions {
        on_conflict: OnConflict::Rename,
        icf: case.icf,
        exports: case.exports.clone(),
        strip_debug: false,
        ..Default::default()
    };
    let b = case.breaks;
    let broken = b.corrupt || b.past;
    match fuse_checked(&opts, &case.modules) {
        Ok(fused) => {
            if !broken {
                check_output_dwarf(&fused.bytes);
            }
        }
        Err(e) => {
            let text = e.to_string();
            // A global the input does not have, or one whose index grew
            // past its LEB128, is refused by name.
            let global = (b.foreign_global || b.global_may_grow) && text.contains("global");
            if !broken && !global {
                panic!("fuse refused valid DWARF: {text}");
            }
        }
    }
    Outcome::Reached
}

/// Reads a fused module's DWARF with gimli (every unit, entry, range,
/// location list and line row) and checks that every line row, range and
/// location lies in one output function body, and every subprogram's
/// code range is a whole body (or has the tombstone address).
fn check_output_dwarf(out: &[u8]) {
    use gimli::{constants as dw, EndianSlice, LittleEndian};
    use wasmparser::Payload;
    let mut sections: std::collections::HashMap<&str, &[u8]> = Default::default();
    for p in wasmparser::Parser::new(0).parse_all(out) {
        if let Ok(Payload::CustomSection(c)) = p {
            if c.name().starts_with(".debug_") {
                sections.insert(c.name(), c.data());
            }
        }
    }
    let (bodies, _) = code_layout(out).expect("wasmparser reads the output");
    // The body holding `begin..end` (`end` exclusive, `begin < end`).
    let body_of = |begin: u64, end: u64| {
        let i = bodies.partition_point(|b| (b.end as u64) <= begin);
        bodies
            .get(i)
            .filter(|b| b.start as u64 <= begin && end <= b.end as u64)
    };
    let dwarf = gimli::Dwarf::load(|id| {
        Ok::<_, gimli::Error>(EndianSlice::new(
            sections.get(id.name()).copied().unwrap_or(&[]),
            LittleEndian,
        ))
    })
    .expect("no error");
    let fail = |what: &str, e: gimli::Error| -> ! { panic!("gimli cannot read the output's {what}: {e}") };
    let tomb = u32::MAX as u64;
    let mut units = dwarf.units();
    while let Some(h) = units.next().unwrap_or_else(|e| fail("units", e)) {
        let unit = dwarf.unit(h).unwrap_or_else(|e| fail("unit", e));
        let mut entries = unit.entries();
        while let Some(e) = entries.next_dfs().unwrap_or_else(|e| fail("entries", e)) {
            let mut ranges = dwarf.die_ranges(&unit, e).unwrap_or_else(|e| fail("ranges", e));
            while let Some(r) = ranges.next().unwrap_or_else(|e| fail("ranges", e)) {
                if r.begin < r.end && body_of(r.begin, r.end).is_none() {
                    panic!(
                        "the output's range {:#x}..{:#x} is in no function body",
                        r.begin, r.end
                    );
                }
            }
            if e.tag() == dw::DW_TAG_subprogram {
                let low = match e.attr_value(dw::DW_AT_low_pc) {
                    Some(gimli::AttributeValue::Addr(a)) => a,
                    v => panic!("an output subprogram's DW_AT_low_pc is {v:?}"),
                };
                let len = e
                    .attr_value(dw::DW_AT_high_pc)
                    .and_then(|v| v.udata_value())
                    .unwrap_or_else(|| panic!("an output subprogram has no DW_AT_high_pc length"));
                if low != tomb {
                    let whole = bodies
                        .iter()
                        .any(|b| b.start as u64 == low && b.end as u64 == low + len);
                    assert!(
                        whole,
                        "an output subprogram's code {low:#x}..{:#x} is not a function body",
                        low + len
                    );
                }
            }
            if let Some(gimli::AttributeValue::LocationListsRef(o)) = e.attr_value(dw::DW_AT_location) {
                let mut locs = dwarf
                    .locations(&unit, o)
                    .unwrap_or_else(|e| fail("location lists", e));
                while let Some(l) = locs.next().unwrap_or_else(|e| fail("location lists", e)) {
                    let r = l.range;
                    if r.begin < r.end && body_of(r.begin, r.end).is_none() {
                        panic!(
                            "the output's location range {:#x}..{:#x} is in no function body",
                            r.begin, r.end
                        );
                    }
                }
            }
        }
        if let Some(program) = unit.line_program.clone() {
            let mut rows = program.rows();
            while let Some((_, row)) = rows.next_row().unwrap_or_else(|e| fail("line program", e)) {
                let a = row.address();
                if !row.end_sequence() && body_of(a, a + 1).is_none() {
                    panic!("the output's line row at {a:#x} is in no function body");
                }
            }
        }
    }
}

/// A WAC document over a fixed set of packages (counters, scalers, a sum, a
/// front, a flat one importing a function): lets that instantiate them with
/// arguments drawn from earlier lets and imports (named, whole, spread,
/// `...`), exports of every form, and now and then a stray character
/// anywhere. `compose_document` must answer with a component that
/// validates or one line of error, never a panic.
pub fn wac(u: &mut Unstructured) -> Outcome {
    let doc = match wac_document(u) {
        Ok(doc) => doc,
        Err(e) => return stopped(e),
    };
    let sources = weld_linker::PackageSources {
        deps_dir: Some(wac_deps().to_path_buf()),
        ..Default::default()
    };
    match weld_linker::compose_document(&Default::default(), "fuzz.wac", &doc, &sources) {
        Ok(out) => {
            WAC_COMPOSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let all = wasmparser::WasmFeatures::all();
            if let Err(e) = wasmparser::Validator::new_with_features(all).validate_all(&out.composed.bytes) {
                panic!("compose wrote an invalid component from\n{doc}\n: {e}");
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty(), "an empty error");
            assert!(!text.contains('\n'), "a multi-line error: {text}");
        }
    }
    Outcome::Reached
}

/// How many of the wac target's documents composed (not refused): the
/// smoke test checks that its seeds reach the lowering, not only errors.
pub static WAC_COMPOSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The deps directory of the wac target, written once per process.
fn wac_deps() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        crate::wac_packages::packages(dir.path());
        dir
    })
    .path()
}

fn wac_document(u: &mut Unstructured) -> Result<String> {
    use crate::wac_packages::{COUNTER, DOUBLER, TRIPLER};
    // Each package: its name, its imports (name, whether an instance
    // `{ next }` or the function `func() -> u32`), and what its instances
    // give: an instance `{ next }` under a name (`None`: the instance
    // itself is one), or a function.
    struct Package {
        name: &'static str,
        imports: &'static [(&'static str, bool)],
        instance: Option<Option<&'static str>>,
        func: Option<&'static str>,
    }
    const PACKAGES: [Package; 6] = [
        Package {
            name: "demo:counter",
            imports: &[],
            instance: Some(Some(COUNTER)),
            func: None,
        },
        Package {
            name: "demo:doubler@1.0.0",
            imports: &[(COUNTER, true)],
            instance: Some(Some(DOUBLER)),
            func: None,
        },
        Package {
            name: "demo:tripler@2.0.0",
            imports: &[(COUNTER, true)],
            instance: Some(Some(TRIPLER)),
            func: None,
        },
        Package {
            name: "demo:sum",
            imports: &[(DOUBLER, true), (TRIPLER, true)],
            instance: None,
            func: Some("run"),
        },
        Package {
            name: "demo:front",
            imports: &[(TRIPLER, true)],
            instance: None,
            func: Some("run"),
        },
        Package {
            name: "demo:flat",
            imports: &[("seed", false)],
            instance: Some(None),
            func: Some("next"),
        },
    ];
    const NAMES: [&str; 6] = [COUNTER, DOUBLER, TRIPLER, "seed", "next", "run"];
    let mut doc = String::from("package fuzz:doc;\n");
    // What is bound: its name, and the argument forms it offers for an
    // instance import and for a function import.
    let mut instances: Vec<String> = Vec::new();
    let mut funcs: Vec<String> = Vec::new();
    let mut bound: Vec<String> = Vec::new();
    if u.arbitrary()? {
        doc.push_str("import seed: func() -> u32;\n");
        funcs.push("seed".into());
        bound.push("seed".into());
    }
    if u.arbitrary()? {
        doc.push_str("import base: interface { next: func() -> u32; };\n");
        instances.push("base".into());
        funcs.push("base.next".into());
        bound.push("base".into());
    }
    for i in 0..u.int_in_range(1..=6)? {
        let p = u.choose(&PACKAGES)?;
        let mut args: Vec<String> = Vec::new();
        let mut all_given = true;
        for &(import, is_instance) in p.imports {
            let offered = if is_instance { &instances } else { &funcs };
            match u.int_in_range(0..=7)? {
                // A provider of the right kind, when there is one.
                0..=4 if !offered.is_empty() => args.push(format!("\"{import}\": {}", u.choose(offered)?)),
                // Anything bound, by any name: mostly an error.
                5 if !bound.is_empty() => {
                    let from = u.choose(&bound)?;
                    args.push(match u.int_in_range(0..=2)? {
                        0 => format!("...{from}"),
                        1 => format!("\"{import}\": {from}"),
                        _ => format!("\"{import}\": {from}[\"{}\"]", u.choose(&NAMES)?),
                    });
                }
                _ => all_given = false,
            }
        }
        if !all_given || u.ratio(1, 8)? {
            args.push("...".into());
        }
        let id = format!("c{i}");
        doc.push_str(&format!("let {id} = new {} {{ {} }};\n", p.name, args.join(", ")));
        match p.instance {
            Some(Some(export)) => instances.push(format!("{id}[\"{export}\"]")),
            Some(None) => instances.push(id.clone()),
            None => {}
        }
        if let Some(f) = p.func {
            funcs.push(format!("{id}.{f}"));
        }
        bound.push(id);
    }
    for k in 0..u.int_in_range(0..=2)? {
        let from = u.choose(&bound)?.clone();
        doc.push_str(&match u.int_in_range(0..=4)? {
            0 if !funcs.is_empty() => format!("export {} as \"f{k}\";\n", u.choose(&funcs)?),
            1 => format!("export {from}[\"{}\"] as \"e{k}\";\n", u.choose(&NAMES)?),
            2 => format!("export {from} as \"i{k}\";\n"),
            3 => format!("export {from}...;\n"),
            _ => format!("export {from}.run;\n"),
        });
    }
    // A stray character, now and then, anywhere.
    if u.ratio(1, 8)? {
        let at = u.choose_index(doc.len() + 1)?;
        let at = (0..=at).rev().find(|&k| doc.is_char_boundary(k)).unwrap_or(0);
        let c = *u.choose(&['{', '}', ';', '.', '"', '@', ':', 'x', ' ', '\u{e9}'])?;
        doc.insert(at, c);
    }
    Ok(doc)
}

/// Arbitrary bytes (behind a module's or a component's header when they
/// have none) through `size` and `map`: the size tree attributes every
/// byte once whatever the input (leaves sum to its length, each parent to
/// its children), the by-source view sums to its root, and `map` with a
/// transformation that returns each module unchanged either refuses the
/// input in one line or gives it back byte for byte.
pub fn size_map(data: &[u8]) -> Outcome {
    const HEADERS: [&[u8]; 2] = [b"\0asm\x01\0\0\0", b"\0asm\x0d\0\x01\0"];
    let bytes = if data.starts_with(b"\0asm") {
        data.to_vec()
    } else {
        let header = HEADERS[data.first().map_or(0, |b| (b & 1) as usize)];
        [header, data].concat()
    };
    let tree = weld_linker::size_tree("fuzz", &bytes);
    fn sums(n: &weld_linker::SizeNode) {
        if !n.children.is_empty() {
            let total: u64 = n.children.iter().map(|c| c.bytes).sum();
            assert_eq!(n.bytes, total, "size: `{}` is not the sum of its parts", n.name);
            n.children.iter().for_each(sums);
        }
    }
    assert_eq!(
        tree.leaf_bytes(),
        bytes.len() as u64,
        "size: the leaves do not sum to the file"
    );
    sums(&tree);
    if let Some(source) = weld_linker::size_by_source("fuzz", &bytes) {
        sums(&source);
    }
    if wasmparser::Parser::is_component(&bytes) {
        match weld_linker::map_modules(&Default::default(), "fuzz", &bytes, |_, m| Ok(m.to_vec())) {
            Ok(out) => assert_eq!(
                out.bytes, bytes,
                "map with an identity transformation changed the component"
            ),
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains('\n'), "a multi-line error: {text}");
            }
        }
    }
    Outcome::Reached
}
