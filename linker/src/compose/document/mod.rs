//! `weld compose DOC.wac`: a WAC document, parsed and resolved by
//! wac-parser, lowered into compose's own stages (never wac's encoder).
//!
//! Pipeline: parse → [`refs`] (every package the document names, once) →
//! [`find`] (its bytes: `--dep`, the deps directory, the store, a
//! registry) → wac-parser's resolver (names, argument types, spreads,
//! implicit imports, the `targets` clause) → [`lower`] (each instantiation
//! a child, each argument a source, each exported node an export) →
//! compose's stages from ordering on: semver-merged imports of the result,
//! nested-module dedupe, limits, validation. Any fault of the document is a
//! [`DocumentError`] at its file, line and column.

pub mod find;
pub mod lower;
pub mod print;
pub mod refs;
pub mod speculate;

use indexmap::IndexMap;
use miette::Diagnostic;
use rayon::prelude::*;
use wac_graph::types::BorrowedPackageKey;
use wac_parser::{Document, Statement};

use super::contents::Contents;
use super::emit::Shape;
use super::{compose_wired, ComposeOptions, Composed};
use crate::error::{DocumentError, Error};
#[cfg(feature = "registry")]
pub use find::RegistrySource;
pub use find::{FoundPackage, PackageSources};
use weld_format::InputId;

/// A composed document, and where each of its packages came from.
#[derive(Debug)]
pub struct ComposedDocument {
    /// The composition, as [`compose`](super::compose) reports it.
    pub composed: Composed,
    /// Every package the document names, in the order first named.
    pub packages: Vec<PackageReport>,
    /// Whether compose ran while wac-parser's resolver did: the document
    /// has the plain shape weld reads ahead (`let`s of `new` with named
    /// arguments, exports of one export), and the resolved
    /// lowering equalled the guess. The output is the same either way.
    pub read_ahead: bool,
}

/// One package of a document.
#[derive(Debug, Clone)]
pub struct PackageReport {
    /// `ns:pkg` or `ns:pkg@version`, as the document names it.
    pub package: String,
    /// Where its bytes came from.
    pub from: String,
    /// Blobs a registry sent for it.
    pub fetched: usize,
}

/// Composes the WAC document `source` (read from `file`, which names it in
/// errors), its packages found in `packages`.
///
/// ```
/// use weld_linker::{compose_document, ComposeOptions, PackageSources};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir_all(dir.path().join("demo"))?;
/// std::fs::write(dir.path().join("demo/greeter.wat"), r#"(component
///     (core module $m (func (export "hello") (result i32) i32.const 42))
///     (core instance $i (instantiate $m))
///     (func $f (result u32) (canon lift (core func $i "hello")))
///     (export "hello" (func $f)))"#)?;
/// std::fs::write(dir.path().join("demo/app.wat"), r#"(component
///     (import "hello" (func $h (result u32)))
///     (export "run" (func $h)))"#)?;
/// let doc = "package demo:composition;
///     let g = new demo:greeter {};
///     let a = new demo:app { hello: g.hello };
///     export a.run;";
/// let sources = PackageSources { deps_dir: Some(dir.path().to_path_buf()), ..Default::default() };
/// let out = compose_document(&ComposeOptions::default(), "app.wac", doc, &sources)?;
/// assert_eq!(out.composed.order, ["g", "a"]);
/// wasmparser::Validator::new().validate_all(&out.composed.bytes)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compose_document(
    opts: &ComposeOptions,
    file: &str,
    source: &str,
    packages: &PackageSources,
) -> Result<ComposedDocument, Error> {
    let at = |span: miette::SourceSpan, message: String| {
        DocumentError::at(file, source, span.offset(), span.len(), message)
    };
    let doc = Document::parse(source).map_err(|e| diagnostic(file, source, &e))?;
    let refs = match refs::referenced(&doc) {
        refs::Found::Packages(p) => p,
        refs::Found::SelfInstantiation(span) => {
            return Err(at(span, "a document cannot instantiate its own package".to_string()).into())
        }
    };

    // Every package found before resolution (files read in parallel).
    let keys: Vec<(&refs::PackageRef<'_>, &miette::SourceSpan)> = refs.iter().collect();
    let found: Vec<Result<FoundPackage, String>> = keys.par_iter().map(|(r, _)| packages.find(r)).collect();
    let mut bytes: IndexMap<BorrowedPackageKey<'_>, Vec<u8>> = IndexMap::with_capacity(keys.len());
    let mut own: Vec<(String, Vec<u8>)> = Vec::with_capacity(keys.len());
    let mut reports = Vec::with_capacity(keys.len());
    for ((r, span), f) in keys.iter().zip(found) {
        let f = f.map_err(|why| at(**span, why))?;
        reports.push(PackageReport {
            package: find::display(r),
            from: f.from,
            fetched: f.fetched,
        });
        own.push((find::display(r), f.bytes.clone()));
        bytes.insert(
            BorrowedPackageKey::from_name_and_version(r.name, r.version),
            f.bytes,
        );
    }
    // One input per package (a package instantiated twice is one content).
    let inputs = weld_format::Inputs::from_memory(own)?;

    let input_of: std::collections::HashMap<(&str, Option<&semver::Version>), InputId> = keys
        .iter()
        .enumerate()
        .map(|(i, (r, _))| ((r.name, r.version), InputId(i as u32)))
        .collect();
    // wac-parser resolves on one thread (it validates every package) while
    // compose surveys the packages on another and, when the document has
    // the plain shape `speculate` reads, composes its guess of the
    // lowering. The guess is kept only if the resolved lowering equals it.
    // A fault of the document is told before one of a package.
    let no_imports: [String; 0] = [];
    let (resolution, contents, early) = std::thread::scope(|scope| {
        let resolving = scope.spawn(|| doc.resolve(bytes).map_err(|e| diagnostic(file, source, &e)));
        let contents = Contents::of(&inputs);
        let early = contents.as_ref().ok().and_then(|c| {
            let guess = speculate::guess(&doc, &input_of, c)?;
            let children = c.children_named(&guess.named);
            let shape = Shape {
                root: None,
                exports: &guess.exports,
                first_imports: &no_imports,
            };
            let composed = compose_wired(opts, &inputs, c, &children, guess.sources.clone(), &shape);
            Some((guess, composed))
        });
        (resolving.join(), contents, early)
    });
    let resolution = match resolution {
        Ok(r) => r?,
        // wac-parser panicked: said as the document's fault, never passed on.
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            return Err(at(
                (0, 0).into(),
                format!("wac-parser failed to resolve the document: {why}"),
            )
            .into());
        }
    };
    let contents = contents?;
    let g = resolution.graph();
    let inst = lower::Instantiations::of(g);
    if inst.nodes.is_empty() {
        return Err(at(
            (0, source.len().min(1)).into(),
            "the document instantiates no package".to_string(),
        )
        .into());
    }
    // Each instantiation a child of its package's input.
    let mut named: Vec<(&str, InputId)> = Vec::with_capacity(inst.nodes.len());
    for (node, name) in &inst.nodes {
        let input = g[*node]
            .package()
            .map(|p| &g[p])
            .and_then(|p| input_of.get(&(p.name(), p.version())));
        match input {
            Some(&i) => named.push((name.as_str(), i)),
            None => {
                return Err(at(
                    (0, 0).into(),
                    format!("`{name}`: its package is not one the document names"),
                )
                .into())
            }
        }
    }
    let children = contents.children_named(&named);
    let (sources, exports) = lower::lower(g, &inst, &children).map_err(|r| {
        let span = refusal_span(&doc, &r);
        let message = if r.child.is_empty() {
            format!("{}: {}", r.what, r.why)
        } else {
            format!("`{}` {}: {}", r.child, r.what, r.why)
        };
        at(span, message)
    })?;
    // The document's `import` statements, in order, come first.
    let explicit: Vec<String> = g
        .node_ids()
        .filter_map(|n| g[n].import_name().map(str::to_string))
        .collect();
    drop(resolution);
    let guessed = match early {
        Some((guess, composed))
            if explicit.is_empty()
                && guess.named == named
                && guess.sources == sources
                && guess.exports == exports =>
        {
            Some(composed)
        }
        _ => None,
    };
    let read_ahead = guessed.is_some();
    let mut composed = match guessed {
        Some(composed) => composed?,
        None => {
            let shape = Shape {
                root: None,
                exports: &exports,
                first_imports: &explicit,
            };
            compose_wired(opts, &inputs, &contents, &children, sources, &shape)?
        }
    };
    for name in &explicit {
        if !composed.imports.contains(name) {
            composed.warnings.push(format!(
                "import `{name}` is passed to no instantiation; the result does not import it"
            ));
        }
    }
    Ok(ComposedDocument {
        composed,
        packages: reports,
        read_ahead,
    })
}

/// A wac diagnostic as one line at its primary label.
fn diagnostic(file: &str, source: &str, e: &dyn Diagnostic) -> DocumentError {
    let labels: Vec<miette::LabeledSpan> = e.labels().map(|l| l.collect()).unwrap_or_default();
    let label = labels.iter().find(|l| l.primary()).or(labels.first());
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    if let Some(help) = e.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    let (offset, len) = label.map_or((0, 0), |l| (l.offset(), l.len()));
    DocumentError::at(file, source, offset, len, message)
}

/// Where a refusal points: the `let` of its child, else the export
/// statement that names it, else the document's start.
fn refusal_span(doc: &Document<'_>, r: &lower::Refusal) -> miette::SourceSpan {
    let name = r.what.split('`').nth(1).unwrap_or("");
    for stmt in &doc.statements {
        match stmt {
            Statement::Let(l) if !r.child.is_empty() && l.id.string == r.child => return l.id.span,
            Statement::Export(e) if r.child.is_empty() => {
                let renamed = match &e.options {
                    wac_parser::ExportOptions::Rename(n) => n.as_str() == name,
                    _ => false,
                };
                let accessed = e.expr.postfix.last().is_some_and(|p| match p {
                    wac_parser::PostfixExpr::Access(a) => a.id.string == name,
                    wac_parser::PostfixExpr::NamedAccess(a) => a.string.value == name,
                });
                if renamed || accessed {
                    return e.expr.span;
                }
            }
            _ => {}
        }
    }
    (0, 0).into()
}
