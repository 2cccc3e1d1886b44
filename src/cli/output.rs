//! Where a command's wasm goes, the same for every command that writes one
//! (`fuse`, `link`, `flatten`, `compose`, `bundle`, `pull`):
//!
//! | arguments | output |
//! |---|---|
//! | `-o FILE` | the binary, written atomically (a temporary file, renamed) |
//! | no `-o`, or `-o -` | the binary on standard output; refused on a terminal |
//! | `-t` / `--wat` | the text format instead, to the file or standard output |
//!
//! Side outputs (`--map`, `--output-source-map`) go to files, or to
//! standard output as `-` when the module goes to a file. With
//! `-v`, one line on stderr sums up a run; `--quiet` silences warnings.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// The output arguments every wasm-writing command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct OutputArgs {
    /// Where the output goes (`-` or none: standard output; binary is
    /// refused on a terminal, pass -t for text).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the text format (WAT) instead of the binary.
    #[arg(short = 't', long = "wat")]
    pub wat: bool,
}

impl OutputArgs {
    /// The file to write, `None` for standard output.
    pub fn file(&self) -> Option<&Path> {
        self.output.as_deref().filter(|p| *p != Path::new("-"))
    }

    /// Refuses, before any work, what cannot be written: binary to a
    /// terminal, and a side output (`flag`'s `path`) sent to standard output.
    pub fn check(&self, sides: &[(&str, Option<&Path>)]) -> anyhow::Result<()> {
        if self.file().is_none() && !self.wat && std::io::stdout().is_terminal() {
            anyhow::bail!(
                "refusing to write binary WebAssembly to a terminal: pass -t for the text format or -o FILE"
            );
        }
        let mut to_stdout = self.file().is_none() as usize;
        for (flag, path) in sides {
            if path.is_some_and(|p| p == Path::new("-")) {
                if self.file().is_none() {
                    anyhow::bail!("{flag} -: standard output is the module's; give the {flag} a file");
                }
                to_stdout += 1;
                if to_stdout > 1 {
                    anyhow::bail!("{flag} -: only one output can go to standard output");
                }
            }
        }
        Ok(())
    }

    /// Writes a side output (`--map`, `--output-source-map`): to its file
    /// atomically, or to standard output for `-` (which [`check`](Self::check)
    /// allowed only when the module goes to a file).
    pub fn write_side(&self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        if path == Path::new("-") {
            return super::write_stdout(bytes);
        }
        Ok(weld_format::write::write_atomic(path, bytes)?)
    }

    /// Writes `bytes` (a module or component): as text with `-t`; to the
    /// file atomically, or to standard output (a closed pipe ends the run
    /// quietly).
    pub fn write(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let text;
        let data = if self.wat {
            text = wasmprinter::print_bytes(bytes)
                .map_err(|e| anyhow::anyhow!("printing the output as text: {e}"))?;
            text.as_bytes()
        } else {
            bytes
        };
        match self.file() {
            Some(path) => weld_format::write::write_atomic(path, data)?,
            None => super::write_stdout(data)?,
        }
        self.summarize(bytes.len());
        Ok(())
    }

    /// Writes text (not wasm) as it is: to the file atomically, or to
    /// standard output.
    pub fn write_text(&self, text: &str) -> anyhow::Result<()> {
        match self.file() {
            Some(path) => weld_format::write::write_atomic(path, text.as_bytes())?,
            None => super::write_stdout(text.as_bytes())?,
        }
        self.summarize(text.len());
        Ok(())
    }

    /// Under `-v`, the one-line summary of a run that wrote `bytes` (for a
    /// command that wrote its file itself).
    pub fn summarize(&self, bytes: usize) {
        summary(self, bytes);
    }

    /// A line about the run: on standard output when the module goes to a
    /// file, else on stderr.
    pub fn info(&self, line: &str) -> anyhow::Result<()> {
        match self.file() {
            Some(_) => super::print(&format!("{line}\n")),
            None => {
                eprintln!("{line}");
                Ok(())
            }
        }
    }

    /// Where the output went, for the summary.
    fn target(&self) -> String {
        match self.file() {
            Some(p) => p.display().to_string(),
            None => "stdout".into(),
        }
    }
}

/// How much a run prints on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors and warnings (the default).
    Normal,
    /// And a one-line summary after success.
    Verbose,
}

static VERBOSITY: OnceLock<(Verbosity, Instant, String)> = OnceLock::new();

/// Sets the verbosity and the command's name, once, at start.
pub fn init(v: Verbosity, command: &str) {
    let _ = VERBOSITY.set((v, Instant::now(), command.to_string()));
}

fn verbosity() -> Verbosity {
    VERBOSITY.get().map_or(Verbosity::Normal, |v| v.0)
}

/// Prints a warning unless `--quiet`.
pub fn warn(w: impl std::fmt::Display) {
    if verbosity() != Verbosity::Quiet {
        eprintln!("weld: warning: {w}");
    }
}

/// Prints a detail of the run on stderr under `-v` only.
pub fn detail(line: &str) {
    if verbosity() == Verbosity::Verbose {
        eprintln!("weld: {line}");
    }
}

/// Under `-v`, the one-line summary of a run that wrote `out`.
fn summary(out: &OutputArgs, bytes: usize) {
    let Some((Verbosity::Verbose, start, command)) = VERBOSITY.get() else {
        return;
    };
    let form = if out.wat { "text of " } else { "" };
    eprintln!(
        "weld {command}: {form}{bytes} bytes to {} in {:.3} s",
        out.target(),
        start.elapsed().as_secs_f64()
    );
}
