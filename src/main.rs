//! The `weld` command line: parse arguments, call weld-linker, print.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// weld links WebAssembly: fuse core modules, compose components, split and
/// bundle content-addressed stores.
#[derive(Parser)]
#[command(name = "weld", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// After success, print a one-line summary on stderr (output, size, time).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Print no warnings (errors still are).
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Fuse core modules into one, wiring imports to exports in instantiation order.
    Fuse(cli::fuse::Args),
    /// Compose components (shared-nothing): plug exports into imports, embed each distinct component once.
    Compose(cli::compose::Args),
    /// Link shared libraries (dylink.0) statically into one module: one memory
    /// and table laid out, GOT resolved, constructors in dependency order.
    Link(cli::link::Args),
    /// Flatten a component: the core modules that share memory (main, the
    /// preview1 adapter, `component link`'s libraries) linked into one, same WIT.
    Flatten(cli::flatten::Args),
    /// Run a command on each distinct core module of a component (once per
    /// content hash, in parallel) and put the component back together,
    /// checked and validated: `--exec 'wasm-opt -Oz {in} -o {out}'`.
    Map(cli::map::Args),
    /// Split a component: nested modules and components go to a content-addressed
    /// store (OCI image layout) and are imported back by canonical hash name.
    Split(cli::split::SplitArgs),
    /// Bundle a split root: inline every hash-named import from the store, verified.
    Bundle(cli::split::BundleArgs),
    /// Push an app to an OCI registry as a Wasm OCI artifact: split, each shared
    /// layer uploaded once (HEAD first, mounted across repositories where known).
    Push(cli::registry::PushArgs),
    /// Pull an app from an OCI registry (or an OCI layout), every blob verified
    /// as it streams, and bundle it.
    Pull(cli::registry::PullArgs),
    /// Inspect or verify a store.
    #[command(subcommand)]
    Store(cli::split::StoreCommand),
    /// Show the dependency graph: edges with the rule that matched, cycles,
    /// instantiation order, unresolved imports.
    Graph(cli::graph::Args),
    /// Print the SHA-256 digest, blake3 hash and canonical hash name of a file.
    Hash(cli::hash::Args),
    /// Print what a module or component holds (the survey).
    Inspect(cli::inspect::Args),
    /// Show where the bytes go: nested components and modules, sections,
    /// functions and data segments, each byte counted once; `--diff OLD NEW`.
    Size(cli::size::Args),
    /// Check a component against a WIT world: every import provided, every
    /// expected export present, exact or by semver, types checked. Exit 1
    /// when it does not conform.
    Targets(cli::targets::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbosity = match (cli.verbose, cli.quiet) {
        (true, _) => cli::output::Verbosity::Verbose,
        (_, true) => cli::output::Verbosity::Quiet,
        _ => cli::output::Verbosity::Normal,
    };
    // The subcommand: the first argument that is not a global flag.
    let name = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    cli::output::init(verbosity, &name);
    let result = match cli.command {
        Command::Fuse(a) => cli::fuse::exec(a),
        Command::Compose(a) => cli::compose::exec(a),
        Command::Link(a) => cli::link::exec(a),
        Command::Flatten(a) => cli::flatten::exec(a),
        Command::Map(a) => cli::map::exec(a),
        Command::Graph(a) => cli::graph::exec(a),
        Command::Split(a) => cli::split::exec_split(a),
        Command::Bundle(a) => cli::split::exec_bundle(a),
        Command::Store(c) => cli::split::exec_store(c),
        Command::Push(a) => cli::registry::exec_push(a),
        Command::Pull(a) => cli::registry::exec_pull(a),
        Command::Hash(a) => cli::hash::exec(a),
        Command::Inspect(a) => cli::inspect::exec(a),
        Command::Size(a) => cli::size::exec(a),
        Command::Targets(a) => cli::targets::exec(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Every weld error's own text already says its cause (the
            // source is kept for library callers), so only the top is printed.
            // Errors are one line, whatever a dependency's message holds.
            let text = e.to_string();
            let line: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            eprintln!("weld: error: {}", line.join("; "));
            ExitCode::from(1)
        }
    }
}
