//! The WebAssembly spec test suite through `weld fuse`, run in wasmtime.
//!
//! For every `.wast` script of `../shared/spec-testsuite/` (the core tests at
//! the root, `legacy/`, `custom/` and `proposals/*/`):
//!
//! 1. the script is parsed (`wast`) and converted (`json-from-wast`) into
//!    its directives and module binaries;
//! 2. every module a directive instantiates is replaced by `weld fuse` of
//!    that module alone, precompiled for wasmtime;
//! 3. every module of an `assert_invalid` or `assert_malformed` must be
//!    refused by weld with an error, never a panic, and never accepted;
//! 4. wasmtime-wast runs the directives over the fused modules
//!    (`precompile_load`), with `spectest` registered. A failing directive
//!    is recorded and removed, and the script runs again, so every failure
//!    is found, not only the first.
//!
//! Then, **registered module sets**: for each module that imports from
//! modules the script `register`ed, the importer is fused together with the
//! modules registered under those names (one module, nothing left to
//! import from them), and the directives after it that only touch the
//! importer's own exports run against the fused set. A script that
//! observes the registered instances' state or identity (it acts on them
//! between instantiations, or compares across modules) gets failures here
//! that are listed with that reason.
//!
//! The table printed is per script (passed, failed, not applicable) and per
//! group (core, legacy, custom, each proposal). `expectations.toml` lists
//! what is not applicable and every known failure with its reason; a new
//! failure fails the test, and so does a listed one that now passes (the
//! list stays true). `WELD_SPEC_FILTER=substring` runs only matching
//! scripts. Errors messages are not compared (weld's and wasmtime's differ
//! from the reference interpreter's): a refusal is a refusal.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use json_from_wast::{Command, WasmFile, WasmFileType, Wast};
use rayon::prelude::*;
use wasmtime::{Config, Engine};
use wasmtime_wast::{Async, SpectestConfig, WastContext};
use weld_format::Inputs;
use weld_linker::{fuse, FuseOptions};

/// The name fused inputs get: one no script imports from.
const INPUT: &str = "weld-spec-input";
/// How many times one script is re-run after removing a failing directive.
const MAX_RERUNS: usize = 400;

/// The suite: `WELD_SPEC_SUITE`, else `shared/spec-testsuite` beside the
/// checkout or beside any folder above it (a CI clone may sit deeper than
/// the project), else the machine's shared folder.
fn suite() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("WELD_SPEC_SUITE") {
        Some(d) => vec![PathBuf::from(d)],
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|a| a.join("shared/spec-testsuite"))
            .chain([PathBuf::from("/work/shared/spec-testsuite")])
            .collect(),
    };
    if let Some(dir) = candidates.iter().find(|d| d.join("LICENSE").is_file()) {
        return Some(dir.clone());
    }
    let why = format!(
        "the spec test suite is in none of {} (set WELD_SPEC_SUITE)",
        candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("skipped: {why}");
    None
}

fn engine() -> Engine {
    let mut c = Config::new();
    c.wasm_gc(true)
        .wasm_function_references(true)
        .wasm_exceptions(true)
        .wasm_tail_call(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_threads(true)
        .wasm_relaxed_simd(true)
        .wasm_extended_const(true)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true)
        .shared_memory(true);
    Engine::new(&c).expect("engine")
}

/// The scripts, relative to the suite, sorted, with their group.
fn scripts(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |dir: &Path, group: &str, prefix: &str| {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        let mut v: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wast"))
            .collect();
        v.sort();
        out.extend(v.into_iter().map(|n| (format!("{prefix}{n}"), group.to_string())));
    };
    add(root, "core", "");
    add(&root.join("legacy"), "legacy", "legacy/");
    add(&root.join("custom"), "custom", "custom/");
    let mut proposals: Vec<String> = std::fs::read_dir(root.join("proposals"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    proposals.sort();
    for p in proposals {
        add(
            &root.join("proposals").join(&p),
            &format!("proposals/{p}"),
            &format!("proposals/{p}/"),
        );
    }
    out
}

/// How a script uses a module file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Instantiated (or defined, or expected not to link or instantiate).
    Valid,
    /// Expected to be refused (`assert_invalid`, `assert_malformed`).
    Refused,
}

fn file_of<'c, 'a>(c: &'c Command<'a>) -> Option<(&'c WasmFile<'a>, Use)> {
    match c {
        Command::Module { file, .. }
        | Command::ModuleDefinition { file, .. }
        | Command::AssertUnlinkable { file, .. }
        | Command::AssertUninstantiable { file, .. } => Some((file, Use::Valid)),
        Command::AssertInvalid { file, .. } | Command::AssertMalformed { file, .. } => {
            Some((file, Use::Refused))
        }
        _ => None,
    }
}

fn each_command<'c, 'a>(cmds: &'c [Command<'a>], f: &mut impl FnMut(&'c Command<'a>)) {
    for c in cmds {
        f(c);
        if let Command::Thread { commands, .. } = c {
            each_command(commands, f);
        }
    }
}

/// The name wasmtime-wast looks a module up by.
fn lookup_name<'f>(file: &'f WasmFile<'_>) -> &'f str {
    match file.module_type {
        WasmFileType::Text => file.binary_filename.as_deref().unwrap_or(&file.filename),
        WasmFileType::Binary => &file.filename,
    }
}

/// `weld fuse` of `inputs` (name, bytes), keeping only `exports` when
/// given; a panic is an error too.
fn weld_fuse(inputs: Vec<(String, Vec<u8>)>, exports: Option<Vec<String>>) -> Result<Vec<u8>, String> {
    let run = || -> Result<Vec<u8>, String> {
        let set = Inputs::from_memory(inputs).map_err(|e| e.to_string())?;
        let opts = FuseOptions {
            on_conflict: if exports.is_some() {
                weld_linker::OnConflict::Skip
            } else {
                weld_linker::OnConflict::Error
            },
            exports,
            ..FuseOptions::default()
        };
        fuse(&opts, &set)
            .map(|f| f.bytes.into_vec())
            .map_err(|e| e.to_string())
    };
    match std::panic::catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "PANIC: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// The outcome of one script.
#[derive(Default)]
struct Outcome {
    directives: usize,
    /// Line -> why it failed (weld's part or wasmtime's).
    failed: BTreeMap<u32, String>,
    /// The whole script could not be run: why.
    not_run: Option<String>,
    /// Directives wasmtime-wast 48 does not implement
    /// (`assert_malformed_custom`, `assert_invalid_custom`), not run.
    not_applicable: usize,
    /// Registered sets: directives run against fused sets, and failures.
    set_directives: usize,
    set_failed: BTreeMap<u32, String>,
}

/// The line of the directive an error from wasmtime-wast is about.
fn failing_line(e: &wasmtime::Error) -> Option<u32> {
    let text = format!("{e:#}");
    let at = text.find("failed directive on ")?;
    let rest = &text[at..];
    let colon = rest.find(':')?;
    rest[colon + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// Runs the directives (`json`: a json-from-wast script) in wasmtime-wast
/// over the cwasm files of `dir`, removing each failing directive and
/// running again. Returns the failures, by line.
fn run_directives(
    engine: &Engine,
    dir: &Path,
    script: &str,
    mut json: String,
    why: &HashMap<u32, String>,
) -> Result<BTreeMap<u32, String>, String> {
    let stem = Path::new(script)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut failed = BTreeMap::new();
    for _ in 0..MAX_RERUNS {
        std::fs::write(dir.join(&stem).with_extension("json"), &json).map_err(|e| e.to_string())?;
        let mut cx = WastContext::new(engine, Async::No, |_| {});
        cx.register_spectest(&SpectestConfig {
            use_shared_memory: true,
            suppress_prints: true,
        })
        .map_err(|e| e.to_string())?;
        cx.ignore_error_messages(true);
        cx.precompile_load(dir);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| cx.run_file(Path::new(&stem))));
        let err = match result {
            Ok(Ok(())) => return Ok(failed),
            Ok(Err(e)) => e,
            Err(_) => return Err("wasmtime-wast panicked".into()),
        };
        let Some(line) = failing_line(&err) else {
            return Err(format!("{err:#}"));
        };
        let reason = why.get(&line).cloned().unwrap_or_else(|| {
            let root = err.root_cause().to_string();
            root.lines().next().unwrap_or("").to_string()
        });
        failed.insert(line, reason);
        json = {
            let mut wast: Wast<'_> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            let before = wast.commands.len();
            wast.commands.retain(|c| c.line() != line);
            if wast.commands.len() == before {
                return Err(format!("line {line} failed inside a thread block: {err:#}"));
            }
            serde_json::to_string(&wast).map_err(|e| e.to_string())?
        };
    }
    Err(format!("more than {MAX_RERUNS} failing directives"))
}

/// A json-from-wast script of `commands` (JSON values).
fn script_json(script: &str, commands: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "source_filename": script, "commands": commands }).to_string()
}

/// Runs one script. With `weld_only` (a script whose run in wasmtime is not
/// applicable), only weld's part: invalid modules refused, nothing panics.
fn run_script(engine: &Engine, root: &Path, script: &str, weld_only: bool) -> Outcome {
    let mut out = Outcome::default();
    let text = match std::fs::read_to_string(root.join(script)) {
        Ok(t) => t,
        Err(e) => {
            out.not_run = Some(e.to_string());
            return out;
        }
    };
    let mut lexer = wast::lexer::Lexer::new(&text);
    lexer.allow_confusing_unicode(script.ends_with("names.wast"));
    let buf = match wast::parser::ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            out.not_run = Some(format!("does not parse: {}", e.message()));
            return out;
        }
    };
    let ast = match wast::parser::parse::<wast::Wast>(&buf) {
        Ok(a) => a,
        Err(e) => {
            out.not_run = Some(format!("does not parse: {}", e.message()));
            return out;
        }
    };
    let wast = match json_from_wast::Opts::default().convert(script, &text, ast) {
        Ok(w) => w,
        Err(e) => {
            out.not_run = Some(format!("does not convert: {e:#}"));
            return out;
        }
    };
    out.directives = wast.commands.len();
    let dir = tempfile::tempdir().expect("temp dir");

    // How each module file is used, and where.
    let mut uses: HashMap<String, (Use, u32)> = HashMap::new();
    each_command(&wast.commands, &mut |c| {
        if let Some((file, u)) = file_of(c) {
            uses.insert(file.filename.to_string(), (u, c.line()));
            if let Some(b) = &file.binary_filename {
                uses.insert(b.to_string(), (u, c.line()));
            }
        }
    });
    // Why a line fails, when weld is the reason (it refused a valid module).
    let mut why: HashMap<u32, String> = HashMap::new();
    for (name, bytes) in &wast.wasms {
        let Some(&(u, line)) = uses.get(name) else {
            continue;
        };
        let is_text = name.ends_with(".wat");
        match u {
            Use::Valid if is_text => {}
            Use::Valid if weld_only => {
                if let Err(e) = weld_fuse(vec![(INPUT.to_string(), bytes.clone())], None) {
                    if e.starts_with("PANIC") {
                        out.failed.insert(line, format!("weld panicked: {e}"));
                    }
                }
            }
            Use::Valid => {
                if !wasmparser::Parser::is_core_wasm(bytes) {
                    why.insert(line, "a component: fuse takes core modules".into());
                    continue;
                }
                match weld_fuse(vec![(INPUT.to_string(), bytes.clone())], None) {
                    Ok(fused) => match engine.precompile_module(&fused) {
                        Ok(cwasm) => {
                            std::fs::write(dir.path().join(name).with_extension("cwasm"), cwasm)
                                .expect("write cwasm");
                        }
                        Err(e) => {
                            why.insert(
                                line,
                                format!("the fused module does not compile: {}", e.root_cause()),
                            );
                        }
                    },
                    Err(e) => {
                        why.insert(line, format!("weld refused a valid module: {e}"));
                    }
                }
            }
            Use::Refused => {
                // An invalid module must be refused by weld, never accepted,
                // and never panic. A text module that does not parse is the
                // text parser's to refuse (weld reads WAT with `wat`).
                match weld_fuse(vec![(INPUT.to_string(), bytes.clone())], None) {
                    Err(e) if e.starts_with("PANIC") => {
                        out.failed.insert(line, format!("weld panicked: {e}"));
                    }
                    Err(_) => {}
                    Ok(_) => {
                        out.failed.insert(line, "weld accepted an invalid module".into());
                    }
                }
            }
        }
    }

    if weld_only {
        return out;
    }
    // wasmtime-wast 48 does not implement the custom-section directives.
    let mut wast = wast;
    let before = wast.commands.len();
    wast.commands.retain(|c| {
        !matches!(
            c,
            Command::AssertMalformedCustom { .. } | Command::AssertInvalidCustom { .. }
        )
    });
    out.not_applicable = before - wast.commands.len();
    let json = serde_json::to_string(&wast).expect("serializes");
    match run_directives(engine, dir.path(), script, json, &why) {
        Ok(f) => out.failed.extend(f),
        Err(e) => out.not_run = Some(e),
    }
    registered_sets(engine, script, &wast.commands, &wast.wasms, &mut out);
    out
}

/// Registered module sets: each importer fused with the modules registered
/// under the names it imports from, and the directives after it that touch
/// only its exports run against the fused set.
fn registered_sets(
    engine: &Engine,
    script: &str,
    commands: &[Command<'_>],
    wasms: &[(String, Vec<u8>)],
    out: &mut Outcome,
) {
    let bytes_of: HashMap<&str, &[u8]> = wasms.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    // Module files by instance name (`$M`), the last defined.
    let mut by_instance: HashMap<String, String> = HashMap::new();
    // Registered name -> module file.
    let mut registered: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for (k, c) in commands.iter().enumerate() {
        match c {
            Command::Module { name, file, .. } => {
                let f = lookup_name(file).to_string();
                if let Some(n) = name {
                    by_instance.insert(n.to_string(), f.clone());
                }
                current = Some(f.clone());
                let Some(bytes) = bytes_of.get(f.as_str()) else {
                    continue;
                };
                let imports = import_modules(bytes);
                let providers: Vec<(String, String)> = imports
                    .iter()
                    .filter(|m| *m != "spectest")
                    .filter_map(|m| registered.get(m).map(|f| (m.clone(), f.clone())))
                    .collect();
                if providers.is_empty()
                    || providers.len() != imports.iter().filter(|m| *m != "spectest").count()
                {
                    continue;
                }
                fuse_set(
                    engine,
                    script,
                    commands,
                    k,
                    &f,
                    name.as_deref(),
                    &providers,
                    &bytes_of,
                    out,
                );
            }
            Command::Register { name, as_, .. } => {
                let f = match name {
                    Some(n) => by_instance.get(n.as_ref()).cloned(),
                    None => current.clone(),
                };
                if let Some(f) = f {
                    registered.insert(as_.to_string(), f);
                }
            }
            _ => {}
        }
    }
}

/// The export names of a module.
fn export_names(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::ExportSection(r)) = payload {
            out.extend(r.into_iter().flatten().map(|e| e.name.to_string()));
        }
    }
    out
}

/// The distinct module names `bytes` imports from.
fn import_modules(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(wasmparser::Payload::ImportSection(r)) = payload else {
            continue;
        };
        for imp in r.into_imports().flatten() {
            if !out.iter().any(|m| m == imp.module) {
                out.push(imp.module.to_string());
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn fuse_set(
    engine: &Engine,
    script: &str,
    commands: &[Command<'_>],
    at: usize,
    importer: &str,
    instance: Option<&str>,
    providers: &[(String, String)],
    bytes_of: &HashMap<&str, &[u8]>,
    out: &mut Outcome,
) {
    let line = commands[at].line();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, file) in providers {
        match bytes_of.get(file.as_str()) {
            Some(b) => inputs.push((name.clone(), b.to_vec())),
            None => return,
        }
    }
    // The importer first: with conflicts skipped, its exports keep their
    // names (instantiation order comes from the imports, not this order).
    inputs.insert(0, (INPUT.to_string(), bytes_of[importer].to_vec()));
    let dir = tempfile::tempdir().expect("temp dir");
    // Only the importer's exports: the providers' may share its names.
    let exports = export_names(bytes_of[importer]);
    let fused = match weld_fuse(inputs, Some(exports)) {
        Ok(f) => f,
        Err(e) => {
            out.set_directives += 1;
            out.set_failed.insert(line, format!("the set does not fuse: {e}"));
            return;
        }
    };
    let cwasm = match engine.precompile_module(&fused) {
        Ok(c) => c,
        Err(e) => {
            out.set_directives += 1;
            out.set_failed.insert(
                line,
                format!("the fused set does not compile: {}", e.root_cause()),
            );
            return;
        }
    };
    let fused_name = format!("weld-set-{line}.wasm");
    std::fs::write(dir.path().join(&fused_name).with_extension("cwasm"), cwasm).expect("write");
    // The fused module in the importer's place, then the directives after
    // it that act on it only: until the next module definition.
    let mut module = serde_json::json!({
        "type": "module", "line": line, "filename": fused_name, "module_type": "binary",
    });
    if let Some(n) = instance {
        module["name"] = n.into();
    }
    let mut cmds = vec![module];
    for c in &commands[at + 1..] {
        let own = match c {
            Command::Module { .. } | Command::ModuleDefinition { .. } | Command::ModuleInstance { .. } => {
                break
            }
            Command::AssertReturn { action, .. }
            | Command::Action { action, .. }
            | Command::AssertTrap { action, .. }
            | Command::AssertExhaustion { action, .. }
            | Command::AssertException { action, .. } => {
                let target = match action {
                    json_from_wast::Action::Invoke { module, .. }
                    | json_from_wast::Action::Get { module, .. } => module.as_deref(),
                };
                target.is_none() || target == instance
            }
            _ => false,
        };
        if own {
            cmds.push(serde_json::to_value(c).expect("serializes"));
        }
    }
    out.set_directives += cmds.len();
    match run_directives(
        engine,
        dir.path(),
        script,
        script_json(script, cmds),
        &HashMap::new(),
    ) {
        Ok(f) => out.set_failed.extend(f),
        Err(e) => {
            out.set_failed.insert(line, e);
        }
    }
}

/// `expectations.toml`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expectations {
    /// Script -> why it cannot run here at all.
    #[serde(default, rename = "not-applicable")]
    not_applicable: BTreeMap<String, String>,
    /// Script -> line -> why that directive fails (scripts run one module
    /// at a time).
    #[serde(default)]
    failures: BTreeMap<String, BTreeMap<String, String>>,
    /// Script -> line -> why that directive fails when run against a
    /// registered module set.
    #[serde(default, rename = "set-failures")]
    set_failures: BTreeMap<String, BTreeMap<String, String>>,
}

fn main() {
    // `cargo test` passes harness flags (`--quiet`, filters); the filter
    // is WELD_SPEC_FILTER.
    let Some(root) = suite() else { return };
    let expectations: Expectations = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("expectations.toml"))
            .expect("expectations.toml"),
    )
    .expect("expectations.toml parses");
    let filter = std::env::var("WELD_SPEC_FILTER").unwrap_or_default();
    let engine = engine();
    let all: Vec<(String, String)> = scripts(&root)
        .into_iter()
        .filter(|(s, _)| s.contains(&filter))
        .collect();
    let started = std::time::Instant::now();
    let results: Vec<(String, String, Outcome)> = all
        .par_iter()
        .map(|(script, group)| {
            let weld_only = expectations.not_applicable.contains_key(script);
            let o = run_script(&engine, &root, script, weld_only);
            (script.clone(), group.clone(), o)
        })
        .collect();

    let mut problems: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, (usize, usize, usize, usize, usize)> = BTreeMap::new();
    println!(
        "{:<58} {:>7} {:>7} {:>5}   sets: {:>5} {:>5}",
        "script", "passed", "failed", "n/a", "run", "fail"
    );
    for (script, group, o) in &results {
        let g = groups.entry(group.clone()).or_default();
        if let Some(reason) = expectations.not_applicable.get(script) {
            println!("{script:<58} {:>7} {:>7} {:>5}   n/a: {reason}", "-", "-", "all");
            g.2 += 1;
            // weld's part still holds: invalid modules refused, no panic.
            for (line, why) in &o.failed {
                problems.push(format!("{script}:{line}: {why}"));
            }
            continue;
        }
        if let Some(why) = &o.not_run {
            problems.push(format!("{script}: could not run: {why}"));
            println!("{script:<58} not run: {why}");
            continue;
        }
        let passed = o.directives - (o.failed.len() + o.not_applicable).min(o.directives);
        println!(
            "{script:<58} {passed:>7} {:>7} {:>5}   sets: {:>5} {:>5}",
            o.failed.len(),
            o.not_applicable,
            o.set_directives,
            o.set_failed.len()
        );
        g.0 += passed;
        g.1 += o.failed.len();
        g.4 += o.not_applicable;
        g.3 += o.set_directives - o.set_failed.len().min(o.set_directives);
        for (kind, actual, expected) in [
            ("", &o.failed, expectations.failures.get(script)),
            ("set ", &o.set_failed, expectations.set_failures.get(script)),
        ] {
            let empty = BTreeMap::new();
            let expected = expected.unwrap_or(&empty);
            for (line, why) in actual {
                if !expected.contains_key(&line.to_string()) {
                    problems.push(format!("{script}:{line}: new {kind}failure: {why}"));
                }
            }
            for line in expected.keys() {
                if !line.parse::<u32>().is_ok_and(|l| actual.contains_key(&l)) {
                    problems.push(format!(
                        "{script}:{line}: listed as a {kind}failure in expectations.toml but passes; remove it"
                    ));
                }
            }
        }
    }
    println!();
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>10} {:>12}",
        "group", "passed", "failed", "n/a", "n/a files", "set passed"
    );
    for (g, (p, f, na_files, sp, na)) in &groups {
        println!("{g:<30} {p:>8} {f:>8} {na:>8} {na_files:>10} {sp:>12}");
    }
    println!("{} scripts in {:.1?}", results.len(), started.elapsed());
    if !problems.is_empty() {
        eprintln!("\n{} problems:", problems.len());
        for p in &problems {
            eprintln!("  {p}");
        }
        std::process::exit(1);
    }
}
