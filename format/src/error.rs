//! The errors of weld-format, and the one record every problem inside an
//! input is told with in both crates: [`Problem`] names the input, the item,
//! the byte offset, the reason, and keeps the error that found it as its
//! source. Every error names the input it is about, and every error's
//! `Display` is one line.

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

/// What inside an input a [`Problem`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A core import: `import "b" "f"`.
    Import {
        /// The module name.
        module: Box<str>,
        /// The field name.
        field: Box<str>,
    },
    /// A component import: ``import `demo:x/y@1.0.0` ``.
    ComponentImport(String),
    /// An export: `export "run"`.
    Export(String),
    /// A function by index (in the input's function space) and, when the
    /// name section gives one, its name: `func 12 $main`.
    Func {
        /// Its index.
        index: u32,
        /// Its name.
        name: Option<String>,
    },
    /// Any other part, in words: `start section`, `data 3`, `custom section `name``.
    Part(String),
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Import { module, field } => write!(f, "import \"{module}\" \"{field}\""),
            Item::ComponentImport(name) => write!(f, "import `{name}`"),
            Item::Export(name) => write!(f, "export \"{name}\""),
            Item::Func { index, name: None } => write!(f, "func {index}"),
            Item::Func {
                index,
                name: Some(name),
            } => write!(f, "func {index} ${name}"),
            Item::Part(what) => f.write_str(what),
        }
    }
}

impl Item {
    /// The item a core import is.
    pub fn import(imp: &wasmparser::Import<'_>) -> Item {
        Item::Import {
            module: imp.module.into(),
            field: imp.name.into(),
        }
    }
}

impl From<String> for Item {
    fn from(what: String) -> Self {
        Item::Part(what)
    }
}

impl From<&str> for Item {
    fn from(what: &str) -> Self {
        Item::Part(what.to_string())
    }
}

/// One problem inside an input, told the same way by every stage:
/// `a.wasm: import "b" "f": <reason> (at offset 0x1a2)`.
#[derive(Debug, thiserror::Error)]
pub struct Problem {
    /// The input (its file, or its name for bytes in memory).
    pub input: String,
    /// What inside it, when known.
    pub item: Option<Item>,
    /// The byte offset in the input, when there is one.
    pub offset: Option<u64>,
    /// What is wrong, in words.
    pub reason: String,
    /// The error that found it (wasmparser's, a rewriter's), kept.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Problem {
    /// A problem weld found itself.
    #[cold]
    pub fn new(input: impl Into<String>, item: impl Into<Item>, reason: impl Into<String>) -> Self {
        Problem {
            input: input.into(),
            item: Some(item.into()),
            offset: None,
            reason: reason.into(),
            source: None,
        }
    }

    /// A problem wasmparser found: its message, its offset, itself as the source.
    #[cold]
    pub fn parse(input: impl Into<String>, item: Option<Item>, e: wasmparser::BinaryReaderError) -> Self {
        Problem {
            input: input.into(),
            item,
            offset: Some(e.offset()),
            // wasmparser puts context on lines of their own; errors are one
            // line.
            reason: one_line(e.message()),
            source: Some(Box::new(e)),
        }
    }

    /// A problem met while reading `item` of an input: wasmparser's message,
    /// offset and error.
    #[cold]
    pub fn read(input: &str, item: impl Into<Item>, e: wasmparser::BinaryReaderError) -> Self {
        Problem::parse(input, Some(item.into()), e)
    }

    /// A problem weld found itself at a byte offset of the input, when known.
    #[cold]
    pub fn at(input: &str, item: impl Into<Item>, offset: Option<u64>, reason: impl Into<String>) -> Self {
        Problem {
            offset,
            ..Problem::new(input, item, reason)
        }
    }

    /// The same problem inside an enclosing item (`nested module 3: func 2`).
    pub fn within(mut self, outer: &str) -> Self {
        self.item = Some(Item::Part(match self.item.take() {
            Some(inner) => format!("{outer}: {inner}"),
            None => outer.to_string(),
        }));
        self
    }

    /// The same problem with `prefix: ` before its reason
    /// (`invalid component: ...`).
    pub fn because(mut self, prefix: &str) -> Self {
        self.reason = format!("{prefix}: {}", self.reason);
        self
    }
}

/// Several problems, or several lines of one, as one line: each item's text
/// joined by `; ` (every error's `Display` is one line).
pub fn listed<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// A multi-line message on one line, its lines joined by `: ` (wasmparser and
/// wit-parser put context on lines of their own; weld's errors are one line).
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.input)?;
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        if self.reason.contains('\n') {
            write!(f, ": {}", one_line(&self.reason))?;
        } else {
            write!(f, ": {}", self.reason)?;
        }
        if let Some(off) = self.offset {
            write!(f, " (at offset {off:#x})")?;
        }
        Ok(())
    }
}

// A `Result` carrying a problem stays small: clippy's large-error limit is
// 128 bytes.
const _: () = assert!(std::mem::size_of::<Problem>() < 128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_problem_says_input_item_offset_and_keeps_its_source() {
        let Err(e) = wasmparser::Validator::new().validate_all(b"\0asm\x01\0\0\0\x01\x05") else {
            panic!("a truncated type section does not validate");
        };
        let at = e.offset();
        let p = Problem::parse("a.wasm", Some(Item::Part("type section".into())), e);
        let text = p.to_string();
        assert!(text.starts_with("a.wasm: type section: "), "{text}");
        assert!(text.ends_with(&format!("(at offset {at:#x})")), "{text}");
        let source = std::error::Error::source(&p).expect("the wasmparser error is kept");
        assert!(source.downcast_ref::<wasmparser::BinaryReaderError>().is_some());
    }

    #[test]
    fn items_print_as_the_text_format_names_them() {
        let import = Item::Import {
            module: "b".into(),
            field: "f".into(),
        };
        assert_eq!(import.to_string(), r#"import "b" "f""#);
        assert_eq!(
            Item::ComponentImport("x:y/z@1.0.0".into()).to_string(),
            "import `x:y/z@1.0.0`"
        );
        assert_eq!(Item::Export("run".into()).to_string(), r#"export "run""#);
        let named = Item::Func {
            index: 3,
            name: Some("main".into()),
        };
        assert_eq!(named.to_string(), "func 3 $main");
        let p = Problem::new("a.wasm", import, "expected func").because("type mismatch");
        assert_eq!(
            p.to_string(),
            r#"a.wasm: import "b" "f": type mismatch: expected func"#
        );
    }
}
