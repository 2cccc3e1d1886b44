//! Stage 6 of `weld link --component`: wrap the linked module into a
//! component with `wit-component` (what `wasm-tools component new` does).
//! The libraries' `component-type` sections, merged by the fuse stages,
//! give the world; adapters (the WASI preview1 adapter) are given to the
//! encoder by the import module name they provide.

use super::{ComponentOptions, LinkError};

/// The component of `module`, validated whole when `validate` is set.
///
/// wit-component is given a stub of the module and the real code is
/// spliced in after ([`splice`](super::splice)); where that cannot be
/// done, the real module. The encoder's own validation is off: it would
/// check the component on one thread, bodies and all, after the link
/// stages checked the module. Instead the link stages leave the module to
/// this one check of the component, whose function bodies (the linked
/// module's, the adapter's and the shims') are validated in parallel.
pub(crate) fn wrap(module: &[u8], opts: &ComponentOptions, validate: bool) -> Result<Vec<u8>, LinkError> {
    let spliced = match super::splice::stub(module) {
        Some((stub, code)) => super::splice::splice(&encode(&stub, opts)?, &code, module),
        None => None,
    };
    let bytes = match spliced {
        Some(b) => b,
        None => encode(module, opts)?,
    };
    if validate {
        weld_format::validate::validate(&bytes, true)
            .map_err(|source| LinkError::InvalidComponent { source })?;
    }
    Ok(bytes)
}

/// What wit-component makes of `module`.
pub(crate) fn encode(module: &[u8], opts: &ComponentOptions) -> Result<Vec<u8>, LinkError> {
    let err = |e: anyhow::Error| LinkError::Wrap { source: e.into() };
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(false).module(module).map_err(err)?;
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
        let e = wrap(bytes, &ComponentOptions::default(), true).unwrap_err();
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
