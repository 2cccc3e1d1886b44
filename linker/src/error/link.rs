//! Linking shared libraries failed: [`LinkError`]. A fault inside a library
//! is told with the one record, [`Problem`] (the input, the item, the byte
//! offset when there is one), whose source is the typed reason,
//! [`LibraryFault`]. Every message is one line.

use weld_format::{listed, one_line, Item, Problem};

pub use crate::resolve::needed::{LibrarySetError, NeededRefusal};
pub use crate::resolve::symbols::{Duplicate, SymbolFault, SymbolKind, Undefined};

/// Linking failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// There is nothing to link.
    #[error("no inputs to link")]
    NoInputs,
    /// The inputs and what they need do not form a set of shared libraries.
    #[error(transparent)]
    Set(#[from] LibrarySetError),
    /// A library is not what its `dylink.0` says, or cannot be linked: the
    /// problem's source is a [`LibraryFault`].
    #[error(transparent)]
    Library(Box<Problem>),
    /// Symbols nothing defines, every one of them.
    #[error("{}", listed(.0))]
    Undefined(Vec<Undefined>),
    /// Symbols defined twice, with `--warn-duplicates=error`.
    #[error("{}", listed(.0))]
    Duplicates(Vec<Duplicate>),
    /// The libraries do not fit the address space.
    #[error("the libraries' {0} do not fit a 32-bit address space")]
    Layout(Overflow),
    /// Wrapping into a component failed (`wit-component`'s error).
    #[error("wrapping the linked module into a component: {}", chain(.source.as_ref()))]
    Wrap {
        /// The encoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The component wrapping the linked module does not validate (a weld
    /// or wit-component bug, or an invalid adapter).
    #[error(
        "the linked component does not validate: {} (at offset {:#x})",
        one_line(source.message()),
        source.offset()
    )]
    InvalidComponent {
        /// The validator's error, its offset in the component.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
    /// A component was asked of a build without the `component` feature.
    #[error(
        "wrapping the linked module into a component: weld-linker was built without the `component` feature"
    )]
    NoComponentFeature,
}

/// What does not fit a 32-bit address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// The libraries' data areas.
    Data,
    /// The libraries' table slots.
    Tables,
    /// The stack and the data, rounded up to whole pages.
    DataAndStack,
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Overflow::Data => "data",
            Overflow::Tables => "tables",
            Overflow::DataAndStack => "data and stack",
        })
    }
}

/// An error and its causes on one line, as `anyhow` shows a chain
/// (`outer: inner: …`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    one_line(&text)
}

/// An active segment of a library, by kind and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// `data N`: placed at `__memory_base` plus a constant.
    Data(u32),
    /// `elem N`: placed at `__table_base` plus a constant.
    Elem(u32),
}

impl Segment {
    /// The base global its offset must be relative to.
    pub fn base(self) -> &'static str {
        match self {
            Segment::Data(_) => "__memory_base",
            Segment::Elem(_) => "__table_base",
        }
    }

    /// The unit of what `mem-info` reserves for it.
    fn unit(self) -> &'static str {
        match self {
            Segment::Data(_) => "bytes",
            Segment::Elem(_) => "table slots",
        }
    }

    /// What a fixed offset of it is.
    fn fixed(self) -> &'static str {
        match self {
            Segment::Data(_) => "address",
            Segment::Elem(_) => "table slot",
        }
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Segment::Data(i) => write!(f, "data {i}"),
            Segment::Elem(i) => write!(f, "elem {i}"),
        }
    }
}

/// Why a library cannot be linked: the reason of a [`LinkError::Library`]
/// problem, kept as its source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryFault {
    /// It defines a memory: it was not built position-independent.
    #[error("defines its own memory: not a position-independent shared library (build with -fPIC -shared)")]
    OwnMemory,
    /// It defines a table: it was not built position-independent.
    #[error("defines its own table: not a position-independent shared library (build with -fPIC -shared)")]
    OwnTable,
    /// It imports a shared memory.
    #[error("shared memory (threads) is not supported by weld link")]
    SharedMemory,
    /// It imports a 64-bit memory.
    #[error("64-bit memory is not supported by weld link")]
    Memory64,
    /// It was built for threads (it imports `__tls_base`).
    #[error("thread-local storage of a library built for threads is not supported by weld link")]
    ThreadLocal,
    /// A segment ends past what `mem-info` reserves.
    #[error("{segment} ends at {} + {end}, but its dylink.0 mem-info reserves only {reserved} {}", segment.base(), segment.unit())]
    PastReserved {
        /// The segment.
        segment: Segment,
        /// Where it ends, from its base.
        end: u64,
        /// What `mem-info` reserves.
        reserved: u32,
    },
    /// A segment at a fixed offset.
    #[error("{segment} is at a fixed {}: not a position-independent shared library", segment.fixed())]
    FixedSegment {
        /// The segment.
        segment: Segment,
    },
    /// A segment whose offset is neither fixed nor relative to its base.
    #[error("{segment}: its offset is not relative to {}", segment.base())]
    UnrelatedOffset {
        /// The segment.
        segment: Segment,
    },
    /// An import that cannot be bound.
    #[error(transparent)]
    Symbol(#[from] SymbolFault),
    /// A function index past the library's functions.
    #[error("function index out of range")]
    FuncOutOfRange,
    /// A type index past the library's types.
    #[error("type {0} out of range")]
    TypeOutOfRange(u32),
    /// A type index that is not a function type.
    #[error("type {0} is not a function type")]
    NotFuncType(u32),
    /// A function type that refers to other types (GC references), which
    /// `weld:link` cannot restate.
    #[error("a function whose type refers to other types cannot be bound by symbol")]
    ConcreteRef,
    /// A value type the encoder has no form for.
    #[error("unsupported value type")]
    UnsupportedValType,
}

impl LibraryFault {
    /// The fault as the one record: in `input`, at `item` and `offset`
    /// when known.
    pub(crate) fn at(self, input: &str, item: Option<Item>, offset: Option<u64>) -> LinkError {
        LinkError::Library(Box::new(Problem {
            input: input.to_string(),
            item,
            offset,
            reason: self.to_string(),
            source: Some(Box::new(self)),
        }))
    }
}
