//! Stage 4 of `weld link`: bind every import of every library as the
//! symbol resolution says ([`crate::resolve::symbols`]), and build the
//! module the bindings need, `weld:link`, which the fuse stages then place
//! first. It defines what a loader would provide: the memory, the table,
//! `__stack_pointer`, each library's `__memory_base` and `__table_base` as
//! constants, the GOT (`GOT.mem.X` = the address of X, `GOT.func.F` = a
//! table slot holding F, one slot per function), the trapping stubs, and the
//! init function (data relocations and constructors, dependencies first,
//! then MAIN's `_start` or `_initialize`). Imports of `env` bind to another
//! library's export (the first definition in load order); other modules
//! stay imports.
//!
//! Cost: one hash lookup per import and per GOT entry, and one pass over
//! every library's exports for the linked module's exports.

use std::collections::{HashMap, HashSet};

use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, Encode, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, GlobalSection, GlobalType, ImportSection, Instruction, MemorySection,
    MemoryType, Module, RefType, TableSection, TableType, TypeSection, ValType,
};
use wasmparser::{CompositeInnerType, ExternalKind, Import, TypeRef};
use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, Item};

use super::layout::Layout;
use super::{GotFunc, GotMem, LinkError};
use crate::error::LibraryFault;
use crate::resolve::symbols::{
    Binding, Def, LinkerItem, Namespace, Provider, SymbolKind, SymbolResolution, PER_LIBRARY,
};
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

/// Something `weld:link` exports.
#[derive(Debug, Clone, Copy)]
enum Entity {
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
    exports: Vec<(String, Entity)>,
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
    pub symbols: &'r SymbolResolution<'a>,
    pub layout: &'r Layout,
    pub load_order: &'r [InputId],
    pub init_order: &'r [InputId],
    pub stub_missing: bool,
}

/// The signature of type `type_index` of `m`, as `weld:link` restates it.
fn sig_of(m: &ModuleSurvey<'_>, type_index: u32) -> Result<Sig, LibraryFault> {
    let st = m
        .types
        .get(type_index as usize)
        .ok_or(LibraryFault::TypeOutOfRange(type_index))?;
    let CompositeInnerType::Func(ft) = &st.composite_type.inner else {
        return Err(LibraryFault::NotFuncType(type_index));
    };
    let conv = |v: &wasmparser::ValType| -> Result<ValType, LibraryFault> {
        if let wasmparser::ValType::Ref(r) = v {
            if r.is_concrete_type_ref() {
                return Err(LibraryFault::ConcreteRef);
            }
        }
        ValType::try_from(*v).map_err(|_| LibraryFault::UnsupportedValType)
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

    fn export(&mut self, name: String, item: Entity) -> u32 {
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
        self.export(export_name(name, mutable), Entity::Global(g))
    }

    /// Imports `def`'s function into `weld:link`.
    fn import(&mut self, cx: &BindCx<'_, '_>, def: Def) -> Result<FuncRef, LinkError> {
        if let Some(&i) = self.import_key.get(&(def.lib, def.export)) {
            return Ok(FuncRef::Import(i));
        }
        let m = cx.libs[def.lib.as_usize()];
        let ex = m.exports[def.export as usize];
        let fault = |f: LibraryFault| {
            f.at(
                cx.files[def.lib.as_usize()],
                Some(Item::Export(ex.name.to_string())),
                None,
            )
        };
        let t = m
            .func_types
            .get(ex.index as usize)
            .ok_or_else(|| fault(LibraryFault::FuncOutOfRange))?;
        let sig = sig_of(m, t.0).map_err(fault)?;
        let ty = self.ty(sig);
        let i = self.imports.len() as u32;
        self.imports
            .push((cx.names[def.lib.as_usize()].to_string(), ex.name.to_string(), ty));
        self.import_defs.push(def);
        self.import_key.insert((def.lib, def.export), i);
        Ok(FuncRef::Import(i))
    }

    /// A trapping stub for `name` of signature `sig`, one per name and type.
    fn stub(&mut self, name: &str, sig: Sig) -> u32 {
        let ty = self.ty(sig);
        let n = self.stubs.len() as u32;
        *self.stub_key.entry((name.to_string(), ty)).or_insert_with(|| {
            self.stubs.push((name.to_string(), ty));
            n
        })
    }
}

fn export_name(name: &str, mutable: bool) -> String {
    if mutable {
        format!("weld:{name}:mut")
    } else {
        format!("weld:{name}")
    }
}

/// The target of an import bound to `def`.
fn to(def: Def) -> Target {
    Target::Input {
        provider: InputId(def.lib.0 + 1),
        export: def.export,
        rule: Rule::Symbol,
    }
}

/// The target of an import bound to `weld:link`'s export `p`.
fn synth_target(p: u32) -> Target {
    Target::Input {
        provider: InputId(0),
        export: p,
        rule: Rule::Symbol,
    }
}

/// One binding run: `weld:link` as it is filled, and the reports.
struct Binder<'c, 'r, 'a> {
    cx: &'c BindCx<'r, 'a>,
    s: Synth,
    got_mem: Vec<GotMem>,
    got_mem_seen: HashSet<String>,
    got_func: Vec<GotFunc>,
    got_func_seen: HashSet<String>,
    /// `weld:link`'s exports of the memory and the table.
    memory: u32,
    table: u32,
}

/// Binds every import and builds `weld:link`.
pub(crate) fn bind(cx: &BindCx<'_, '_>) -> Result<Bound, LinkError> {
    let mut b = Binder::new(cx);
    let mut targets: Vec<Vec<Target>> = vec![Vec::new(); cx.libs.len() + 1];
    // Every import of every library, in load order.
    for &k in cx.load_order {
        targets[k.as_usize() + 1] = b.library(k)?;
    }
    // What nothing defines, every symbol at once (with `--stub-missing`,
    // functions became stubs above).
    let undefined = cx
        .symbols
        .undefined(cx.load_order, cx.libs, cx.files, !cx.stub_missing);
    if !undefined.is_empty() {
        return Err(LinkError::Undefined(undefined));
    }
    // The init function (its type is registered right after the calls it
    // makes, so type indices follow first use), then the linked module's
    // exports.
    let entry = b.init()?;
    let empty = b.s.ty((Vec::new(), Vec::new()));
    let public = b.exports(entry)?;
    // weld:link's own imports target the libraries.
    targets[0] = b.s.import_defs.iter().map(|&d| to(d)).collect();
    let table_size = cx.layout.table_end + b.s.slots.len() as u32;
    Ok(Bound {
        synth: encode(&b.s, cx.layout, table_size, empty),
        targets,
        public,
        stubs: b.s.stubs.iter().map(|(n, _)| n.clone()).collect(),
        got_mem: b.got_mem,
        got_func: b.got_func,
        table_size,
    })
}

impl<'c, 'r, 'a> Binder<'c, 'r, 'a> {
    fn new(cx: &'c BindCx<'r, 'a>) -> Self {
        let mut s = Synth::default();
        let memory = s.export("memory".into(), Entity::Memory);
        let table = s.export("weld:__indirect_function_table".into(), Entity::Table);
        Binder {
            cx,
            s,
            got_mem: Vec::new(),
            got_mem_seen: HashSet::new(),
            got_func: Vec::new(),
            got_func_seen: HashSet::new(),
            memory,
            table,
        }
    }

    /// The targets of library `k`'s imports, in order.
    fn library(&mut self, k: InputId) -> Result<Vec<Target>, LinkError> {
        let cx = self.cx;
        let m = cx.libs[k.as_usize()];
        let bindings = &cx.symbols.bindings[k.as_usize()];
        let mut targets = Vec::with_capacity(m.imports.len());
        for (imp, binding) in m.imports.iter().zip(bindings) {
            let fault = |f: LibraryFault| f.at(cx.files[k.as_usize()], Some(Item::import(imp)), None);
            let mutable = matches!(imp.ty, TypeRef::Global(g) if g.mutable);
            let Binding { ns, provider } = binding;
            let target = match (ns, provider) {
                (_, Provider::Invalid(f)) => return Err(fault(f.clone().into())),
                (_, Provider::Host) => Target::Host,
                (Namespace::GotMem, p) => self.got_mem(imp.name, p, mutable),
                (Namespace::GotFunc, p) => self.got_func(imp.name, p, mutable)?,
                (_, p) => self.env(k, imp, p, mutable).map_err(fault)?,
            };
            targets.push(target);
        }
        Ok(targets)
    }

    /// An `env` import of library `k`.
    fn env(
        &mut self,
        k: InputId,
        imp: &Import<'_>,
        p: &Provider,
        mutable: bool,
    ) -> Result<Target, LibraryFault> {
        let cx = self.cx;
        let lib = cx.layout.libs[k.as_usize()];
        let name = cx.names[k.as_usize()];
        Ok(match p {
            Provider::Linker(LinkerItem::Memory) => synth_target(self.memory),
            Provider::Linker(LinkerItem::Table) => synth_target(self.table),
            Provider::Linker(LinkerItem::MemoryBase) => synth_target(self.s.global(
                &format!("{name}:memory_base"),
                mutable,
                lib.memory_base as i32,
            )),
            Provider::Linker(LinkerItem::TableBase) => synth_target(self.s.global(
                &format!("{name}:table_base"),
                mutable,
                lib.table_base as i32,
            )),
            Provider::Linker(LinkerItem::Layout(sym)) => {
                synth_target(self.s.global(imp.name, mutable, cx.layout.value(*sym) as i32))
            }
            Provider::Library(def) | Provider::Data { def, .. } => to(*def),
            // A weak function nothing defines, or any undefined function
            // with `--stub-missing`: a trapping stub of the import's type.
            // Otherwise undefined: reported once every library is bound.
            Provider::WeakUndefined | Provider::Undefined(SymbolKind::Function) => {
                let stubbed = matches!(p, Provider::WeakUndefined) || cx.stub_missing;
                match imp.ty {
                    TypeRef::Func(t) | TypeRef::FuncExact(t) if stubbed => {
                        let sig = sig_of(cx.libs[k.as_usize()], t)?;
                        let i = self.s.stub(imp.name, sig);
                        synth_target(
                            self.s
                                .export(format!("weld:stub:{i}"), Entity::Func(FuncRef::Stub(i))),
                        )
                    }
                    _ => Target::Host,
                }
            }
            Provider::Undefined(_) | Provider::Host | Provider::Invalid(_) => Target::Host,
        })
    }

    /// A `GOT.mem` import: a global holding the symbol's address.
    fn got_mem(&mut self, symbol: &str, p: &Provider, mutable: bool) -> Target {
        let cx = self.cx;
        let (address, from) = match p {
            Provider::Linker(LinkerItem::Layout(sym)) => (cx.layout.value(*sym), "linker".to_string()),
            Provider::Data { def, offset } => {
                let base = cx.layout.libs[def.lib.as_usize()].memory_base;
                let address = (base as u64 + *offset as u64) as u32;
                (address, cx.names[def.lib.as_usize()].to_string())
            }
            Provider::WeakUndefined => (0, "undefined weak".to_string()),
            // Undefined: reported once every library is bound.
            _ => return Target::Host,
        };
        let name = format!("GOT.mem.{symbol}");
        if self.got_mem_seen.insert(name.clone()) {
            self.got_mem.push(GotMem {
                symbol: symbol.to_string(),
                address,
                from,
            });
        }
        synth_target(self.s.global(&name, mutable, address as i32))
    }

    /// A `GOT.func` import: a global holding the table slot of the
    /// function, one slot per function (a stub with `--stub-missing`; slot
    /// 0 for a weak one nothing defines).
    fn got_func(&mut self, symbol: &str, p: &Provider, mutable: bool) -> Result<Target, LinkError> {
        let cx = self.cx;
        // The function's identity (its library and index, or the stub's
        // position), and where it comes from.
        let func = match p {
            Provider::Library(def) => {
                let index = cx.libs[def.lib.as_usize()].exports[def.export as usize].index;
                Some((
                    (def.lib, index),
                    Some(*def),
                    cx.names[def.lib.as_usize()].to_string(),
                ))
            }
            Provider::Undefined(_) if cx.stub_missing => {
                // A stub of unknown type is only reachable through a
                // pointer: give it `[] -> []`, one per name.
                let i = self.s.stub(symbol, (Vec::new(), Vec::new()));
                Some(((InputId(u32::MAX), i), None, "stub".to_string()))
            }
            // Weak: slot 0. Undefined: reported once every library is bound.
            _ => None,
        };
        let slot = match func {
            None => 0,
            Some((identity, def, from)) => {
                let slot = self.slot(identity, def)?;
                if self.got_func_seen.insert(symbol.to_string()) {
                    self.got_func.push(GotFunc {
                        symbol: symbol.to_string(),
                        slot,
                        from,
                    });
                }
                slot
            }
        };
        Ok(synth_target(self.s.global(
            &format!("GOT.func.{symbol}"),
            mutable,
            slot as i32,
        )))
    }

    /// The table slot of a function (`def`'s, or stub `identity.1`'s), given
    /// on first use.
    fn slot(&mut self, identity: (InputId, u32), def: Option<Def>) -> Result<u32, LinkError> {
        if let Some(&slot) = self.s.slot_key.get(&identity) {
            return Ok(slot);
        }
        let f = match def {
            Some(def) => self.s.import(self.cx, def)?,
            None => FuncRef::Stub(identity.1),
        };
        let slot = self.cx.layout.table_end + self.s.slots.len() as u32;
        self.s.slots.push(f);
        self.s.slot_key.insert(identity, slot);
        Ok(slot)
    }

    /// The init function: data relocations, then constructors, dependencies
    /// first; then MAIN's entry, whose name it is exported under.
    fn init(&mut self) -> Result<&'static str, LinkError> {
        let cx = self.cx;
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
        let ctors = |k| export_of(k, "_initialize").or_else(|| export_of(k, "__wasm_call_ctors"));
        let main = InputId(0);
        let relocs = cx
            .init_order
            .iter()
            .filter_map(|&k| export_of(k, "__wasm_apply_data_relocs"));
        let others = cx
            .init_order
            .iter()
            .filter(|&&k| k != main)
            .filter_map(|&k| ctors(k));
        let calls: Vec<Def> = relocs.chain(others).collect();
        for def in calls {
            let f = self.s.import(cx, def)?;
            self.s.init.push(f);
        }
        let (entry, def) = match export_of(main, "_start") {
            Some(def) => ("_start", Some(def)),
            None => ("_initialize", ctors(main)),
        };
        if let Some(def) = def {
            let f = self.s.import(cx, def)?;
            self.s.init.push(f);
        }
        Ok(entry)
    }

    /// The linked module's exports: the memory, the entry, then MAIN's
    /// functions and every library's component-ABI exports (the first
    /// definition in load order).
    fn exports(&mut self, entry: &str) -> Result<Vec<String>, LinkError> {
        let cx = self.cx;
        let main = InputId(0);
        let mut public = vec!["memory".to_string(), entry.to_string()];
        self.s.export(entry.to_string(), Entity::Func(FuncRef::Init));
        for &k in cx.load_order {
            for (e, ex) in cx.libs[k.as_usize()].exports.iter().enumerate() {
                let abi = ex.name.contains('#') || ex.name.starts_with("cabi_");
                if !matches!(ex.kind, ExternalKind::Func)
                    || (k != main && !abi)
                    || PER_LIBRARY.contains(&ex.name)
                    || ex.name.starts_with("weld:")
                    || self.s.export_key.contains_key(ex.name)
                {
                    continue;
                }
                let def = Def {
                    lib: k,
                    export: e as u32,
                };
                let f = self.s.import(cx, def)?;
                self.s.export(ex.name.to_string(), Entity::Func(f));
                public.push(ex.name.to_string());
            }
        }
        Ok(public)
    }
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
            Entity::Func(f) => (ExportKind::Func, index(f)),
            Entity::Global(g) => (ExportKind::Global, g),
            Entity::Memory => (ExportKind::Memory, 0),
            Entity::Table => (ExportKind::Table, 0),
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
