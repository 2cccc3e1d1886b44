//! Differential execution in wasmi: the inputs instantiated one by one (in
//! instantiation order, imports wired by name) against the fused module
//! alone. Every exported function is called with the same arguments; results,
//! traps, the log of host calls and every exported memory are compared.

use std::sync::{Arc, Mutex};

use wasmi::{Config, Engine, Extern, Func, Linker, Module, Store, Val};

/// What a run observed.
#[derive(Debug, PartialEq, Eq)]
pub struct Observed {
    /// Host calls in order: `module.name(args)`, plus instantiation results.
    pub log: Vec<String>,
    /// Export name -> result or trap, in call order.
    pub calls: Vec<(String, String)>,
    /// Exported memories after all calls: name, size and SHA-256 of the bytes.
    pub memories: Vec<(String, usize, String)>,
}

/// Fuel for each run; a run that runs out is not comparable.
pub const FUEL: u64 = 2_000_000;

fn engine() -> Engine {
    let mut c = Config::default();
    c.consume_fuel(true);
    c.wasm_multi_memory(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_tail_call(true);
    c.wasm_extended_const(true)
        .wasm_multi_value(true)
        .wasm_memory64(true);
    Engine::new(&c)
}

type Log = Arc<Mutex<Vec<String>>>;

fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Defines a logging stub for every import of `module` whose module name is
/// not one of `inputs` (host imports), returning zeros.
fn host_stubs(linker: &mut Linker<()>, module: &Module, inputs: &[&str], log: &Log) {
    for imp in module.imports() {
        if inputs.contains(&imp.module()) {
            continue;
        }
        if let wasmi::ExternType::Func(ty) = imp.ty() {
            let log = log.clone();
            let label = format!("{}.{}", imp.module(), imp.name());
            let results: Vec<wasmi::ValType> = ty.results().to_vec();
            let _ = linker.func_new(imp.module(), imp.name(), ty.clone(), move |_c, params, out| {
                log.lock().unwrap().push(format!("{label}{:?}", vals(params)));
                for (o, t) in out.iter_mut().zip(&results) {
                    *o = Val::default_for_ty(*t);
                }
                Ok(())
            });
        }
    }
}

fn vals(v: &[Val]) -> Vec<String> {
    v.iter()
        .map(|x| match x {
            Val::I32(i) => format!("i32:{i}"),
            Val::I64(i) => format!("i64:{i}"),
            Val::F32(f) => format!("f32:{:#x}", f.to_bits()),
            Val::F64(f) => format!("f64:{:#x}", f.to_bits()),
            Val::V128(v) => format!("v128:{:#x}", v.as_u128()),
            Val::FuncRef(f) => format!("funcref:{}", if f.is_null() { "null" } else { "some" }),
            Val::ExternRef(r) => format!("externref:{}", if r.is_null() { "null" } else { "some" }),
        })
        .collect()
}

/// Arguments for a call: small, distinct, deterministic.
fn args_for(ty: &wasmi::FuncType, round: i32) -> Option<Vec<Val>> {
    ty.params()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = 3 + i as i32 * 5 + round * 11;
            Some(match t {
                wasmi::ValType::I32 => Val::I32(n),
                wasmi::ValType::I64 => Val::I64(n as i64),
                wasmi::ValType::F32 => Val::F32((n as f32).into()),
                wasmi::ValType::F64 => Val::F64((n as f64).into()),
                _ => return None,
            })
        })
        .collect()
}

fn call(store: &mut Store<()>, f: Func, args: &[Val]) -> String {
    let ty = f.ty(&*store);
    let mut out: Vec<Val> = ty.results().iter().map(|t| Val::default_for_ty(*t)).collect();
    match f.call(&mut *store, args, &mut out) {
        Ok(()) => format!("ok {:?}", vals(&out)),
        Err(e) => format!("trap {:?}", e.as_trap_code()),
    }
}

/// Every export of every input: (input, kind, name in the input, name in the
/// fused module). Names taken by an earlier input get `<input>.<name>`, as
/// `--on-conflict rename` does.
pub fn exports(inputs: &[(&str, &[u8])]) -> Vec<(usize, wasmparser::ExternalKind, String, String)> {
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, (input, bytes)) in inputs.iter().enumerate() {
        for p in wasmparser::Parser::new(0).parse_all(bytes) {
            if let Ok(wasmparser::Payload::ExportSection(r)) = p {
                for e in r.into_iter().flatten() {
                    let mut fused = e.name.to_string();
                    if !taken.insert(fused.clone()) {
                        fused = format!("{input}.{}", e.name);
                        taken.insert(fused.clone());
                    }
                    out.push((i, e.kind, e.name.to_string(), fused));
                }
            }
        }
    }
    out
}

/// The calls to make: every function export of every input, in input order:
/// (input, name in the input, name in the fused module).
pub fn call_plan(inputs: &[(&str, &[u8])]) -> Vec<(usize, String, String)> {
    exports(inputs)
        .into_iter()
        .filter(|e| e.1 == wasmparser::ExternalKind::Func)
        .map(|(i, _, name, fused)| (i, name, fused))
        .collect()
}

/// What a run observed when instantiation failed.
fn failed(log: &Log) -> Observed {
    log.lock().unwrap().push("instantiation failed".to_string());
    Observed {
        log: log.lock().unwrap().clone(),
        calls: vec![],
        memories: vec![],
    }
}

/// Calls every function export of every input twice (state carries over) and
/// reads every exported memory. `get(store, input, name, fused_name)` finds
/// an export in this run.
fn observe(
    store: &mut Store<()>,
    inputs: &[(&str, &[u8])],
    log: &Log,
    get: impl Fn(&Store<()>, usize, &str, &str) -> Option<Extern>,
) -> Observed {
    let mut calls = Vec::new();
    for round in 0..2 {
        for (k, name, fused) in call_plan(inputs) {
            let f = get(store, k, &name, &fused)
                .and_then(Extern::into_func)
                .unwrap_or_else(|| panic!("no function export {fused}"));
            let ty = f.ty(&*store);
            if let Some(args) = args_for(&ty, round) {
                calls.push((fused, call(store, f, &args)));
            }
        }
    }
    let mut memories = Vec::new();
    for (k, kind, name, fused) in exports(inputs) {
        if kind == wasmparser::ExternalKind::Memory {
            // (A missing one differs from any run that has it; a run
            // compared by its calls only may drop it.)
            match get(store, k, &name, &fused).and_then(Extern::into_memory) {
                Some(m) => memories.push((fused, m.data(&*store).len(), digest(m.data(&*store)))),
                None => memories.push((fused, 0, "missing".into())),
            }
        }
    }
    memories.sort();
    let log = log.lock().unwrap().clone();
    Observed { log, calls, memories }
}

/// Runs the inputs one by one. `order` is the instantiation order (indices
/// into `inputs`).
/// Whether wasmi compiles `bytes` (it lacks GC, exceptions and SIMD): a
/// differential run needs every module to.
pub fn compiles(bytes: &[u8]) -> bool {
    Module::new(&engine(), bytes).is_ok()
}

/// Compares two runs: calls up to the first that ran out of fuel in either
/// (fuel spent by a synthesized start differs by a few units), memories and
/// logs only when neither ran out. Returns how many calls agree, or the
/// first difference.
pub fn same(want: &Observed, got: &Observed) -> Result<usize, String> {
    let oof = |o: &Observed| o.calls.iter().position(|(_, r)| r.contains("OutOfFuel"));
    let cut = [oof(want), oof(got)].into_iter().flatten().min();
    let n = cut.unwrap_or(want.calls.len().max(got.calls.len()));
    let (w, g) = (
        &want.calls[..n.min(want.calls.len())],
        &got.calls[..n.min(got.calls.len())],
    );
    let same = if cut.is_some() { w == g } else { want == got };
    if same {
        Ok(w.len())
    } else {
        Err(format!("separately: {want:?}\n  fused:      {got:?}"))
    }
}

/// [`same`] for the calls only (a merged memory is larger than any input's,
/// so exported memories are not compared).
pub fn same_calls(want: &Observed, got: &Observed) -> Result<usize, String> {
    let strip = |o: &Observed| Observed {
        log: o.log.clone(),
        calls: o.calls.clone(),
        memories: Vec::new(),
    };
    same(&strip(want), &strip(got))
}

pub fn run_separately(inputs: &[(&str, &[u8])], order: &[usize]) -> Observed {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    store.set_fuel(FUEL).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    let log: Log = Arc::default();
    let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    let mut instances = vec![None; inputs.len()];
    for &k in order {
        let module = Module::new(&engine, inputs[k].1).expect("input compiles");
        host_stubs(&mut linker, &module, &names, &log);
        match linker.instantiate_and_start(&mut store, &module) {
            Ok(inst) => {
                linker.instance(&mut store, inputs[k].0, inst).unwrap();
                instances[k] = Some(inst);
            }
            Err(_) => return failed(&log),
        }
    }
    observe(&mut store, inputs, &log, |s, k, name, _| {
        instances[k]?.get_export(s, name)
    })
}

/// Runs the fused module, calling the same exports as [`run_separately`].
pub fn run_fused(inputs: &[(&str, &[u8])], fused: &[u8]) -> Observed {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    store.set_fuel(FUEL).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    let log: Log = Arc::default();
    let module = Module::new(&engine, fused).expect("fused module compiles");
    host_stubs(&mut linker, &module, &[], &log);
    let inst = match linker.instantiate_and_start(&mut store, &module) {
        Ok(i) => i,
        Err(_) => return failed(&log),
    };
    observe(&mut store, inputs, &log, |s, _, _, fused| {
        inst.get_export(s, fused)
    })
}
