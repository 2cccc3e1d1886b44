//! Criterion benches of `weld fuse`, per stage and whole, on real inputs:
//! the canvaskit split sets of `../shared/bench-data` and the three real
//! modules of `corpus/fetch` (swc-wasm, canvaskit-profiling, ruby-wasi).
//! Missing inputs are skipped with a message. The `floor` bench reads every
//! operator of the inputs and nothing else: DESIGN §7 wants fuse within 2x.
//!
//!     cargo bench --bench stages            (all)
//!     cargo bench --bench stages -- split16  (one workload)

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use weld_format::{InputSpec, Inputs, Survey};
use weld_linker::graph::ModuleGraph;
use weld_linker::resolve::{resolve, ResolveOptions};
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
                weld_linker::survey_all(&inputs).unwrap().len()
            })
        });
        let inputs = Inputs::load(&specs).unwrap();
        let surveys: Vec<Survey<'_>> = weld_linker::survey_all(&inputs).unwrap();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let files: Vec<&str> = inputs.iter().map(|i| i.display.as_str()).collect();
        g.bench_function("resolve+graph", |b| {
            b.iter(|| {
                let links = resolve(&ResolveOptions::default(), &names, &surveys);
                ModuleGraph::build(&links).edges().count()
            })
        });
        let links = resolve(&ResolveOptions::default(), &names, &surveys);
        let order = ModuleGraph::build(&links)
            .order(|_| String::new(), |_, _| String::new())
            .unwrap();
        let modules: Vec<_> = surveys.iter().map(|s| s.as_module().unwrap()).collect();
        g.bench_function("plan", |b| {
            b.iter(|| {
                weld_linker::plan::plan(&files, &names, &modules, &links, order.clone())
                    .unwrap()
                    .funcs
                    .len()
            })
        });
        let plan = weld_linker::plan::plan(&files, &names, &modules, &links, order.clone()).unwrap();
        g.bench_function("rewrite bodies", |b| {
            b.iter(|| {
                weld_linker::code::rewrite_all(&plan, &modules, &files)
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
            b.iter(|| weld_linker::fuse::validate(&bytes).unwrap())
        });
        g.finish();
    }
}

fn read_every_operator(files: &[Vec<u8>]) -> usize {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|bytes| {
            let bodies: Vec<_> = wasmparser::Parser::new(0)
                .parse_all(bytes)
                .filter_map(|p| match p.unwrap() {
                    wasmparser::Payload::CodeSectionEntry(b) => Some(b),
                    _ => None,
                })
                .collect();
            bodies
                .par_iter()
                .map(|b| {
                    let mut r = b.get_operators_reader().unwrap();
                    let mut n = 0;
                    while !r.eof() {
                        r.read().unwrap();
                        n += 1;
                    }
                    n
                })
                .sum::<usize>()
        })
        .sum()
}

criterion_group!(benches, stages);
criterion_main!(benches);
