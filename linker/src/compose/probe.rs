//! The types of the children, from one validator.
//!
//! Every distinct child is fed to a single [`Validator`] as if it were a
//! nested component of one outer component, so all their types live in one
//! type list: ids compare, and one [`TypeEncoder`](weld_format::type_encode) can
//! restate any of them. Nothing is copied: each child's payloads are parsed
//! from its own bytes. Function bodies are skipped (types do not depend on
//! them; the output is validated in full later).

use wasmparser::component_types::ComponentTypeId;
use wasmparser::types::Types;
use wasmparser::{Encoding, Parser, Validator, WasmFeatures};

/// The children's types.
pub struct Probe {
    /// The shared type list.
    pub types: Types,
    /// The component type of each child, in the order given.
    pub components: Vec<ComponentTypeId>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("components", &self.components.len())
            .finish_non_exhaustive()
    }
}

/// A child that does not validate: its position and the validator's error
/// (its offset is in the child's own bytes).
#[derive(Debug)]
pub struct ProbeError {
    /// Which child (position in the slice given to [`probe`]).
    pub child: usize,
    /// The validator's error.
    pub error: wasmparser::BinaryReaderError,
}

/// Validates `children` (component binaries) under one validator.
pub fn probe(children: &[&[u8]]) -> Result<Probe, ProbeError> {
    let mut v = Validator::new_with_features(WasmFeatures::all());
    let outer = |error| ProbeError {
        child: usize::MAX,
        error,
    };
    v.version(0x0d, Encoding::Component, &(0..8)).map_err(outer)?;
    for (k, bytes) in children.iter().enumerate() {
        let err = |error| ProbeError { child: k, error };
        v.component_section(&(0..bytes.len() as u64)).map_err(err)?;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(err)?;
            v.payload(&payload).map_err(err)?;
        }
    }
    let types = v.end(8).map_err(outer)?;
    let components = (0..children.len() as u32)
        .map(|i| types.component_at(i))
        .collect();
    Ok(Probe { types, components })
}
