//! Stage 4 of `weld link`: bind every import of every library, and build
//! the module the bindings need, `weld:link`, which the fuse stages then
//! place first. It defines what a loader would provide: the memory, the
//! table, `__stack_pointer`, each library's `__memory_base` and
//! `__table_base` as constants, the GOT (`GOT.mem.X` = the address of X,
//! `GOT.func.F` = a table slot holding F, one slot per function), the
//! trapping stubs, and the init function (data relocations and
//! constructors, dependencies first, then MAIN's `_start` or
//! `_initialize`). Imports of `env` bind to another library's export (the
//! first definition in load order); other modules stay imports.

use std::collections::HashMap;

use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Encode, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, GlobalSection, GlobalType, ImportSection, Instruction, MemorySection,
    MemoryType, Module, RefType, TableSection, TableType, TypeSection, ValType,
};
use wasmparser::{CompositeInnerType, ExternalKind, Operator, TypeRef};
use weld_format::dylink::Dylink;
use weld_format::survey::ModuleSurvey;
use weld_format::InputId;

use super::layout::Layout;
use super::symbols::{Def, Symbols};
use super::{GotFunc, GotMem, LinkError, Undefined};
use crate::resolve::{Rule, Target};

/// A function of `weld:link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FuncRef {
    /// An import (a library's export), by position.
    Import(u32),
    /// A trapping stub, by position.
    Stub(u32),
    /// The init function.
    Init,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Func(FuncRef),
    Global(u32),
    Memory,
    Table,
}

type Sig = (Vec<ValType>, Vec<ValType>);

/// The module `weld:link`, as the binder fills it.
#[derive(Default)]
struct Synth {
    types: Vec<Sig>,
    type_key: HashMap<Sig, u32>,
    imports: Vec<(String, String, u32)>,
    import_key: HashMap<(InputId, u32), u32>,
    import_defs: Vec<Def>,
    stubs: Vec<(String, u32)>,
    stub_key: HashMap<(String, u32), u32>,
    globals: Vec<(bool, i32)>,
    global_key: HashMap<(String, bool), u32>,
    exports: Vec<(String, Item)>,
    export_key: HashMap<String, u32>,
    slots: Vec<FuncRef>,
    slot_key: HashMap<(InputId, u32), u32>,
    init: Vec<FuncRef>,
}

/// What binding produced.
pub(crate) struct Bound {
    /// The bytes of `weld:link`.
    pub synth: Vec<u8>,
    /// Per fuse input (0 = `weld:link`, then input k at k + 1), the target
    /// of each import.
    pub targets: Vec<Vec<Target>>,
    /// The exports of the linked module (names in `weld:link`).
    pub public: Vec<String>,
    /// Reports.
    pub got_mem: Vec<GotMem>,
    pub got_func: Vec<GotFunc>,
    pub stubs: Vec<String>,
    pub table_size: u32,
}

/// What the binder reads.
pub(crate) struct BindCx<'r, 'a> {
    pub files: &'r [&'r str],
    pub names: &'r [&'r str],
    pub libs: &'r [&'r ModuleSurvey<'a>],
    pub dylink: &'r [Dylink<'a>],
    pub symbols: &'r Symbols<'a>,
    pub layout: &'r Layout,
    pub load_order: &'r [InputId],
    pub init_order: &'r [InputId],
    pub stub_missing: bool,
}

fn sig_of(m: &ModuleSurvey<'_>, type_index: u32) -> Result<Sig, String> {
    let st = m
        .types
        .get(type_index as usize)
        .ok_or_else(|| format!("type {type_index} out of range"))?;
    let CompositeInnerType::Func(ft) = &st.composite_type.inner else {
        return Err(format!("type {type_index} is not a function type"));
    };
    let conv = |v: &wasmparser::ValType| -> Result<ValType, String> {
        if let wasmparser::ValType::Ref(r) = v {
            if r.is_concrete_type_ref() {
                return Err("a function whose type refers to other types cannot be bound by symbol".into());
            }
        }
        ValType::try_from(*v).map_err(|_| "unsupported value type".to_string())
    };
    Ok((
        ft.params().iter().map(conv).collect::<Result<_, _>>()?,
        ft.results().iter().map(conv).collect::<Result<_, _>>()?,
    ))
}

impl Synth {
    fn ty(&mut self, sig: Sig) -> u32 {
        let n = self.types.len() as u32;
        *self.type_key.entry(sig.clone()).or_insert_with(|| {
            self.types.push(sig);
            n
        })
    }

    fn export(&mut self, name: String, item: Item) -> u32 {
        if let Some(&p) = self.export_key.get(&name) {
            return p;
        }
        let p = self.exports.len() as u32;
        self.export_key.insert(name.clone(), p);
        self.exports.push((name, item));
        p
    }

    fn global(&mut self, name: &str, mutable: bool, value: i32) -> u32 {
        let key = (name.to_string(), mutable);
        if self.global_key.contains_key(&key) {
            return self.export_key[&export_name(name, mutable)];
        }
        let g = self.globals.len() as u32;
        self.globals.push((mutable, value));
        self.global_key.insert(key, g);
        self.export(export_name(name, mutable), Item::Global(g))
    }

    /// Imports `def`'s function into `weld:link`.
    fn import(&mut self, cx: &BindCx<'_, '_>, def: Def) -> Result<FuncRef, LinkError> {
        if let Some(&i) = self.import_key.get(&(def.lib, def.export)) {
            return Ok(FuncRef::Import(i));
        }
        let m = cx.libs[def.lib.as_usize()];
        let ex = m.exports[def.export as usize];
        let bad = |reason: String| LinkError::Library {
            file: cx.files[def.lib.as_usize()].to_string(),
            reason: format!("export \"{}\": {reason}", ex.name),
        };
        let t = m
            .func_types
            .get(ex.index as usize)
            .ok_or_else(|| bad("function index out of range".into()))?;
        let sig = sig_of(m, t.0).map_err(bad)?;
        let ty = self.ty(sig);
        let i = self.imports.len() as u32;
        self.imports
            .push((cx.names[def.lib.as_usize()].to_string(), ex.name.to_string(), ty));
        self.import_defs.push(def);
        self.import_key.insert((def.lib, def.export), i);
        Ok(FuncRef::Import(i))
    }

    fn stub(&mut self, name: &str, sig: Sig) -> FuncRef {
        let ty = self.ty(sig);
        let n = self.stubs.len() as u32;
        let s = *self.stub_key.entry((name.to_string(), ty)).or_insert_with(|| {
            self.stubs.push((name.to_string(), ty));
            n
        });
        FuncRef::Stub(s)
    }
}

fn export_name(name: &str, mutable: bool) -> String {
    if mutable {
        format!("weld:{name}:mut")
    } else {
        format!("weld:{name}")
    }
}

/// A value the linker itself defines, by symbol name.
fn linker_symbol(layout: &Layout, name: &str) -> Option<u32> {
    Some(match name {
        "__stack_pointer" | "__stack_high" | "__global_base" => layout.stack_high,
        "__stack_low" => 0,
        "__heap_base" | "__data_end" => layout.heap_base,
        "__heap_end" => layout.heap_end as u32,
        _ => return None,
    })
}

/// The offset a data symbol's exported global holds.
fn data_offset(m: &ModuleSurvey<'_>, def: Def) -> Option<u32> {
    let ex = m.exports[def.export as usize];
    let imported = m.imported.globals;
    let g = m.globals.get(ex.index.checked_sub(imported)? as usize)?;
    let mut ops = g.init_expr.get_operators_reader();
    match (ops.read().ok()?, ops.read().ok()?) {
        (Operator::I32Const { value }, Operator::End) => Some(value as u32),
        _ => None,
    }
}

/// Binds every import and builds `weld:link`.
pub(crate) fn bind(cx: &BindCx<'_, '_>) -> Result<Bound, LinkError> {
    let mut s = Synth::default();
    let n = cx.libs.len();
    let mut targets: Vec<Vec<Target>> = vec![Vec::new(); n + 1];
    let mut undefined: Vec<Undefined> = Vec::new();
    let mut undefined_at: HashMap<String, usize> = HashMap::new();
    let mut got_mem = Vec::new();
    let mut got_func = Vec::new();
    let mut got_mem_seen: HashMap<String, ()> = HashMap::new();
    let to = |lib: InputId, export: u32| Target::Input {
        provider: InputId(lib.0 + 1),
        export,
        rule: Rule::Symbol,
    };
    let synth_target = |p: u32| Target::Input {
        provider: InputId(0),
        export: p,
        rule: Rule::Symbol,
    };
    let memory = s.export("memory".into(), Item::Memory);
    let table = s.export("weld:__indirect_function_table".into(), Item::Table);
    let slot_base = cx.layout.table_end;

    for &k in cx.load_order {
        let ki = k.as_usize();
        let m = cx.libs[ki];
        let d = &cx.dylink[ki];
        let lib = cx.layout.libs[ki];
        let mut mine = Vec::with_capacity(m.imports.len());
        for imp in &m.imports {
            let bad = |reason: String| LinkError::Library {
                file: cx.files[ki].to_string(),
                reason: format!("import \"{}\" \"{}\": {reason}", imp.module, imp.name),
            };
            let weak = d.is_weak_import(imp.module, imp.name);
            let i32_global = |ty: &TypeRef| match ty {
                TypeRef::Global(g) if g.content_type == wasmparser::ValType::I32 => Ok(g.mutable),
                _ => Err(bad("expected an i32 global".into())),
            };
            let mut missing = |name: &str, what: &'static str| {
                let at = *undefined_at.entry(name.to_string()).or_insert_with(|| {
                    undefined.push(Undefined {
                        symbol: name.to_string(),
                        what,
                        needed_by: Vec::new(),
                    });
                    undefined.len() - 1
                });
                let by = &mut undefined[at].needed_by;
                if !by.contains(&cx.files[ki].to_string()) {
                    by.push(cx.files[ki].to_string());
                }
            };
            let target = match (imp.module, &imp.ty) {
                ("env", TypeRef::Memory(_)) if imp.name == "memory" => synth_target(memory),
                ("env", TypeRef::Table(_)) if imp.name == "__indirect_function_table" => synth_target(table),
                ("env", ty @ TypeRef::Global(_))
                    if imp.name == "__memory_base" || imp.name == "__table_base" =>
                {
                    let mutable = i32_global(ty)?;
                    let (which, value) = match imp.name {
                        "__memory_base" => ("memory_base", lib.memory_base),
                        _ => ("table_base", lib.table_base),
                    };
                    synth_target(s.global(&format!("{}:{which}", cx.names[ki]), mutable, value as i32))
                }
                ("env", ty @ TypeRef::Global(_)) if linker_symbol(cx.layout, imp.name).is_some() => {
                    let mutable = i32_global(ty)?;
                    let v = linker_symbol(cx.layout, imp.name).unwrap_or_default();
                    synth_target(s.global(imp.name, mutable, v as i32))
                }
                ("env", TypeRef::Func(t) | TypeRef::FuncExact(t)) => match cx.symbols.func(imp.name) {
                    Some(def) => to(def.lib, def.export),
                    None if weak || cx.stub_missing => {
                        let sig = sig_of(m, *t).map_err(bad)?;
                        let f = s.stub(imp.name, sig);
                        let FuncRef::Stub(i) = f else {
                            unreachable!("stub() gives a stub")
                        };
                        synth_target(s.export(format!("weld:stub:{i}"), Item::Func(f)))
                    }
                    None => {
                        missing(imp.name, "function");
                        Target::Host
                    }
                },
                ("env", TypeRef::Tag(_)) => match cx.symbols.tag(imp.name) {
                    Some(def) => to(def.lib, def.export),
                    None => {
                        missing(imp.name, "tag");
                        Target::Host
                    }
                },
                ("env", TypeRef::Global(_)) => match cx.symbols.global(imp.name) {
                    Some(def) => to(def.lib, def.export),
                    None => {
                        missing(imp.name, "global");
                        Target::Host
                    }
                },
                ("env", _) => return Err(bad("not a symbol weld link can provide".into())),
                ("GOT.mem", ty) => {
                    let mutable = i32_global(ty)?;
                    let (value, from) = if let Some(v) = linker_symbol(cx.layout, imp.name) {
                        (Some(v), "linker".to_string())
                    } else if let Some(def) = cx.symbols.global(imp.name) {
                        let p = def.lib.as_usize();
                        let off = data_offset(cx.libs[p], def).ok_or_else(|| {
                            bad(format!(
                                "`{}` exports it, but not as a constant offset",
                                cx.names[p]
                            ))
                        })?;
                        let addr = (cx.layout.libs[p].memory_base as u64 + off as u64) as u32;
                        (Some(addr), cx.names[p].to_string())
                    } else if weak {
                        (Some(0), "undefined weak".to_string())
                    } else {
                        missing(imp.name, "data symbol");
                        (None, String::new())
                    };
                    match value {
                        Some(v) => {
                            let name = format!("GOT.mem.{}", imp.name);
                            if got_mem_seen.insert(name.clone(), ()).is_none() {
                                got_mem.push(GotMem {
                                    symbol: imp.name.to_string(),
                                    address: v,
                                    from,
                                });
                            }
                            synth_target(s.global(&name, mutable, v as i32))
                        }
                        None => Target::Host,
                    }
                }
                ("GOT.func", ty) => {
                    let mutable = i32_global(ty)?;
                    let func = match cx.symbols.func(imp.name) {
                        Some(def) => {
                            let pm = cx.libs[def.lib.as_usize()];
                            let identity = (def.lib, pm.exports[def.export as usize].index);
                            Some((identity, Some(def), cx.names[def.lib.as_usize()].to_string()))
                        }
                        None if weak => None,
                        None if cx.stub_missing => {
                            // A stub of unknown type is only reachable through
                            // a pointer: give it `[] -> []`, one per name.
                            let FuncRef::Stub(i) = s.stub(imp.name, (Vec::new(), Vec::new())) else {
                                unreachable!("stub() gives a stub")
                            };
                            Some(((InputId(u32::MAX), i), None, "stub".into()))
                        }
                        None => {
                            missing(imp.name, "function");
                            None
                        }
                    };
                    let slot = match func {
                        None => 0,
                        Some((identity, def, from)) => {
                            let slot = match s.slot_key.get(&identity) {
                                Some(&slot) => slot,
                                None => {
                                    let f = match def {
                                        Some(def) => s.import(cx, def)?,
                                        None => FuncRef::Stub(identity.1),
                                    };
                                    let slot = slot_base + s.slots.len() as u32;
                                    s.slots.push(f);
                                    s.slot_key.insert(identity, slot);
                                    slot
                                }
                            };
                            if !got_func.iter().any(|g: &GotFunc| g.symbol == imp.name) {
                                got_func.push(GotFunc {
                                    symbol: imp.name.to_string(),
                                    slot,
                                    from,
                                });
                            }
                            slot
                        }
                    };
                    synth_target(s.global(&format!("GOT.func.{}", imp.name), mutable, slot as i32))
                }
                (m, _) if m.starts_with("GOT.") => return Err(bad("unknown GOT namespace".into())),
                _ => Target::Host,
            };
            mine.push(target);
        }
        targets[ki + 1] = mine;
    }
    if !undefined.is_empty() {
        return Err(LinkError::Undefined(undefined));
    }

    // The init function: data relocations, then constructors, dependencies
    // first; then MAIN's entry.
    let export_of = |k: InputId, name: &str| {
        cx.libs[k.as_usize()]
            .exports
            .iter()
            .position(|e| e.name == name && matches!(e.kind, ExternalKind::Func))
            .map(|p| Def {
                lib: k,
                export: p as u32,
            })
    };
    let main = InputId(0);
    for &k in cx.init_order {
        if let Some(def) = export_of(k, "__wasm_apply_data_relocs") {
            let f = s.import(cx, def)?;
            s.init.push(f);
        }
    }
    for &k in cx.init_order {
        if k == main {
            continue;
        }
        if let Some(def) = export_of(k, "_initialize").or_else(|| export_of(k, "__wasm_call_ctors")) {
            let f = s.import(cx, def)?;
            s.init.push(f);
        }
    }
    let entry = if let Some(def) = export_of(main, "_start") {
        let f = s.import(cx, def)?;
        s.init.push(f);
        "_start"
    } else {
        if let Some(def) = export_of(main, "_initialize").or_else(|| export_of(main, "__wasm_call_ctors")) {
            let f = s.import(cx, def)?;
            s.init.push(f);
        }
        "_initialize"
    };
    let empty = s.ty((Vec::new(), Vec::new()));
    let mut public = vec!["memory".to_string(), entry.to_string()];
    s.export(entry.to_string(), Item::Func(FuncRef::Init));

    // MAIN's functions, and every library's component-ABI exports (first
    // definition in load order), are the linked module's exports.
    for &k in cx.load_order {
        let m = cx.libs[k.as_usize()];
        for (e, ex) in m.exports.iter().enumerate() {
            let abi = ex.name.contains('#') || ex.name.starts_with("cabi_");
            if !matches!(ex.kind, ExternalKind::Func)
                || (k != main && !abi)
                || super::symbols::PER_LIBRARY.contains(&ex.name)
                || ex.name.starts_with("weld:")
                || s.export_key.contains_key(ex.name)
            {
                continue;
            }
            let f = s.import(
                cx,
                Def {
                    lib: k,
                    export: e as u32,
                },
            )?;
            s.export(ex.name.to_string(), Item::Func(f));
            public.push(ex.name.to_string());
        }
    }

    // weld:link's own imports target the libraries.
    targets[0] = s.import_defs.iter().map(|d| to(d.lib, d.export)).collect();
    let table_size = slot_base + s.slots.len() as u32;
    let stubs = s.stubs.iter().map(|(n, _)| n.clone()).collect();
    let synth = encode(&s, cx.layout, table_size, empty);
    Ok(Bound {
        synth,
        targets,
        public,
        got_mem,
        got_func,
        stubs,
        table_size,
    })
}

/// Writes `weld:link`.
fn encode(s: &Synth, layout: &Layout, table_size: u32, empty: u32) -> Vec<u8> {
    let n_imports = s.imports.len() as u32;
    let index = |f: FuncRef| match f {
        FuncRef::Import(i) => i,
        FuncRef::Stub(i) => n_imports + i,
        FuncRef::Init => n_imports + s.stubs.len() as u32,
    };
    let mut module = Module::new();
    let mut types = TypeSection::new();
    for (params, results) in &s.types {
        types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
    }
    module.section(&types);
    let mut imports = ImportSection::new();
    for (m, name, ty) in &s.imports {
        imports.import(m, name, EntityType::Function(*ty));
    }
    module.section(&imports);
    let mut funcs = FunctionSection::new();
    for (_, ty) in &s.stubs {
        funcs.function(*ty);
    }
    funcs.function(empty);
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: table_size as u64,
        maximum: None,
        shared: false,
    });
    module.section(&tables);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: layout.pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut globals = GlobalSection::new();
    for &(mutable, value) in &s.globals {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable,
                shared: false,
            },
            &ConstExpr::i32_const(value),
        );
    }
    module.section(&globals);
    let mut exports = ExportSection::new();
    for (name, item) in &s.exports {
        let (kind, idx) = match *item {
            Item::Func(f) => (ExportKind::Func, index(f)),
            Item::Global(g) => (ExportKind::Global, g),
            Item::Memory => (ExportKind::Memory, 0),
            Item::Table => (ExportKind::Table, 0),
        };
        exports.export(name, kind, idx);
    }
    module.section(&exports);
    if !s.slots.is_empty() {
        let mut elems = ElementSection::new();
        let funcs: Vec<u32> = s.slots.iter().map(|&f| index(f)).collect();
        elems.active(
            Some(0),
            &ConstExpr::i32_const(layout.table_end as i32),
            Elements::Functions(funcs.into()),
        );
        module.section(&elems);
    }
    let mut code = CodeSection::new();
    for _ in &s.stubs {
        let mut f = Function::new([]);
        let mut b = Vec::new();
        Instruction::Unreachable.encode(&mut b);
        Instruction::End.encode(&mut b);
        f.raw(b);
        code.function(&f);
    }
    let mut f = Function::new([]);
    let mut b = Vec::new();
    for &call in &s.init {
        Instruction::Call(index(call)).encode(&mut b);
    }
    Instruction::End.encode(&mut b);
    f.raw(b);
    code.function(&f);
    module.section(&code);
    module.finish()
}
