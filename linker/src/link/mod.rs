//! `weld link`: shared libraries (`dylink.0`) → one core module, statically
//! (shared-everything: one memory, one table, direct calls).
//!
//! The driver, one stage per module, in pipeline order: the `needed`
//! closure with its load and init orders ([`crate::resolve::needed`]),
//! [`layout`] (the libraries checked against their `dylink.0`, then memory
//! and table laid out), the symbol resolution ([`crate::resolve::symbols`],
//! which `weld graph` prints too), [`bind`] (every import bound, and the
//! module `weld:link` that defines what a loader would provide), then the
//! fuse stages (plan, ICF, emit) over `weld:link` and the libraries, and
//! optionally [`component`] (wrapping with `wit-component`).

pub(crate) mod bind;
#[cfg(feature = "component")]
pub(crate) mod component;
pub(crate) mod layout;
#[cfg(feature = "component")]
pub(crate) mod splice;

use std::path::PathBuf;

use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, Inputs};

pub use crate::error::{
    Duplicate, LibraryFault, LibrarySetError, LinkError, NeededRefusal, Overflow, Segment, SymbolFault,
    SymbolKind, Undefined,
};
use crate::error::{Error, FuseError};
use crate::fuse::icf::Icf;
use crate::fuse::plan::{OnConflict, PlanOptions};
use crate::fuse::{run_stages, FuseCx, Fused, LinkMap, Stages};
use crate::resolve::needed::{self, Closure};
use crate::resolve::symbols::resolve_symbols;
use crate::resolve::Resolution;
pub use layout::LibLayout;

/// What to do when two libraries define the same symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// Warn, naming both; the first in load order is used.
    #[default]
    Warn,
    /// Refuse.
    Error,
}

/// Options for [`link`].
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Directories where `needed` libraries not among the inputs are found.
    pub lib_dirs: Vec<PathBuf>,
    /// Bytes of stack, placed first in memory (default 1 MiB).
    pub stack_size: u32,
    /// Undefined functions become trapping stubs instead of an error.
    pub stub_missing: bool,
    /// Duplicate definitions.
    pub duplicates: Duplicates,
    /// Validate the output (default: yes).
    pub validate: bool,
    /// Identical code folding across the libraries (default: safe).
    pub icf: Icf,
    /// Drop the `name` section and debug sections.
    pub strip_debug: bool,
    /// Wrap the result into a component (`wit-component`), with these
    /// adapters (`wasi_snapshot_preview1` = the preview1 adapter's bytes).
    pub component: Option<ComponentOptions>,
}

/// How [`link`] wraps its result into a component.
#[derive(Debug, Clone, Default)]
pub struct ComponentOptions {
    /// Adapters by the import module name they provide.
    pub adapters: Vec<(String, Vec<u8>)>,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            lib_dirs: Vec::new(),
            stack_size: 1 << 20,
            stub_missing: false,
            duplicates: Duplicates::Warn,
            validate: true,
            icf: Icf::Safe,
            strip_debug: false,
            component: None,
        }
    }
}

/// A `GOT.mem` entry: the address of a data symbol.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GotMem {
    /// The symbol.
    pub symbol: String,
    /// Its absolute address.
    pub address: u32,
    /// The library that defines it (`linker` for the linker's own symbols).
    pub from: String,
}

/// A `GOT.func` entry: the table slot of a function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GotFunc {
    /// The symbol.
    pub symbol: String,
    /// Its slot in the table.
    pub slot: u32,
    /// The library that defines it (`stub` for a trapping stub).
    pub from: String,
}

/// One library in the link map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LibraryReport {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Where it lives.
    #[serde(flatten)]
    pub layout: LibLayout,
}

/// The link map of `weld link`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkReport {
    /// Libraries in load order (symbol lookup order), with their bases.
    pub libraries: Vec<LibraryReport>,
    /// Libraries in init order (dependencies first).
    pub init_order: Vec<String>,
    /// The stack: `[0, stack_high)`.
    pub stack_high: u32,
    /// `__heap_base`.
    pub heap_base: u32,
    /// `__heap_end`.
    pub heap_end: u64,
    /// Initial memory in pages.
    pub memory_pages: u64,
    /// Table slots.
    pub table_size: u32,
    /// Every `GOT.mem` entry.
    pub got_mem: Vec<GotMem>,
    /// Every `GOT.func` entry.
    pub got_func: Vec<GotFunc>,
    /// Functions made trapping stubs.
    pub stubs: Vec<String>,
    /// Where every item of every input went (`weld:link` first).
    pub fuse: LinkMap,
}

/// The linked module and what happened on the way.
#[derive(Debug)]
pub struct Linked {
    /// The output: a core module, or a component when asked.
    pub bytes: Vec<u8>,
    /// Things the user should know (duplicate symbols, dropped sections).
    pub warnings: Vec<String>,
    /// The link map.
    pub map: LinkReport,
}

/// Links shared libraries into one core module. `inputs[0]` is MAIN (a
/// command exporting `_start` or a reactor); the others are libraries, and
/// what they all need is added from `opts.lib_dirs`.
///
/// ```
/// use weld_format::Inputs;
/// // Two tiny libraries: `main` calls `lib`'s `two` by symbol.
/// let lib = r#"(module (@dylink.0 (mem-info (memory 0 0)))
///     (func (export "two") (result i32) i32.const 2))"#;
/// let main = r#"(module (@dylink.0 (mem-info (memory 0 0)) (needed "lib"))
///     (import "env" "two" (func $two (result i32)))
///     (func (export "_initialize"))
///     (func (export "four") (result i32) call $two call $two i32.add))"#;
/// let inputs = Inputs::from_memory([("main", main.as_bytes().to_vec()), ("lib", lib.as_bytes().to_vec())]).unwrap();
/// let linked = weld_linker::link(&Default::default(), inputs).unwrap();
/// wasmparser::Validator::new().validate_all(&linked.bytes).unwrap();
/// assert_eq!(linked.map.init_order, ["lib", "main"]);
/// ```
pub fn link(opts: &LinkOptions, mut inputs: Inputs) -> Result<Linked, Error> {
    if inputs.is_empty() {
        return Err(LinkError::NoInputs.into());
    }
    if let Some(input) = inputs.iter().find(|i| i.kind == weld_format::Kind::Component) {
        let file = input.display.clone();
        return Err(LinkError::from(LibrarySetError::Component { file }).into());
    }
    // The `needed` closure: what the libraries need, found among the inputs
    // or in the library directories, and the load and init orders.
    let Closure {
        found,
        load_order,
        init_order,
    } = needed::closure(&opts.lib_dirs, &inputs).map_err(LinkError::from)?;
    inputs
        .append(found)
        .map_err(|e| LinkError::from(LibrarySetError::from(e)))?;
    let surveys = weld_format::survey::survey_all(&inputs)?;
    let files: Vec<&str> = inputs.iter().map(|i| i.display.as_str()).collect();
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let (libs, dylink) =
        needed::libraries(&files, &surveys.iter().collect::<Vec<_>>()).map_err(LinkError::from)?;

    // Every library checked against its dylink.0, then memory and table laid
    // out in load order.
    let layout = layout::layout(&load_order, &files, &libs, &dylink, opts.stack_size)?;
    // Every import bound by symbol; two strong definitions of a name are a
    // warning, or an error when asked.
    let symbols = resolve_symbols(&load_order, &libs, &dylink, &names);
    let duplicates = symbols.duplicates(&files);
    if opts.duplicates == Duplicates::Error && !duplicates.is_empty() {
        return Err(LinkError::Duplicates(duplicates).into());
    }
    let mut warnings: Vec<String> = duplicates.iter().map(ToString::to_string).collect();
    // weld:link, and the target of every import.
    let mut bound = bind::bind(&bind::BindCx {
        files: &files,
        names: &names,
        libs: &libs,
        symbols: &symbols,
        layout: &layout,
        load_order: &load_order,
        init_order: &init_order,
        stub_missing: opts.stub_missing,
    })?;
    let libraries = Libraries {
        files: &files,
        names: &names,
        libs: &libs,
    };
    let fused = fuse_stages(opts, &libraries, &mut bound, &init_order)?;
    warnings.extend(fused.warnings);
    let bytes = wrap(opts, fused.bytes)?;

    let map = LinkReport {
        libraries: load_order
            .iter()
            .map(|k| LibraryReport {
                name: names[k.as_usize()].to_string(),
                file: files[k.as_usize()].to_string(),
                layout: layout.libs[k.as_usize()],
            })
            .collect(),
        init_order: init_order
            .iter()
            .map(|k| names[k.as_usize()].to_string())
            .collect(),
        stack_high: layout.stack_high,
        heap_base: layout.heap_base,
        heap_end: layout.heap_end,
        memory_pages: layout.pages,
        table_size: bound.table_size,
        got_mem: bound.got_mem,
        got_func: bound.got_func,
        stubs: bound.stubs,
        fuse: fused.map,
    };
    Ok(Linked { bytes, warnings, map })
}

/// The libraries, by input.
struct Libraries<'r, 'a> {
    files: &'r [&'r str],
    names: &'r [&'r str],
    libs: &'r [&'r ModuleSurvey<'a>],
}

/// The fuse stages, over weld:link (input 0) and the libraries in init
/// order, with the targets binding gave (taken from `bound`).
fn fuse_stages(
    opts: &LinkOptions,
    lib: &Libraries<'_, '_>,
    bound: &mut bind::Bound,
    init_order: &[InputId],
) -> Result<Fused, Error> {
    let synth_survey = weld_format::survey("weld:link", &bound.synth)?;
    let synth = synth_survey
        .as_module()
        .expect("weld:link is a core module by construction");
    let mut all_files = vec!["weld:link"];
    all_files.extend(lib.files);
    let mut all_names = vec!["weld:link"];
    all_names.extend(lib.names);
    let mut modules: Vec<&ModuleSurvey<'_>> = vec![synth];
    modules.extend(lib.libs.iter().copied());
    let links = Resolution {
        targets: std::mem::take(&mut bound.targets),
        problems: Vec::new(),
        host_map: None,
    };
    let cx = FuseCx {
        files: &all_files,
        names: &all_names,
        modules: &modules,
        links: &links,
        dylink: true,
    };
    let mut order = vec![InputId(0)];
    order.extend(init_order.iter().map(|k| InputId(k.0 + 1)));
    let stages = Stages {
        icf: opts.icf,
        plan: PlanOptions {
            on_conflict: OnConflict::Skip,
            exports: Some(bound.public.clone()),
            ..PlanOptions::default()
        },
        strip_debug: opts.strip_debug,
        source_maps: Default::default(),
        // Linked output is validated whole: weld:link's module is
        // generated, and GOT and import rebinding is link's own. A module
        // wrapped into a component is validated there, once.
        validate: false,
        validate_output: opts.validate && opts.component.is_none(),
        reach: crate::fuse::reach::ReachOptions {
            keep_unused: false,
            keep_order: false,
        },
        merge_memories: false,
        merge_tables: false,
    };
    let (fused, _) = run_stages(&cx, order, &stages, None).map_err(|e| match e {
        // A problem of weld:link's own imports (the re-exports and init
        // calls) repeats a library's; report the libraries' when there are.
        FuseError::Imports(ps) if ps.iter().any(|p| p.input != "weld:link") => {
            FuseError::Imports(ps.into_iter().filter(|p| p.input != "weld:link").collect())
        }
        other => other,
    })?;
    Ok(fused)
}

/// The output: the fused module, or the component wrapping it when asked.
fn wrap(opts: &LinkOptions, module: weld_format::write::Output) -> Result<Vec<u8>, LinkError> {
    match &opts.component {
        None => Ok(module.into_vec()),
        #[cfg(feature = "component")]
        Some(c) => component::wrap(&module, c, opts.validate),
        #[cfg(not(feature = "component"))]
        Some(_) => Err(LinkError::NoComponentFeature),
    }
}
