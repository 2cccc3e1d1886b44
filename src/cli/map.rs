//! `weld map COMPONENT --exec 'CMD {in} {out}' -o OUT`

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use weld_linker::{MapModule, MapOptions};

/// Arguments of `weld map`.
#[derive(clap::Args)]
pub struct Args {
    /// The component, as `[name=]path` (`-` for standard input).
    input: String,
    /// The command run on each distinct core module, through `sh -c`:
    /// `{in}` is replaced by the module's file, `{out}` by the file the
    /// command must write (e.g. `wasm-opt -Oz {in} -o {out}`).
    #[arg(long, value_name = "CMD", required_unless_present = "dry_run")]
    exec: Option<String>,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Commands run at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Only this module: its name, its hash name (`sha256-<hex>`), or 8 or
    /// more leading hex digits of its hash (repeatable).
    #[arg(long, value_name = "NAME|HASH")]
    only: Vec<String>,
    /// Only modules of at least this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    min_size: u64,
    /// List the distinct modules and which the command would run on; run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip validating the result (each transformed module is still
    /// validated and checked against its original).
    #[arg(long)]
    no_validate: bool,
}

/// Runs `weld map`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let inputs = super::load(std::slice::from_ref(&args.input))?;
    let input = inputs.iter().next().expect("one input");
    let opts = MapOptions {
        only: args.only.clone(),
        min_size: args.min_size,
        no_validate: args.no_validate,
    };
    if args.dry_run {
        let modules = weld_linker::map_plan(&opts, &input.display, input.bytes())?;
        for m in &modules {
            outln!(
                "{} {:>12}  {}  {}{}",
                if m.selected { "run " } else { "skip" },
                m.bytes,
                m.hash,
                m.name
                    .as_deref()
                    .map(|n| format!("\"{}\" ", n.escape_debug()))
                    .unwrap_or_default(),
                m.places.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let command = args.exec.as_deref().expect("clap requires --exec");
    if !command.contains("{in}") || !command.contains("{out}") {
        anyhow::bail!("--exec `{command}`: the command must name {{in}} and {{out}}");
    }
    args.out.check(&[])?;
    let work = tempfile::Builder::new().prefix("weld-map-").tempdir()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    let mapped = pool.install(|| {
        weld_linker::map_modules(&opts, &input.display, input.bytes(), |m, bytes| {
            run(command, work.path(), m, bytes)
        })
    })?;
    args.out.write(&mapped.bytes)?;
    for m in mapped.modules.iter().filter(|m| m.selected) {
        let after = m.bytes_after.unwrap_or(m.bytes);
        args.out.info(&format!(
            "{}: {} -> {} bytes ({:+})",
            m.label(),
            m.bytes,
            after,
            after as i64 - m.bytes as i64
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `command` on one module in its own directory under `work`.
fn run(command: &str, work: &Path, m: &MapModule, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let dir = work.join(&m.hash);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (input, output) = (dir.join("in.wasm"), dir.join("out.wasm"));
    std::fs::write(&input, bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    let line = command
        .replace("{in}", &quote(&input))
        .replace("{out}", &quote(&output));
    let ran = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("`{command}` could not be started: {e}"))?;
    if !ran.status.success() {
        let stderr = String::from_utf8_lossy(&ran.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        let status = match ran.status.code() {
            Some(c) => format!("exited with status {c}"),
            None => "was killed by a signal".to_string(),
        };
        return Err(if last.is_empty() {
            format!("`{command}` {status}")
        } else {
            format!("`{command}` {status}: {}", last.trim())
        });
    }
    std::fs::read(&output).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{command}` succeeded but wrote no {{out}} file"),
        _ => format!("{}: {e}", output.display()),
    })
}

/// `path` quoted for `sh`.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
