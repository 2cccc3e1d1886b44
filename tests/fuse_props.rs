//! Property tests of `weld fuse` on generated modules (wasm-smith, driven by
//! proptest): module `in1` is generated against the exports of module `in0`,
//! so real links happen. For every case the fused module validates, is the
//! same bytes on every run, and behaves like the two inputs instantiated one
//! by one (wasmi: results, traps, host calls, exported memories). Bounded so
//! the suite stays fast; `fuzz/` runs the same check for longer.

mod common;

use arbitrary::Unstructured;
use common::exec::{run_fused, run_separately, Observed};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use weld_format::Inputs;
use weld_linker::{FuseOptions, Icf, OnConflict};

/// Features wasmi runs; everything else off.
fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        exceptions_enabled: false,
        gc_enabled: false,
        threads_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        wide_arithmetic_enabled: false,
        memory64_enabled: false,
        compact_imports_enabled: false,
        custom_page_sizes_enabled: false,
        max_memories: 2,
        max_tables: 2,
        max_funcs: 12,
        max_instructions: 40,
        max_memory32_bytes: 1 << 18,
        max_table_elements: 200,
        max_data_segments: 4,
        max_element_segments: 4,
        max_globals: 6,
        max_types: 10,
        max_tags: 0,
        max_imports: 0,
        min_funcs: 2,
        export_everything: true,
        ..Default::default()
    }
}

/// A module whose imports are `provider`'s exports, named `from`: the
/// "available imports" for wasm-smith. `provider` has no imports, so every
/// export index is a definition.
fn imports_of(from: &str, provider: &[u8]) -> Vec<u8> {
    let s = weld_format::survey("p", provider).unwrap();
    let m = s.as_module().unwrap();
    let mut rt = RoundtripReencoder;
    let mut types = wasm_encoder::TypeSection::new();
    for st in &m.types {
        types.ty().subtype(&rt.sub_type(st.clone()).unwrap());
    }
    let mut imports = wasm_encoder::ImportSection::new();
    for e in &m.exports {
        let i = e.index as usize;
        let ty = match e.kind {
            wasmparser::ExternalKind::Func => wasm_encoder::EntityType::Function(m.func_types[i].0),
            wasmparser::ExternalKind::Table => {
                wasm_encoder::EntityType::Table(rt.table_type(m.tables[i].ty).unwrap())
            }
            wasmparser::ExternalKind::Memory => {
                wasm_encoder::EntityType::Memory(rt.memory_type(m.memories[i]).unwrap())
            }
            wasmparser::ExternalKind::Global => {
                wasm_encoder::EntityType::Global(rt.global_type(m.globals[i].ty).unwrap())
            }
            _ => continue,
        };
        imports.import(from, e.name, ty);
    }
    let mut module = wasm_encoder::Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// Two linked modules from raw bytes, or `None` when the bytes run out.
fn linked_pair(seed: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut u = Unstructured::new(seed);
    let a = wasm_smith::Module::new(config(), &mut u).ok()?.to_bytes();
    let mut b_cfg = config();
    b_cfg.max_imports = 20;
    b_cfg.available_imports = Some(imports_of("in0", &a));
    let b = wasm_smith::Module::new(b_cfg, &mut u).ok()?.to_bytes();
    Some((a, b))
}

fn fuse_with(icf: Icf, set: &[(&str, &[u8])]) -> weld_linker::Fused {
    let inputs = Inputs::from_memory(set.iter().map(|(n, b)| (n.to_string(), b.to_vec()))).unwrap();
    let opts = FuseOptions {
        on_conflict: OnConflict::Rename,
        icf,
        ..Default::default()
    };
    weld_linker::fuse(&opts, &inputs).unwrap_or_else(|e| panic!("fuse failed: {e}"))
}

fn fuse(set: &[(&str, &[u8])]) -> Vec<u8> {
    fuse_with(Icf::Safe, set).bytes.into_vec()
}

/// Keeps a failing case's files for inspection; returns their directory.
fn keep_failure(files: &[(&str, &[u8])]) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuse_props_failure");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir.display().to_string()
}

/// Compares two runs. Calls are compared up to the first call that ran out
/// of fuel in either run (fuel spent by the synthesized start differs by a
/// few units, so the exact point of exhaustion may differ); memories and logs
/// only when neither ran out. Returns the number of calls compared.
fn compare(want: &Observed, got: &Observed, keep: &[(&str, &[u8])]) -> Result<usize, TestCaseError> {
    common::exec::same(want, got).map_err(|diff| {
        let dir = keep_failure(keep);
        TestCaseError::fail(format!(
            "fused module behaves differently (inputs and output kept in {dir})\n  {diff}"
        ))
    })
}

/// Runs `cases` generated cases through `check`; returns how many calls were
/// compared in all, so a test can insist the generator really exercised code.
fn run_cases(
    cases: u32,
    sizes: std::ops::Range<usize>,
    check: impl Fn(&[u8]) -> Result<usize, TestCaseError>,
) -> usize {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let total = std::cell::Cell::new(0usize);
    // A fixed seed: the same cases on every run, so CI is reproducible.
    // WELD_PROPTEST_CASES runs more cases (a longer local hunt).
    let cases = std::env::var("WELD_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&prop::collection::vec(any::<u8>(), sizes), |seed| {
        total.set(total.get() + check(&seed)?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{} calls compared", total.get());
    total.get()
}

#[test]
fn fused_pair_validates_and_behaves_like_inputs() {
    let compared = run_cases(64, 2048..16384, |seed| {
        let Some((a, b)) = linked_pair(seed) else {
            return Ok(0);
        };
        let set = [("in0", a.as_slice()), ("in1", b.as_slice())];
        let fused = fuse(&set);
        if let Err(e) =
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&fused)
        {
            let dir = keep_failure(&[("in0.wasm", &a), ("in1.wasm", &b), ("fused.wasm", &fused)]);
            return Err(TestCaseError::fail(format!(
                "invalid output: {e} (kept in {dir})"
            )));
        }
        prop_assert_eq!(&fused, &fuse(&set), "fuse is deterministic");
        let want = run_separately(&set, &[0, 1]);
        let got = run_fused(&set, &fused);
        compare(
            &want,
            &got,
            &[("in0.wasm", &a), ("in1.wasm", &b), ("fused.wasm", &fused)],
        )
    });
    assert!(
        compared >= 100,
        "only {compared} calls compared: the generator exercises too little"
    );
}

#[test]
fn single_module_fuse_is_semantically_the_identity() {
    let compared = run_cases(64, 2048..16384, |seed| {
        let mut u = Unstructured::new(seed);
        let Ok(m) = wasm_smith::Module::new(config(), &mut u) else {
            return Ok(0);
        };
        let a = m.to_bytes();
        let set = [("in0", a.as_slice())];
        let fused = fuse(&set);
        let want = run_separately(&set, &[0]);
        let got = run_fused(&set, &fused);
        compare(&want, &got, &[("in0.wasm", &a), ("fused.wasm", &fused)])
    });
    assert!(
        compared >= 40,
        "only {compared} calls compared: the generator exercises too little"
    );
}

/// A module fused with a copy of itself under `--icf all` validates and
/// behaves like the two instantiated separately.
#[test]
fn folding_a_module_into_its_copy_behaves_like_both() {
    let folds = std::cell::Cell::new(0usize);
    let compared = run_cases(48, 2048..16384, |seed| {
        let mut u = Unstructured::new(seed);
        // As little state of its own as wasm-smith allows, so the copy's
        // functions can fold into the original's.
        let pure = wasm_smith::Config {
            max_memories: 0,
            max_tables: 0,
            max_globals: 0,
            max_data_segments: 0,
            max_element_segments: 0,
            ..config()
        };
        let Ok(m) = wasm_smith::Module::new(pure, &mut u) else {
            return Ok(0);
        };
        let a = m.to_bytes();
        let set = [("in0", a.as_slice()), ("in1", a.as_slice())];
        let fused = fuse_with(Icf::All, &set);
        folds.set(folds.get() + fused.map.folded.len());
        if let Err(e) = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&fused.bytes)
        {
            let dir = keep_failure(&[("in0.wasm", &a), ("fused.wasm", &fused.bytes)]);
            return Err(TestCaseError::fail(format!(
                "invalid output: {e} (kept in {dir})"
            )));
        }
        let want = run_separately(&set, &[0, 1]);
        let got = run_fused(&set, &fused.bytes);
        compare(&want, &got, &[("in0.wasm", &a), ("fused.wasm", &fused.bytes)])
    });
    assert!(compared >= 40, "only {compared} calls compared");
    // wasm-smith gives most functions globals of their own, so few fold here;
    // `corpus/demo/icf` is the differential test with many folds.
    eprintln!("{} functions folded", folds.get());
}

/// Three modules with a memory and a table each, fused with every memory
/// and every table merged into one (only their functions stay exported):
/// either refused with a reason (the options' rules: a generated module may
/// grow its memory, shared or 64-bit ones are off here), or valid and
/// making the same calls give the same results and traps as the inputs
/// instantiated one by one.
#[test]
fn merged_memories_and_tables_behave_like_inputs() {
    let merged = std::cell::Cell::new(0usize);
    let refusals = std::cell::RefCell::new(Vec::new());
    let compared = run_cases(64, 2048..16384, |seed| {
        let mut u = Unstructured::new(seed);
        let cfg = wasm_smith::Config {
            min_memories: 1,
            max_memories: 1,
            min_tables: 1,
            max_tables: 1,
            ..config()
        };
        let mut modules = Vec::new();
        for _ in 0..3 {
            match wasm_smith::Module::new(cfg.clone(), &mut u) {
                Ok(m) => modules.push(m.to_bytes()),
                Err(_) => return Ok(0),
            }
        }
        let names = ["in0", "in1", "in2"];
        let set: Vec<(&str, &[u8])> = names
            .iter()
            .copied()
            .zip(modules.iter().map(Vec::as_slice))
            .collect();
        let functions = common::exec::exports(&set)
            .into_iter()
            .filter(|e| e.1 == wasmparser::ExternalKind::Func)
            .map(|e| e.3)
            .collect();
        let inputs = Inputs::from_memory(set.iter().map(|(n, b)| (n.to_string(), b.to_vec()))).unwrap();
        // Tables merge when they hold one type (wasm-smith mixes funcref
        // and externref tables); memories always.
        let elements: std::collections::BTreeSet<String> = modules
            .iter()
            .flat_map(|m| {
                wasmparser::Parser::new(0).parse_all(m).filter_map(|p| match p {
                    Ok(wasmparser::Payload::TableSection(r)) => Some(
                        r.into_iter()
                            .map(|t| format!("{:?}", t.unwrap().ty.element_type))
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
            })
            .flatten()
            .collect();
        let opts = FuseOptions {
            on_conflict: OnConflict::Rename,
            exports: Some(functions),
            merge_memories: true,
            merge_tables: elements.len() == 1,
            ..Default::default()
        };
        let fused = match weld_linker::fuse(&opts, &inputs) {
            Ok(f) => f,
            Err(weld_linker::Error::Fuse(
                e @ (weld_linker::FuseError::MergeMemories(_) | weld_linker::FuseError::MergeTables(_)),
            )) => {
                refusals.borrow_mut().push(e.to_string());
                return Ok(0);
            }
            Err(e) => return Err(TestCaseError::fail(format!("fuse failed: {e}"))),
        };
        merged.set(merged.get() + 1);
        let keep: Vec<(&str, &[u8])> = vec![
            ("in0.wasm", &modules[0]),
            ("in1.wasm", &modules[1]),
            ("in2.wasm", &modules[2]),
            ("fused.wasm", &fused.bytes),
        ];
        if let Err(e) = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&fused.bytes)
        {
            let dir = keep_failure(&keep);
            return Err(TestCaseError::fail(format!(
                "invalid output: {e} (kept in {dir})"
            )));
        }
        let want = run_separately(&set, &[0, 1, 2]);
        let got = run_fused(&set, &fused.bytes);
        common::exec::same_calls(&want, &got).map_err(|diff| {
            let dir = keep_failure(&keep);
            TestCaseError::fail(format!(
                "merged module behaves differently (kept in {dir})\n  {diff}"
            ))
        })
    });
    let refusals = refusals.into_inner();
    eprintln!(
        "{} sets merged, {} refused; first refusals: {:?}",
        merged.get(),
        refusals.len(),
        &refusals[..refusals.len().min(5)]
    );
    assert!(merged.get() >= 32, "only {} of 64 sets merged", merged.get());
    assert!(compared >= 60, "only {compared} calls compared");
}
