//! Lookups of one input's export by name (`compose --export INPUT/NAME`, and
//! any question of the form "what does input X export as NAME?").
//!
//! Input: the inputs' link names and surveys, as [`resolve`](super::resolve)
//! takes them. Output: per lookup, an [`ExportMatch`] (which export, and the
//! rule that found it) or an [`ExportLookupError`] saying what is missing.
//!
//! The rule is the resolver's (DESIGN §4): the exact name first, otherwise
//! the highest version on the same semver track, so a lookup of
//! `demo:a/api@0.2.5` takes a `demo:a/api@0.2.3` export and says so
//! ([`MatchRule::Semver`]). A name on another track is not a match; the
//! error then names the export that was there.
//!
//! Cost: the index is built once, O(exports of all inputs); each lookup is
//! one or two hash lookups. Only a failed lookup scans the one input's
//! exports (to name one on another track).

use rustc_hash::FxHashMap as HashMap;

use weld_format::names::{match_key, MatchRule, ProviderIndex};
use weld_format::{InputId, Survey};

/// An export found by [`ExportIndex::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportMatch<'a> {
    /// The input that has it.
    pub provider: InputId,
    /// Its position in the provider's export list.
    pub export: u32,
    /// Its own name (the one looked for, or another version on its track).
    pub name: &'a str,
    /// How it matched.
    pub rule: MatchRule,
}

/// A lookup of an input's export found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportLookupError {
    /// No input has the name given.
    #[error("no input is named `{input}`")]
    NoInput {
        /// The input's name, as given.
        input: String,
    },
    /// The input has no export of that name, nor one on its track.
    #[error("`{input}` has no export `{name}`")]
    NoExport {
        /// The input.
        input: String,
        /// The export looked for.
        name: String,
    },
    /// The input exports the interface, but on another semver track.
    #[error("`{input}` has no export `{name}` (it exports `{exported}`, on another semver track)")]
    OtherTrack {
        /// The input.
        input: String,
        /// The export looked for.
        name: String,
        /// The export it has instead.
        exported: String,
    },
}

/// Every export of every input, indexed once by exact name and by
/// `(name, track)`.
#[derive(Debug)]
pub struct ExportIndex<'r, 'a> {
    surveys: &'r [&'r Survey<'a>],
    /// Inputs by link name.
    by_name: HashMap<&'r str, InputId>,
    /// Every export, as `(input, position)`.
    exports: ProviderIndex<'a, (InputId, u32)>,
}

impl<'r, 'a> ExportIndex<'r, 'a> {
    /// Indexes the exports of `surveys`, input `i` named `names[i]`.
    pub fn new(names: &'r [&'r str], surveys: &'r [&'r Survey<'a>]) -> Self {
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, InputId(i as u32)))
            .collect();
        let mut exports = ProviderIndex::new();
        for (i, s) in surveys.iter().enumerate() {
            for (e, name) in export_names(s).enumerate() {
                exports.insert(name, (InputId(i as u32), e as u32));
            }
        }
        ExportIndex {
            surveys,
            by_name,
            exports,
        }
    }

    /// The export of input `input` that `name` finds: exact, else the
    /// highest version on the same track.
    pub fn lookup(&self, input: &str, name: &str) -> Result<ExportMatch<'a>, ExportLookupError> {
        let Some(&provider) = self.by_name.get(input) else {
            return Err(ExportLookupError::NoInput {
                input: input.to_string(),
            });
        };
        let survey = self.surveys[provider.as_usize()];
        match self.exports.lookup_where(name, |&(p, _)| p == provider) {
            Some((&(_, export), rule)) => Ok(ExportMatch {
                provider,
                export,
                name: export_names(survey)
                    .nth(export as usize)
                    .expect("the index holds positions of the same survey"),
                rule,
            }),
            None => {
                // The same interface on another track, if the input has one.
                let base = match_key(name).0;
                let other = export_names(survey).find(|n| match_key(n).0 == base);
                Err(match other {
                    Some(exported) => ExportLookupError::OtherTrack {
                        input: input.to_string(),
                        name: name.to_string(),
                        exported: exported.to_string(),
                    },
                    None => ExportLookupError::NoExport {
                        input: input.to_string(),
                        name: name.to_string(),
                    },
                })
            }
        }
    }
}

/// The export names of a survey, in order.
fn export_names<'s, 'a>(s: &'s Survey<'a>) -> Box<dyn Iterator<Item = &'a str> + 's> {
    match s {
        Survey::Component(c) => Box::new(c.exports.iter().map(|e| e.name.name)),
        Survey::Module(m) => Box::new(m.exports.iter().map(|e| e.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component exporting each of `names` as an (empty) instance.
    fn exporting(names: &[&str]) -> String {
        let exports: String = names
            .iter()
            .map(|n| format!("(export \"{n}\" (instance $i))"))
            .collect();
        format!("(component (instance $i) {exports})")
    }

    fn with_index<R>(items: &[(&str, String)], f: impl FnOnce(&ExportIndex<'_, '_>) -> R) -> R {
        let items: Vec<(&str, &str)> = items.iter().map(|(n, w)| (*n, w.as_str())).collect();
        crate::resolve::tests::with_surveys(&items, |names, surveys| f(&ExportIndex::new(names, surveys)))
    }

    #[test]
    fn a_lookup_on_the_same_track_takes_the_highest_version_and_says_so() {
        let items = [
            ("a", exporting(&["demo:x/api@0.2.3", "demo:x/api@0.2.4"])),
            ("b", exporting(&["demo:x/api@0.2.9"])),
        ];
        with_index(&items, |idx| {
            let m = idx.lookup("a", "demo:x/api@0.2.5").unwrap();
            assert_eq!(
                m,
                ExportMatch {
                    provider: InputId(0),
                    export: 1,
                    name: "demo:x/api@0.2.4",
                    rule: MatchRule::Semver
                }
            );
            let exact = idx.lookup("a", "demo:x/api@0.2.3").unwrap();
            assert_eq!((exact.name, exact.rule), ("demo:x/api@0.2.3", MatchRule::Exact));
        });
    }

    #[test]
    fn a_failed_lookup_names_what_is_missing() {
        let items = [("a", exporting(&["demo:x/api@0.2.3", "plain"]))];
        with_index(&items, |idx| {
            assert!(matches!(
                idx.lookup("nobody", "plain"),
                Err(ExportLookupError::NoInput { input }) if input == "nobody"
            ));
            assert!(matches!(
                idx.lookup("a", "demo:x/api@0.3.0"),
                Err(ExportLookupError::OtherTrack { exported, .. }) if exported == "demo:x/api@0.2.3"
            ));
            assert!(matches!(
                idx.lookup("a", "missing"),
                Err(ExportLookupError::NoExport { name, .. }) if name == "missing"
            ));
        });
    }
}
