//! Stage 6 of `weld link --component`: wrap the linked module into a
//! component with `wit-component` (what `wasm-tools component new` does).
//! The libraries' `component-type` sections, merged by the fuse stages,
//! give the world; adapters (the WASI preview1 adapter) are given to the
//! encoder by the import module name they provide.

use super::{ComponentOptions, LinkError};

/// The component of `module`.
pub(crate) fn wrap(module: &[u8], opts: &ComponentOptions) -> Result<Vec<u8>, LinkError> {
    let err = |e: anyhow::Error| LinkError::Wrap { source: e.into() };
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true).module(module).map_err(err)?;
    for (name, bytes) in &opts.adapters {
        encoder.adapter(name, bytes).map_err(err)?;
    }
    encoder.encode().map_err(err)
}
