//! Typed indices, one newtype per WebAssembly index space.
//!
//! At the binary edge an index is a bare `u32`; inside weld every index carries
//! its space in its type, so a global index can never be passed where a function
//! index is expected. Each newtype is `Copy`, four bytes wide (checked at compile
//! time) and prints as its space followed by the number (`func 7`). The
//! spaces themselves are [`Space`], and [`PerSpace`] holds one value per space
//! (a count, a base offset) where a `[u32; 5]` indexed by convention used to.

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
    /// One distinct content among inputs (identical bytes share one).
    ContentId => "content";
}

/// An index space of a core module.
///
/// This is the one place that says which space an import or export names:
/// [`Space::of_kind`] and [`Space::of_type_ref`]. Its [`Display`] is the
/// WAT keyword (`func`, `memory`, ...), the same label the newtypes print.
///
/// [`Display`]: core::fmt::Display
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Space {
    /// Functions ([`FuncIdx`]).
    Func,
    /// Tables ([`TableIdx`]).
    Table,
    /// Memories ([`MemIdx`]).
    Memory,
    /// Globals ([`GlobalIdx`]).
    Global,
    /// Tags ([`TagIdx`]).
    Tag,
    /// Types ([`TypeIdx`]).
    Type,
    /// Element segments ([`ElemIdx`]).
    Elem,
    /// Data segments ([`DataIdx`]).
    Data,
}

impl Space {
    /// Every space, in the order [`PerSpace`] stores them.
    pub const ALL: [Space; 8] = [
        Space::Func,
        Space::Table,
        Space::Memory,
        Space::Global,
        Space::Tag,
        Space::Type,
        Space::Elem,
        Space::Data,
    ];

    /// The space an export of this kind names.
    #[inline]
    pub const fn of_kind(kind: wasmparser::ExternalKind) -> Space {
        use wasmparser::ExternalKind as K;
        match kind {
            K::Func | K::FuncExact => Space::Func,
            K::Table => Space::Table,
            K::Memory => Space::Memory,
            K::Global => Space::Global,
            K::Tag => Space::Tag,
        }
    }

    /// The space an import of this type adds to.
    #[inline]
    pub const fn of_type_ref(ty: &wasmparser::TypeRef) -> Space {
        use wasmparser::TypeRef as T;
        match ty {
            T::Func(_) | T::FuncExact(_) => Space::Func,
            T::Table(_) => Space::Table,
            T::Memory(_) => Space::Memory,
            T::Global(_) => Space::Global,
            T::Tag(_) => Space::Tag,
        }
    }

    /// The WAT keyword: `func`, `table`, `memory`, `global`, `tag`, `type`,
    /// `elem`, `data`.
    pub const fn name(self) -> &'static str {
        match self {
            Space::Func => "func",
            Space::Table => "table",
            Space::Memory => "memory",
            Space::Global => "global",
            Space::Tag => "tag",
            Space::Type => "type",
            Space::Elem => "elem",
            Space::Data => "data",
        }
    }
}

impl From<wasmparser::ExternalKind> for Space {
    #[inline]
    fn from(kind: wasmparser::ExternalKind) -> Self {
        Space::of_kind(kind)
    }
}

impl From<&wasmparser::TypeRef> for Space {
    #[inline]
    fn from(ty: &wasmparser::TypeRef) -> Self {
        Space::of_type_ref(ty)
    }
}

impl core::fmt::Display for Space {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// One value per index space, indexed by [`Space`]: `counts[Space::Global]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PerSpace<T>([T; 8]);

impl<T> PerSpace<T> {
    /// Every space's value, from a function of the space.
    pub fn from_fn(mut f: impl FnMut(Space) -> T) -> Self {
        PerSpace(Space::ALL.map(&mut f))
    }
}

impl<T> core::ops::Index<Space> for PerSpace<T> {
    type Output = T;

    #[inline]
    fn index(&self, space: Space) -> &T {
        &self.0[space as usize]
    }
}

impl<T> core::ops::IndexMut<Space> for PerSpace<T> {
    #[inline]
    fn index_mut(&mut self, space: Space) -> &mut T {
        &mut self.0[space as usize]
    }
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

    #[test]
    fn kinds_and_import_types_map_to_one_space() {
        use wasmparser::{ExternalKind, TypeRef};
        assert_eq!(Space::from(ExternalKind::FuncExact), Space::Func);
        assert_eq!(Space::from(ExternalKind::Global), Space::Global);
        assert_eq!(Space::from(&TypeRef::Func(3)), Space::Func);
        assert_eq!(
            Space::from(&TypeRef::Memory(wasmparser::MemoryType {
                memory64: false,
                shared: false,
                initial: 1,
                maximum: None,
                page_size_log2: None,
            })),
            Space::Memory
        );
        assert_eq!(Space::Tag.to_string(), "tag");
        assert_eq!(
            Space::ALL.map(Space::name).join(" "),
            "func table memory global tag type elem data"
        );
    }

    #[test]
    fn per_space_is_indexed_by_space() {
        let mut n = PerSpace::<u32>::default();
        n[Space::Global] += 2;
        n[Space::Func] = 1;
        assert_eq!(n[Space::Global], 2);
        assert_eq!(n[Space::Tag], 0);
        let labels = PerSpace::from_fn(Space::name);
        assert_eq!(labels[Space::Data], "data");
    }
}
