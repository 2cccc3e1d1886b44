//! Typed indices, one newtype per WebAssembly index space.
//!
//! At the binary edge an index is a bare `u32`; inside weld every index carries
//! its space in its type, so a global index can never be passed where a function
//! index is expected. Each newtype is `Copy`, four bytes wide (checked at compile
//! time) and prints as its space followed by the number (`func 7`).

macro_rules! index_newtype {
    ($(#[$doc:meta] $name:ident => $label:literal;)*) => {$(
        #[$doc]
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u32);

        const _: () = assert!(core::mem::size_of::<$name>() == 4);

        impl $name {
            /// The raw index, for wasmparser and wasm-encoder.
            #[inline]
            pub const fn raw(self) -> u32 {
                self.0
            }

            /// The index as a `usize`, for indexing vectors.
            #[inline]
            pub const fn as_usize(self) -> usize {
                self.0 as usize
            }
        }

        impl From<u32> for $name {
            #[inline]
            fn from(raw: u32) -> Self {
                $name(raw)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!($label, " {}"), self.0)
            }
        }
    )*};
}

index_newtype! {
    /// An index in the function space (imports first, then definitions).
    FuncIdx => "func";
    /// An index in the table space.
    TableIdx => "table";
    /// An index in the memory space.
    MemIdx => "memory";
    /// An index in the global space.
    GlobalIdx => "global";
    /// An index in the tag space.
    TagIdx => "tag";
    /// An index in the type space.
    TypeIdx => "type";
    /// An index in the element segment space.
    ElemIdx => "elem";
    /// An index in the data segment space.
    DataIdx => "data";
    /// The position of an input on the command line (or in the caller's list).
    InputId => "input";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_space_and_number() {
        assert_eq!(FuncIdx(7).to_string(), "func 7");
        assert_eq!(MemIdx(0).to_string(), "memory 0");
        assert_eq!(InputId::from(3).as_usize(), 3);
    }
}
