//! `weld size FILE... [--depth N] [--top N] [--json] [--html OUT.html] [--by-source] [--diff]`

use std::collections::BTreeMap;
use std::process::ExitCode;

use weld_linker::SizeNode;

/// Arguments of `weld size`.
#[derive(clap::Args)]
pub struct Args {
    /// Modules or components (`.wasm`, or `.wat` measured as the binary it denotes).
    #[arg(required = true)]
    files: Vec<String>,
    /// Levels of the tree printed (the JSON always has all).
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Print the whole tree as JSON.
    #[arg(long)]
    json: bool,
    /// Compare two files (OLD NEW): growth and shrinkage per part, largest
    /// change first; the changes sum to the difference of the sizes.
    #[arg(long)]
    diff: bool,
    /// Children printed per node, largest first; the rest are summed up.
    #[arg(long, default_value_t = 12)]
    top: usize,
    /// The code by source directory and file, from the DWARF line tables
    /// (modules without them are left out).
    #[arg(long)]
    by_source: bool,
    /// Write a self-contained HTML report (zoomable treemap and sortable
    /// table; by source file too where there is DWARF). One file only.
    #[arg(long, value_name = "OUT.html")]
    html: Option<std::path::PathBuf>,
}

fn read(file: &str) -> anyhow::Result<Vec<u8>> {
    let raw = std::fs::read(file).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if raw.starts_with(b"\0asm") {
        return Ok(raw);
    }
    match wat::parse_bytes(&raw) {
        Ok(b) => Ok(b.into_owned()),
        // Neither: measured as it is (the tree marks it unreadable).
        Err(_) => Ok(raw),
    }
}

/// Runs `weld size`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    if args.diff {
        let [old, new] = args.files.as_slice() else {
            anyhow::bail!("--diff takes two files: OLD NEW");
        };
        let (a, b) = (read(old)?, read(new)?);
        return diff(
            &args,
            &weld_linker::size_tree(old, &a),
            &weld_linker::size_tree(new, &b),
        );
    }
    if let Some(out) = &args.html {
        let [file] = args.files.as_slice() else {
            anyhow::bail!("--html takes one file");
        };
        let bytes = read(file)?;
        let (tree, source) = rayon::join(
            || weld_linker::size_tree(file, &bytes),
            || weld_linker::size_by_source(file, &bytes),
        );
        let page = super::size_html::page(file, &tree, source.as_ref())?;
        weld_format::write::write_atomic(out, page.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut trees = Vec::new();
    for f in &args.files {
        let bytes = read(f)?;
        if args.by_source {
            match weld_linker::size_by_source(f, &bytes) {
                Some(t) => trees.push(t),
                None => super::output::warn(format!("{f}: no DWARF line tables")),
            }
        } else {
            trees.push(weld_linker::size_tree(f, &bytes));
        }
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&trees)?);
        return Ok(ExitCode::SUCCESS);
    }
    for t in &trees {
        outln!("{}: {} bytes", t.name, t.bytes);
        print(&args, t, t.bytes, 0)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print(args: &Args, n: &SizeNode, total: u64, level: usize) -> anyhow::Result<()> {
    let pct = if total > 0 {
        100.0 * n.bytes as f64 / total as f64
    } else {
        0.0
    };
    let mut note = String::new();
    if let Some(first) = &n.same_as {
        note = format!("  (same bytes as {first})");
    }
    if let Some(p) = &n.problem {
        note = format!("  ({p})");
    }
    let label = match n.kind {
        "module" | "component" if !n.name.starts_with(n.kind) => format!("{} {}", n.kind, n.name),
        _ => n.name.clone(),
    };
    outln!(
        "{:>6.1}% {:>12}  {}{}{}",
        pct,
        n.bytes,
        "  ".repeat(level),
        label,
        note
    );
    if level + 1 >= args.depth {
        return Ok(());
    }
    let mut children: Vec<&SizeNode> = n.children.iter().collect();
    children.sort_by_key(|c| std::cmp::Reverse(c.bytes));
    for c in children.iter().take(args.top) {
        print(args, c, total, level + 1)?;
    }
    if children.len() > args.top {
        let rest: u64 = children[args.top..].iter().map(|c| c.bytes).sum();
        let pct = if total > 0 {
            100.0 * rest as f64 / total as f64
        } else {
            0.0
        };
        outln!(
            "{:>6.1}% {:>12}  {}({} more)",
            pct,
            rest,
            "  ".repeat(level + 1),
            children.len() - args.top
        );
    }
    Ok(())
}

/// One line per part that changed, by path, largest change first.
fn diff(args: &Args, old: &SizeNode, new: &SizeNode) -> anyhow::Result<ExitCode> {
    let mut parts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (p, b) in old.leaves() {
        parts.entry(p).or_default().0 = b;
    }
    for (p, b) in new.leaves() {
        parts.entry(p).or_default().1 = b;
    }
    let mut changed: Vec<(String, i64, u64, u64)> = parts
        .into_iter()
        .filter(|(_, (a, b))| a != b)
        .map(|(p, (a, b))| (p, b as i64 - a as i64, a, b))
        .collect();
    changed.sort_by(|x, y| y.1.abs().cmp(&x.1.abs()).then_with(|| x.0.cmp(&y.0)));
    if args.json {
        let rows: Vec<serde_json::Value> = changed
            .iter()
            .map(|(p, d, a, b)| serde_json::json!({"path": p, "delta": d, "old": a, "new": b}))
            .collect();
        let total = new.bytes as i64 - old.bytes as i64;
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"old": old.bytes, "new": new.bytes, "delta": total, "parts": rows})
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} -> {}: {} -> {} bytes ({:+})",
        old.name,
        new.name,
        old.bytes,
        new.bytes,
        new.bytes as i64 - old.bytes as i64
    );
    for (p, d, a, b) in changed.iter().take(args.top.max(20)) {
        outln!("{d:>+12}  {a:>12} -> {b:<12}  {p}");
    }
    if changed.len() > args.top.max(20) {
        let rest: i64 = changed[args.top.max(20)..].iter().map(|c| c.1).sum();
        outln!("{rest:>+12}  ({} more parts)", changed.len() - args.top.max(20));
    }
    Ok(ExitCode::SUCCESS)
}
