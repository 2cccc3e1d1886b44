//! Fusing failed: [`FuseError`]. A problem inside an input is a
//! [`Problem`], boxed.

use weld_format::{listed, Item, Problem};

/// Fusing failed.
#[derive(Debug, thiserror::Error)]
pub enum FuseError {
    /// There is nothing to fuse.
    #[error("no inputs to fuse")]
    NoInputs,
    /// An input is a component.
    #[error("{input}: is a component; `fuse` takes core modules (use `compose` for components)")]
    NotAModule {
        /// The input.
        input: String,
    },
    /// Imports that cannot be linked, every one of them.
    #[error("{}", listed(.0))]
    Imports(Vec<Problem>),
    /// Wiring entries that cannot apply (wires connect components).
    #[error("{}", listed(.0))]
    Links(Vec<Problem>),
    /// Two inputs export the same name.
    #[error("{}", .0.iter().map(|(n, a, b)| format!("{b}: export \"{n}\" conflicts with the export of {a} (use --on-conflict rename|skip)")).collect::<Vec<_>>().join("; "))]
    ExportConflicts(Vec<(String, String, String)>),
    /// `--exports` names an export nobody has.
    #[error("--exports: no input exports {}", .0.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))]
    UnknownExports(Vec<String>),
    /// Custom sections that describe linking weld does not do.
    #[error("{}", .0.iter().map(|(f, s)| format!("{f}: custom section `{s}`: relocatable/dynamic-linking metadata is not supported by fuse")).collect::<Vec<_>>().join("; "))]
    Unsupported(Vec<(String, String)>),
    /// `--merge-memories` cannot keep the inputs' behaviour.
    #[error(transparent)]
    MergeMemories(Box<Problem>),
    /// `--merge-tables` cannot keep the inputs' behaviour.
    #[error(transparent)]
    MergeTables(Box<Problem>),
    /// The fused module would have more memories or tables than engines
    /// accept.
    #[error(
        "the fused module would have {count} {what}, past the limit of {limit} that engines accept{hint}"
    )]
    TooMany {
        /// `memories` or `tables`.
        what: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
        /// What to do instead.
        hint: &'static str,
    },
    /// An input is malformed in a way the survey does not check.
    #[error(transparent)]
    Malformed(Box<Problem>),
    /// An input does not validate.
    #[error(transparent)]
    InvalidInput(Box<Problem>),
    /// The fused module does not validate (a weld bug, or invalid inputs).
    #[error("the fused module does not validate: {} (at offset {:#x})", weld_format::one_line(source.message()), source.offset())]
    Invalid {
        /// The validator's error, its offset in the output.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
    /// The fused module would pass a limit of the binary format.
    #[error("the fused module's {part} would be larger than 4 GiB")]
    OutputTooLarge {
        /// Which part (`code section`).
        part: &'static str,
    },
    /// The stages disagree about the output (a weld bug, never an input's
    /// fault).
    #[error("weld bug: {what}")]
    Inconsistent {
        /// What disagrees.
        what: &'static str,
    },
    /// An input's source map cannot be read.
    #[error("{map}: source map of {input}: {reason}")]
    SourceMap {
        /// The map's path.
        map: String,
        /// The input it belongs to.
        input: String,
        /// Why (one line).
        reason: String,
    },
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl FuseError {
    /// An input is malformed: `input: item: reason (at offset ...)`; the
    /// offset is the item's, or its section's where the survey keeps no
    /// item offset.
    #[cold]
    pub fn malformed(
        input: &str,
        item: impl Into<Item>,
        offset: u64,
        reason: impl Into<String>,
    ) -> FuseError {
        FuseError::Malformed(Box::new(Problem::at(input, item, Some(offset), reason)))
    }

    /// An input is malformed, as wasmparser found: the reason, offset and
    /// source are its.
    #[cold]
    pub fn parse(input: &str, item: impl Into<Item>, e: wasmparser::BinaryReaderError) -> FuseError {
        FuseError::Malformed(Box::new(Problem::parse(input, Some(item.into()), e)))
    }

    /// The body rewriter failed on an item of an input.
    #[cold]
    pub fn rewrite(input: &str, item: impl Into<Item>, e: weld_format::rewrite::RewriteError) -> FuseError {
        match e {
            weld_format::rewrite::RewriteError::Parse(e) => FuseError::parse(input, item, e),
            weld_format::rewrite::RewriteError::Invalid(e) => FuseError::InvalidInput(Box::new(
                Problem::parse(input, Some(item.into()), e).because("invalid"),
            )),
            weld_format::rewrite::RewriteError::Merge(why) => {
                let tables = why.contains("tables are merged");
                let option = if tables {
                    "--merge-tables"
                } else {
                    "--merge-memories"
                };
                let p = Box::new(Problem::new(input, item, format!("{option}: {why}")));
                match tables {
                    true => FuseError::MergeTables(p),
                    false => FuseError::MergeMemories(p),
                }
            }
            other => {
                let mut p = Problem::new(input, item, other.to_string());
                p.source = Some(Box::new(other));
                FuseError::Malformed(Box::new(p))
            }
        }
    }
}

/// Why wasm-encoder could not re-encode an item of an input, in words (a
/// parse error keeps wasmparser's message, which the encoder's own text
/// drops).
pub(crate) fn reencode_reason(e: wasm_encoder::reencode::Error<weld_format::rewrite::OutOfRange>) -> String {
    match e {
        wasm_encoder::reencode::Error::ParseError(p) => p.message().to_string(),
        other => other.to_string(),
    }
}
