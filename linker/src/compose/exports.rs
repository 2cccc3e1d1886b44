//! Compose's `--export INPUT/NAME[=NEW]` step: [`ExportSpec`]s → the extra
//! exports the emitter writes, and what each matched.
//!
//! Each spec is one lookup of the resolver's export index
//! ([`ExportIndex`]), so the semver rule is the one every command applies
//! (DESIGN §4): `NAME` exact, else the highest version on its track, and a
//! semver match is reported. The name in the result (the provider's own
//! name, or `NEW`) must be a valid component export name. Cost: the index
//! is built once when there is any spec, O(exports); each spec is one
//! lookup.

use weld_format::{InputId, Survey};

use super::emit::ExtraExport;
use crate::error::{BadExportReason, ComposeError};
use crate::resolve::exports::ExportIndex;
use crate::resolve::Rule;

/// One more export of the result: `input`'s export `name` (exact, or the
/// highest version on the same semver track), exported under its own name
/// or under `rename`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// The child (its name).
    pub input: String,
    /// The export looked for.
    pub name: String,
    /// The name in the result, if not the provider's own.
    pub rename: Option<String>,
}

impl ExportSpec {
    /// `input`'s export `name`, under the provider's own name.
    pub fn new(input: impl Into<String>, name: impl Into<String>) -> Self {
        ExportSpec {
            input: input.into(),
            name: name.into(),
            rename: None,
        }
    }

    /// The spec as the user wrote it: `INPUT/NAME`.
    fn shown(&self) -> String {
        format!("{}/{}", self.input, self.name)
    }
}

/// What one `--export` matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// The child.
    pub input: String,
    /// The export looked for.
    pub wanted: String,
    /// The child's export it found (its real name).
    pub found: String,
    /// How it matched: [`Rule::Exact`] or [`Rule::Semver`].
    pub rule: Rule,
    /// The name in the result.
    pub as_name: String,
}

impl ExportReport {
    /// What the user should be told: a semver match took another version
    /// than the one asked for.
    pub fn note(&self) -> Option<String> {
        (self.rule == Rule::Semver).then(|| {
            format!(
                "--export {}/{}: took `{}` by the semver rule; the result exports it as `{}`",
                self.input, self.wanted, self.found, self.as_name
            )
        })
    }
}

/// Looks every spec up among the children (`names[i]` and `surveys[i]` of
/// child `i`), in order.
pub fn extra_exports(
    specs: &[ExportSpec],
    names: &[&str],
    surveys: &[&Survey<'_>],
) -> Result<(Vec<ExtraExport>, Vec<ExportReport>), ComposeError> {
    if specs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let index = ExportIndex::new(names, surveys);
    let mut exports = Vec::with_capacity(specs.len());
    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        let bad = |reason| ComposeError::BadExport {
            spec: spec.shown(),
            reason,
        };
        let found = index
            .lookup(&spec.input, &spec.name)
            .map_err(|e| bad(BadExportReason::from(e)))?;
        let as_name = spec.rename.clone().unwrap_or_else(|| found.name.to_string());
        if let Err(source) = wasmparser::names::ComponentName::new(&as_name, 0) {
            return Err(bad(BadExportReason::InvalidName {
                name: as_name,
                source,
            }));
        }
        exports.push(ExtraExport {
            child: found.provider,
            export: Some(found.name.to_string()),
            as_name: as_name.clone(),
        });
        reports.push(ExportReport {
            input: spec.input.clone(),
            wanted: spec.name.clone(),
            found: found.name.to_string(),
            rule: Rule::from(found.rule),
            as_name,
        });
    }
    Ok((exports, reports))
}

/// The children the extra exports need instantiated, after the root.
pub fn roots(exports: &[ExtraExport]) -> Vec<InputId> {
    let mut roots = vec![InputId(0)];
    roots.extend(exports.iter().map(|e| e.child));
    roots
}
