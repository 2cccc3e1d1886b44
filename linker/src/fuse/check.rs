//! Stage 5b, **check the inputs**: each input's sections validated in
//! order (wasmparser, [`CORE_FEATURES`]), in parallel across inputs. What
//! remains are the bodies: the rewriter validates each one in its own
//! module, in the same decode that rewrites it ([`FuncCheck::validator`]),
//! so no operator is read twice; `--validate-output` re-reads the output
//! whole anyway.
//!
//! # Why the output is then valid
//!
//! DESIGN §3 asks for a validated output. weld validates it by parts, each
//! part where it is cheapest, instead of reading every operator twice:
//!
//! - **Sections of the output**: validated from the output's bytes, after
//!   emit (wasmparser's validator, every section but the bodies; the
//!   synthesized start's body too). This covers the type section after
//!   deduplication, imports, every index in every non-code section, the
//!   element and data segments and the function count.
//! - **Bodies**: each one validated in its *own input* (here and in the
//!   rewriter), then rewritten by maps that are checked to preserve what
//!   validation depends on: every index is mapped to an item whose type is
//!   the input's type of that item, or a subtype of it where the input
//!   imported the item (the link rules of DESIGN §3 check each import
//!   against its provider, in WAT terms); types are mapped to types equal
//!   after deduplication; locals, labels and stack discipline are copied
//!   unchanged. Dead code dropped after an operator that never falls
//!   through leaves a polymorphic stack, valid whatever follows up to the
//!   end of its block. A body valid in its input is therefore valid in the
//!   output.
//! - **What the argument rests on** is tested: the fuse fuzz target fuses
//!   generated modules with this validation and then validates the whole
//!   output from scratch; every output of the test suite is validated whole.

use rayon::prelude::*;
use wasmparser::{
    FuncToValidate, FuncValidator, FuncValidatorAllocations, ValidPayload, Validator, ValidatorResources,
};

use crate::error::{FuseError, Item};
use crate::fuse::context::FuseCx;
use weld_format::validate::CORE_FEATURES;
use weld_format::Problem;

/// What the rewriter needs to validate the bodies of one input: its module
/// as the validator sees it after the sections before the code section.
#[derive(Clone)]
pub struct FuncCheck {
    /// The module's resources (`None` when it defines no function).
    resources: Option<ValidatorResources>,
    /// The number of imported functions.
    imported: u32,
}

impl std::fmt::Debug for FuncCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncCheck")
            .field("imported", &self.imported)
            .finish()
    }
}

impl FuncCheck {
    /// A validator for defined function `d` of type `ty` (module-local), reusing
    /// `allocs`.
    pub fn validator(
        &self,
        d: u32,
        ty: u32,
        allocs: FuncValidatorAllocations,
    ) -> Option<FuncValidator<ValidatorResources>> {
        let resources = self.resources.clone()?;
        Some(
            FuncToValidate {
                resources,
                index: self.imported + d,
                ty,
                features: CORE_FEATURES,
            }
            .into_validator(allocs),
        )
    }
}

/// Validates every input's sections (not its bodies), in parallel; the
/// first invalid input in command-line order is the error.
pub fn check_inputs(cx: &FuseCx<'_, '_>) -> Result<Vec<FuncCheck>, FuseError> {
    cx.modules
        .par_iter()
        .zip(cx.files.par_iter())
        .map(|(m, file)| check_one(file, m.bytes, m.imported.funcs))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

fn check_one(file: &str, bytes: &[u8], imported: u32) -> Result<FuncCheck, FuseError> {
    // The item is the section the validator was in (`import section`).
    let invalid = |item: Option<Item>, e| {
        FuseError::InvalidInput(Box::new(Problem::parse(file, item, e).because("invalid")))
    };
    let mut validator = Validator::new_with_features(CORE_FEATURES);
    let mut resources = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| invalid(None, e))?;
        let section = || {
            let name = match &payload {
                wasmparser::Payload::CodeSectionEntry(_) => "code",
                p => match p.as_section() {
                    Some((id, _)) => weld_format::sections::module_section_name(id),
                    None => return None,
                },
            };
            Some(Item::Part(format!("{name} section")))
        };
        // The bodies are validated as they are rewritten; past the code
        // section's first entry (which gives the resources), the validator
        // has nothing to do with them but count.
        if let (wasmparser::Payload::CodeSectionEntry(body), Some(_)) = (&payload, &resources) {
            if !weld_format::validate::too_large(body) {
                continue;
            }
        }
        match validator.payload(&payload).map_err(|e| invalid(section(), e))? {
            ValidPayload::Func(f, _) if resources.is_none() => resources = Some(f.resources),
            ValidPayload::End(_) => break,
            _ => {}
        }
    }
    Ok(FuncCheck { resources, imported })
}

#[cfg(test)]
mod tests {
    use wasm_encoder::{
        CodeSection, EntityType, Function, FunctionSection, ImportSection, Module, RawSection, TypeSection,
    };

    /// Fuses `bytes` as input `bad.wasm` and returns the error as the
    /// library displays it.
    fn fuse_error(bytes: Vec<u8>) -> String {
        let inputs = weld_format::Inputs::from_memory([("bad.wasm", bytes)]).unwrap();
        crate::fuse(&crate::FuseOptions::default(), &inputs)
            .unwrap_err()
            .to_string()
    }

    /// A module importing a function of type 5, with no types.
    fn bad_import() -> Vec<u8> {
        let mut imports = ImportSection::new();
        imports.import("env", "f", EntityType::Function(5));
        let mut m = Module::new();
        m.section(&imports);
        m.finish()
    }

    /// One line that names the input, the item, and a hex offset.
    fn assert_names_input_item_offset(text: &str, item: &str) {
        assert!(!text.contains('\n'), "one line: {text}");
        assert!(text.starts_with("bad.wasm: "), "names the input: {text}");
        assert!(text.contains(item), "names the item `{item}`: {text}");
        let at = text
            .rfind("(at offset 0x")
            .unwrap_or_else(|| panic!("a hex offset: {text}"));
        assert!(text[at..].ends_with(')'), "{text}");
    }

    #[test]
    fn a_truncated_function_body_names_input_item_and_offset() {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let mut funcs = FunctionSection::new();
        funcs.function(0);
        // One entry that claims 9 bytes of body and holds 2.
        let code = RawSection {
            id: 10,
            data: &[0x01, 0x09, 0x00, 0x0b],
        };
        let mut m = Module::new();
        m.section(&types).section(&funcs).section(&code);
        let e = fuse_error(m.finish());
        assert_names_input_item_offset(&e, "code section");
    }

    #[test]
    fn a_bad_import_names_input_item_and_offset() {
        let e = fuse_error(bad_import());
        assert_names_input_item_offset(&e, "import");
    }

    #[test]
    fn unvalidated_a_bad_import_is_still_named_with_its_offset() {
        // Without the input check, the plan meets the bad type index itself.
        let inputs = weld_format::Inputs::from_memory([("bad.wasm", bad_import())]).unwrap();
        let opts = crate::FuseOptions {
            validate: false,
            ..Default::default()
        };
        let e = crate::fuse(&opts, &inputs).unwrap_err();
        assert!(
            matches!(&e, crate::Error::Fuse(crate::FuseError::Malformed(_))),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            r#"bad.wasm: import "env" "f": type 5: index out of range (at offset 0x8)"#
        );
    }

    #[test]
    fn a_bad_section_names_input_item_and_offset() {
        // A global section whose one global has no initialiser.
        let globals = RawSection {
            id: 6,
            data: &[0x01, 0x7f, 0x00],
        };
        let mut m = Module::new();
        m.section(&globals);
        let e = fuse_error(m.finish());
        assert_names_input_item_offset(&e, "global section");
    }

    #[test]
    fn an_input_body_over_the_size_limit_is_refused_by_the_input_check() {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let (mut funcs, mut code) = (FunctionSection::new(), CodeSection::new());
        for body in [vec![], vec![0x01; weld_format::limits::MAX_FUNCTION_SIZE]] {
            funcs.function(0);
            let mut f = Function::new([]);
            f.raw(body.into_iter().chain([0x0b]));
            code.function(&f);
        }
        let mut m = Module::new();
        m.section(&types).section(&funcs).section(&code);
        let inputs = weld_format::Inputs::from_memory([("big", m.finish())]).unwrap();
        let e = crate::fuse(&crate::FuseOptions::default(), &inputs)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("big") && e.contains("function body size count exceeds limit"),
            "{e}"
        );
    }
}
