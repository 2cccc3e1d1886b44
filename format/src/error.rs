//! The errors of weld-format. Every error names the input it is about; survey
//! errors also name the item and the absolute byte offset.

use std::fmt;
use std::path::PathBuf;

/// Where an error happened: the input's display name (its path as given, or
/// its name for in-memory inputs).
pub type InputName = String;

/// Loading an input failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The input specification `[name=]path` is malformed.
    #[error("input `{spec}`: {reason}")]
    BadSpec {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two inputs were given the same name.
    #[error("{second}: input name `{name}` is already used by {first}")]
    DuplicateName {
        /// The name both inputs claim.
        name: String,
        /// The first input with that name.
        first: InputName,
        /// The second input with that name.
        second: InputName,
    },
    /// The file could not be opened, mapped or read.
    #[error("{input}: cannot read {}: {source}", path.display())]
    Io {
        /// The input.
        input: InputName,
        /// The path that failed.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are neither a module, a component nor WAT text.
    #[error("{input}: not WebAssembly: {reason} (first bytes: {first_bytes})")]
    NotWasm {
        /// The input.
        input: InputName,
        /// Why it was not recognised.
        reason: String,
        /// The first few bytes, in hex.
        first_bytes: String,
    },
    /// The input looked like WAT text but did not parse.
    #[error("{input}: invalid WAT text: {message}")]
    Wat {
        /// The input.
        input: InputName,
        /// The WAT parser's message (with line and column).
        message: String,
    },
    /// Too many inputs, or an input too large.
    #[error("{input}: {reason}")]
    Limit {
        /// The input.
        input: InputName,
        /// Which limit.
        reason: String,
    },
}

/// Surveying an input failed: its binary is malformed.
#[derive(Debug, thiserror::Error)]
pub struct SurveyError {
    /// The input.
    pub input: InputName,
    /// The item being read (`import section`, `func 12`, `nested module 3`).
    pub item: String,
    /// The absolute byte offset in the input, where known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub reason: String,
    /// wasmparser's error, when it found the problem.
    #[source]
    pub source: Option<Box<wasmparser::BinaryReaderError>>,
}

impl fmt::Display for SurveyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.input, self.item, self.reason)?;
        if let Some(off) = self.offset {
            write!(f, " (at offset {off:#x})")?;
        }
        Ok(())
    }
}

impl SurveyError {
    /// Wraps a wasmparser error met while reading `item`.
    #[cold]
    pub fn parse(input: &str, item: impl Into<String>, e: wasmparser::BinaryReaderError) -> Self {
        SurveyError {
            input: input.to_string(),
            item: item.into(),
            offset: Some(e.offset()),
            reason: e.message().to_string(),
            source: Some(Box::new(e)),
        }
    }

    /// A problem weld found itself.
    #[cold]
    pub fn other(
        input: &str,
        item: impl Into<String>,
        offset: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        SurveyError {
            input: input.to_string(),
            item: item.into(),
            offset,
            reason: reason.into(),
            source: None,
        }
    }
}
