//! Criterion benches of `weld fuse`, per stage and whole, on real inputs:
//! the canvaskit split sets of `../shared/bench-data` and the three real
//! modules of `corpus/fetch` (swc-wasm, canvaskit-profiling, ruby-wasi);
//! of `compose` on 200 generated components; of `split` and `bundle` on the
//! four real jco components.
//! Missing inputs are skipped with a message. The `floor` bench reads every
//! operator of the inputs and nothing else, for comparison (DESIGN §7 sets
//! fuse's target against `wasm-tools validate` of the output).
//!
//!     cargo bench --bench stages            (all)
//!     cargo bench --bench stages -- split16  (one workload)

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "tools/read_operators.rs"]
mod read_operators;
use read_operators::read_every_operator;
use weld_format::{InputSpec, Inputs, Survey};
use weld_linker::stages::resolve;
use weld_linker::stages::ModuleGraph;
use weld_linker::ResolveOptions;
use weld_linker::{FuseOptions, Icf, OnConflict};

fn workloads() -> Vec<(String, Vec<InputSpec>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for n in [16, 256] {
        let dir = root.join(format!("../shared/bench-data/canvaskit-split{n}"));
        if !dir.exists() {
            eprintln!("skipping split{n}: {} not found", dir.display());
            continue;
        }
        let mut specs = vec![InputSpec {
            name: "primary".into(),
            path: dir.join("primary.wasm"),
        }];
        specs.extend((0..n).map(|i| InputSpec {
            name: format!("m{i}"),
            path: dir.join(format!("m{i}.wasm")),
        }));
        out.push((format!("split{n}"), specs));
    }
    let cache = std::env::var_os("WELD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/weld"))
        .join("real");
    let three: Vec<InputSpec> = ["swc-wasm", "canvaskit-profiling", "ruby-wasi"]
        .iter()
        .map(|id| InputSpec {
            name: id.to_string(),
            path: cache.join(format!("{id}.wasm")),
        })
        .collect();
    if three.iter().all(|s| s.path.exists()) {
        out.push(("three-real".into(), three));
    } else {
        eprintln!("skipping three-real: run corpus/fetch swc-wasm canvaskit-profiling ruby-wasi");
    }
    out
}

fn stages(c: &mut Criterion) {
    for (name, specs) in workloads() {
        let mut g = c.benchmark_group(&name);
        g.sample_size(10);
        // The floor for any rewriting linker: read every operator of the
        // inputs (wasmparser, bodies in parallel), nothing else.
        let raw: Vec<Vec<u8>> = specs.iter().map(|s| std::fs::read(&s.path).unwrap()).collect();
        g.bench_function("floor: read every operator", |b| {
            b.iter(|| read_every_operator(&raw))
        });
        g.bench_function("load+survey", |b| {
            b.iter(|| {
                let inputs = Inputs::load(&specs).unwrap();
                weld_linker::stages::survey_all(&inputs).unwrap().len()
            })
        });
        let inputs = Inputs::load(&specs).unwrap();
        let owned: Vec<Survey<'_>> = weld_linker::stages::survey_all(&inputs).unwrap();
        let surveys: Vec<&Survey<'_>> = owned.iter().collect();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let files: Vec<&str> = inputs.iter().map(|i| i.display.as_str()).collect();
        g.bench_function("resolve+graph", |b| {
            b.iter(|| {
                let links = resolve(&ResolveOptions::default(), &names, &surveys);
                ModuleGraph::build(&links.targets).edges().count()
            })
        });
        let links = resolve(&ResolveOptions::default(), &names, &surveys);
        let order = ModuleGraph::build(&links.targets)
            .order(|_| String::new(), |_, _| String::new())
            .unwrap();
        let modules: Vec<_> = surveys.iter().map(|s| s.as_module().unwrap()).collect();
        g.bench_function("plan", |b| {
            b.iter(|| {
                weld_linker::stages::plan(&files, &names, &modules, &links, order.clone())
                    .unwrap()
                    .funcs
                    .len()
            })
        });
        let plan = weld_linker::stages::plan(&files, &names, &modules, &links, order.clone()).unwrap();
        g.bench_function("rewrite bodies", |b| {
            b.iter(|| {
                weld_linker::stages::rewrite_all(&plan, &modules, &files)
                    .unwrap()
                    .len()
            })
        });
        for (label, icf, validate) in [
            ("fuse", Icf::Safe, true),
            ("fuse --no-validate", Icf::Safe, false),
            ("fuse --icf none --no-validate", Icf::None, false),
        ] {
            let opts = FuseOptions {
                icf,
                validate,
                on_conflict: OnConflict::Rename,
                ..Default::default()
            };
            g.bench_function(label, |b| {
                b.iter(|| weld_linker::fuse(&opts, &inputs).unwrap().bytes.len())
            });
        }
        let bytes = weld_linker::fuse(
            &FuseOptions {
                on_conflict: OnConflict::Rename,
                ..Default::default()
            },
            &inputs,
        )
        .unwrap()
        .bytes;
        g.bench_function("validate output", |b| {
            b.iter(|| weld_linker::stages::validate_module(&bytes).unwrap())
        });
        g.finish();
    }
}

/// compose on 200 generated components (`benches/gen-components`), per
/// stage; split and bundle on the four real jco components (if fetched).
fn components(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new(root.join("benches/gen-components"))
        .arg(tmp.path())
        .arg("200")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        let chain: Vec<(String, Vec<u8>)> = (0..200)
            .map(|k| {
                let text = std::fs::read_to_string(tmp.path().join(format!("chain/c{k}.wat"))).unwrap();
                (format!("c{k}"), wat::parse_str(text).unwrap())
            })
            .collect();
        let inputs = Inputs::from_memory(chain.clone()).unwrap();
        let mut g = c.benchmark_group("compose-chain200");
        g.sample_size(20);
        let bytes: Vec<&[u8]> = inputs.iter().map(|i| i.bytes()).collect();
        g.bench_function("probe (types of all children)", |b| {
            b.iter(|| weld_linker::stages::probe(&bytes).unwrap().components.len())
        });
        let opts = weld_linker::ComposeOptions::default();
        g.bench_function("compose", |b| {
            b.iter(|| weld_linker::compose(&opts, &inputs).unwrap().bytes.len())
        });
        let out = weld_linker::compose(&opts, &inputs).unwrap().bytes;
        g.bench_function("validate output", |b| {
            b.iter(|| weld_linker::stages::validate(&out, true).unwrap())
        });
        g.finish();
    } else {
        eprintln!("skipping compose-chain200: benches/gen-components did not run");
    }

    let cache = std::env::var_os("WELD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/weld"))
        .join("real");
    let apps: Vec<(String, Vec<u8>)> = [
        "jco-1.0.3-js-component-bindgen",
        "jco-1.0.3-wasm-tools",
        "jco-0.14.2-js-component-bindgen",
        "jco-0.14.2-wasm-tools",
    ]
    .iter()
    .filter_map(|id| {
        Some((
            id.to_string(),
            std::fs::read(cache.join(format!("{id}.wasm"))).ok()?,
        ))
    })
    .collect();
    if apps.len() < 4 {
        eprintln!("skipping split/bundle: run corpus/fetch for the jco components");
        return;
    }
    let mut g = c.benchmark_group("split-bundle-jco4");
    g.sample_size(10);
    let opts = weld_linker::SplitOptions::default();
    g.bench_function("floor: sha256 of the inputs", |b| {
        b.iter(|| {
            apps.iter()
                .map(|(_, a)| weld_format::digest::sha256(a)[0] as usize)
                .sum::<usize>()
        })
    });
    let inputs = Inputs::from_memory(apps.clone()).unwrap();
    g.bench_function("split_apps into a fresh OCI directory", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = weld_linker::OciDir::open_or_create(dir.path()).unwrap();
                weld_linker::split_apps(&opts, &inputs, &store).unwrap().len()
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function("split_apps into memory", |b| {
        b.iter(|| {
            let store = weld_linker::MemoryStore::new();
            weld_linker::split_apps(&opts, &inputs, &store).unwrap().len()
        })
    });
    let store = weld_linker::MemoryStore::new();
    let roots: Vec<Vec<u8>> = weld_linker::split_apps(&opts, &inputs, &store)
        .unwrap()
        .into_iter()
        .map(|s| s.root)
        .collect();
    for (label, validate) in [("bundle", true), ("bundle --no-validate", false)] {
        let bopts = weld_linker::BundleOptions { validate };
        g.bench_function(label, |b| {
            b.iter(|| {
                roots
                    .iter()
                    .map(|r| {
                        weld_linker::bundle(&bopts, "root", r, &store)
                            .unwrap()
                            .bytes
                            .len()
                    })
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages, components);
criterion_main!(benches);
