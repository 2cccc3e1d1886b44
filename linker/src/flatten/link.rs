//! Part of `flatten`: one bound [`Group`] → one core module, with fuse's
//! plan/emit stages ([`link_group`]).
//!
//! The inputs are the members in instantiation order, after `weld:late`
//! when the group has late functions: a module of its own that defines the
//! late table (exported as [`LATE_TABLE`]) and one trampoline per late
//! function, which calls through its slot. Each member import is resolved
//! from its [`Binding`]: another member's export, a trampoline, or an
//! import of the linked module named by its [`External`]. The linked
//! module exports exactly what the component aliases (named by the
//! caller), plus the late table; with late functions its start is
//! exported as [`START`] and run by the fixup instance, once the table is
//! filled.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module, RefType,
    TableSection, TableType, TypeSection,
};
use weld_format::survey::ModuleSurvey;
use weld_format::InputId;

use super::bind::{Binding, Group, Late};
use crate::error::FuseError;
use crate::fuse::icf::Icf;
use crate::fuse::plan::{OnConflict, PlanOptions, Selected};
use crate::fuse::{run_stages, FuseCx, Fused, Stages};
use crate::resolve::{Resolution, Rule, Target};

/// The linked module's export of the late table.
pub(crate) const LATE_TABLE: &str = "weld:late-table";
/// The linked module's export of its start, when the fixup runs it.
pub(crate) const START: &str = "weld:start";

/// How a group is linked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkOptions {
    pub icf: Icf,
    pub strip_debug: bool,
    /// Validate the members' bodies while rewriting them.
    pub validate: bool,
}

/// Links `group`; `exports` are (member instance, its export, the name in
/// the linked module).
pub(crate) fn link_group(
    file: &str,
    group: &Group<'_>,
    exports: &[(u32, &str, String)],
    opts: LinkOptions,
) -> Result<Fused, FuseError> {
    let late_bytes = (!group.late.is_empty()).then(|| late_module(&group.late));
    let late_survey = match &late_bytes {
        Some(b) => Some(weld_format::survey("weld:late", b).map_err(|p| FuseError::Malformed(Box::new(p)))?),
        None => None,
    };
    let late = late_survey.as_ref().and_then(|s| s.as_module());
    let base = late.is_some() as u32;
    let mut files: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut modules: Vec<&ModuleSurvey<'_>> = Vec::new();
    if let Some(l) = late {
        files.push("weld:late".into());
        names.push("weld:late".into());
        modules.push(l);
    }
    for m in &group.members {
        files.push(format!("{file}: core instance {}", m.label));
        names.push(format!("core instance {}", m.label));
        modules.push(&m.survey);
    }
    let input_of = |instance: u32| {
        group
            .members
            .iter()
            .position(|m| m.instance == instance)
            .map(|k| InputId(k as u32 + base))
    };
    let mut targets: Vec<Vec<Target>> = Vec::new();
    if late.is_some() {
        targets.push(Vec::new());
    }
    for m in &group.members {
        let t = m
            .bindings
            .iter()
            .map(|b| match *b {
                Binding::Member { instance, name } => match input_of(instance) {
                    Some(provider) => {
                        let p = &modules[provider.as_usize()];
                        match p.exports.iter().position(|e| e.name == name) {
                            Some(export) => Target::Input {
                                provider,
                                export: export as u32,
                                rule: Rule::Wiring { semver: false },
                            },
                            None => Target::Missing {
                                provider,
                                reason: format!("core instance {instance} has no export `{name}`"),
                            },
                        }
                    }
                    None => Target::Unresolved {
                        reason: format!("core instance {instance} was dropped"),
                    },
                },
                Binding::External(i) => {
                    let e = &group.externals[i as usize];
                    Target::Renamed {
                        module: e.module.clone(),
                        name: e.name.clone(),
                    }
                }
                Binding::Late(j) => Target::Input {
                    provider: InputId(0),
                    // weld:late exports its table first, then trampoline j.
                    export: j + 1,
                    rule: Rule::Wiring { semver: false },
                },
            })
            .collect();
        targets.push(t);
    }
    let links = Resolution {
        targets,
        problems: Vec::new(),
        host_map: None,
    };
    let file_refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let cx = FuseCx {
        files: &file_refs,
        names: &name_refs,
        modules: &modules,
        links: &links,
        // component link's libraries keep their dylink.0 sections; the
        // layout they describe is already the component's.
        dylink: true,
    };
    let mut select: Vec<Selected> = exports
        .iter()
        .filter_map(|(inst, name, out)| {
            input_of(*inst).map(|input| Selected {
                input,
                name: name.to_string(),
                out: out.clone(),
            })
        })
        .collect();
    if late.is_some() {
        select.push(Selected {
            input: InputId(0),
            name: LATE_TABLE.into(),
            out: LATE_TABLE.into(),
        });
    }
    let order = (0..modules.len() as u32).map(InputId).collect();
    let stages = Stages {
        icf: opts.icf,
        plan: PlanOptions {
            on_conflict: OnConflict::Error,
            exports: None,
            select: Some(select),
            start_export: late.is_some().then(|| START.to_string()),
        },
        strip_debug: opts.strip_debug,
        source_maps: Default::default(),
        // The members' bodies are checked while rewritten; the caller
        // validates the whole component's sections, this module's included.
        validate: opts.validate,
        validate_output: false,
        reach: crate::fuse::reach::ReachOptions {
            keep_unused: false,
            keep_order: false,
        },
        merge_memories: false,
        merge_tables: false,
    };
    let (fused, _) = run_stages(&cx, order, &stages, None)?;
    Ok(fused)
}

/// `weld:late`: a funcref table with one slot per late function, exported
/// first, then one trampoline per function calling through its slot.
fn late_module(late: &[Late]) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut exports = ExportSection::new();
    let mut tables = TableSection::new();
    let n = late.len() as u64;
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        minimum: n,
        maximum: Some(n),
        table64: false,
        shared: false,
    });
    exports.export(LATE_TABLE, ExportKind::Table, 0);
    let conv = |v: &wasmparser::ValType| RoundtripReencoder.val_type(*v).expect("numeric types convert");
    for (j, l) in late.iter().enumerate() {
        let j = j as u32;
        types
            .ty()
            .function(l.params.iter().map(conv), l.results.iter().map(conv));
        funcs.function(j);
        let mut f = Function::new([]);
        for p in 0..l.params.len() as u32 {
            f.instruction(&Instruction::LocalGet(p));
        }
        f.instruction(&Instruction::I32Const(j as i32));
        f.instruction(&Instruction::CallIndirect {
            type_index: j,
            table_index: 0,
        });
        f.instruction(&Instruction::End);
        code.function(&f);
        exports.export(&format!("late {j}"), ExportKind::Func, j);
    }
    let mut m = Module::new();
    m.section(&types)
        .section(&funcs)
        .section(&tables)
        .section(&exports)
        .section(&code);
    m.finish()
}
