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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrap_error_keeps_the_encoder_error_and_says_its_chain_on_one_line() {
        // A module cut after its header and a section id.
        let bytes = b"\0asm\x01\0\0\0\x01";
        let direct = wit_component::ComponentEncoder::default()
            .validate(true)
            .module(bytes)
            .err()
            .expect("the encoder refuses a truncated module");
        let e = wrap(bytes, &ComponentOptions::default()).unwrap_err();
        assert!(matches!(e, LinkError::Wrap { .. }));
        assert_eq!(
            e.to_string(),
            format!(
                "wrapping the linked module into a component: {}",
                weld_format::one_line(&format!("{direct:#}"))
            )
        );
        assert!(std::error::Error::source(&e).is_some());
    }
}
