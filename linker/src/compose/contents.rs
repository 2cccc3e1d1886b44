//! Compose's first step: inputs → [`Contents`], each distinct component
//! once, surveyed.
//!
//! Every input must be a component. Inputs with the same bytes (by blake3)
//! are one content, numbered in order of first appearance; each content is
//! surveyed once (zero-copy, no validation: names and kinds are enough to
//! wire). Cost: one hash and, per distinct content, one survey.

use std::collections::HashMap;

use weld_format::{ComponentSurvey, ContentId, InputId, Inputs, Survey};

use super::wire::{Child, Children};
use crate::error::ComposeError;
use crate::error::Error;

/// The distinct contents of the inputs.
pub struct Contents<'i> {
    /// Each distinct content's bytes, in order of first appearance.
    pub bytes: Vec<&'i [u8]>,
    /// The first input with each content.
    pub first_input: Vec<InputId>,
    /// Each input's content, in input order.
    pub of_input: Vec<ContentId>,
    /// Each content's survey (a component's: modules are refused).
    pub surveys: Vec<Survey<'i>>,
}

impl<'i> Contents<'i> {
    /// Checks that every input is a component, then finds and surveys the
    /// distinct contents.
    pub fn of(inputs: &'i Inputs) -> Result<Self, Error> {
        if inputs.is_empty() {
            return Err(ComposeError::NoInputs.into());
        }
        let not_a_component = |display: &str| ComposeError::NotAComponent {
            input: display.to_string(),
        };
        if let Some(module) = inputs
            .iter()
            .find(|i| !wasmparser::Parser::is_component(i.bytes()))
        {
            return Err(not_a_component(&module.display).into());
        }
        // Distinct contents, in input order of first appearance.
        let mut content_of_hash: HashMap<blake3::Hash, ContentId> = HashMap::new();
        let mut bytes: Vec<&[u8]> = Vec::new();
        let mut first_input: Vec<InputId> = Vec::new();
        let of_input: Vec<ContentId> = inputs
            .enumerate()
            .map(|(i, input)| {
                *content_of_hash
                    .entry(blake3::hash(input.bytes()))
                    .or_insert_with(|| {
                        bytes.push(input.bytes());
                        first_input.push(i);
                        ContentId(bytes.len() as u32 - 1)
                    })
            })
            .collect();
        let surveys = bytes
            .iter()
            .zip(&first_input)
            .map(|(bytes, &i)| {
                let display = &inputs.get(i).display;
                match weld_format::survey(display, bytes)? {
                    s @ Survey::Component(_) => Ok(s),
                    Survey::Module(_) => Err(Error::from(not_a_component(display))),
                }
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Contents {
            bytes,
            first_input,
            of_input,
            surveys,
        })
    }

    /// The survey of content `k`.
    pub fn survey(&self, k: ContentId) -> &Survey<'i> {
        &self.surveys[k.as_usize()]
    }

    /// One child per input, named by the input's name.
    pub fn children<'c>(&'c self, inputs: &'c Inputs) -> Children<'c> {
        let component = |k: ContentId| -> &'c ComponentSurvey<'i> {
            self.survey(k)
                .as_component()
                .expect("modules were refused when the contents were surveyed")
        };
        Children(
            inputs
                .iter()
                .zip(&self.of_input)
                .map(|(input, &k)| Child::new(input.name.as_str(), k, component(k)))
                .collect(),
        )
    }

    /// One child per `(name, input)`: several children may share an input
    /// (a WAC document instantiating one package twice).
    #[cfg(feature = "wac")]
    pub fn children_named<'c>(&'c self, named: &[(&'c str, InputId)]) -> Children<'c> {
        Children(
            named
                .iter()
                .map(|&(name, i)| {
                    let k = self.of_input[i.as_usize()];
                    let survey = self
                        .survey(k)
                        .as_component()
                        .expect("modules were refused when the contents were surveyed");
                    Child::new(name, k, survey)
                })
                .collect(),
        )
    }

    /// Each input's survey, in input order (what the resolver takes).
    pub fn per_input(&self) -> Vec<&Survey<'i>> {
        self.of_input.iter().map(|&k| self.survey(k)).collect()
    }
}
