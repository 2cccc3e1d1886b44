//! The host import map of the native-host import proposal: import module
//! names whose first segment starts with `@` are host imports (never files),
//! and a map may rename them to the host's own module names in the output
//! (`"@wasi/fs" = "wasi_snapshot_preview1"`). A key is a whole module name
//! (`@wasi/fs`) or a first segment (`@wasi`, which renames that segment and
//! keeps the rest); the whole name is tried first.

use std::collections::BTreeMap;
use std::path::Path;

/// A host import map, read from a JSON or TOML file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostMap {
    /// The file, for messages and the graph.
    pub file: String,
    /// `@name` (or `@name/rest`) → the host's module name.
    pub entries: BTreeMap<String, String>,
}

/// A host import map that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HostMapError {
    /// The file cannot be read.
    #[error("host map {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// JSON text that is not an object of strings.
    #[error("host map {file}: not a JSON object of strings: {source}")]
    Json {
        /// The file.
        file: String,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// TOML text that is not a table of strings.
    #[error("host map {file}: not a TOML table of strings: {}", source.to_string().replace('\n', " "))]
    Toml {
        /// The file.
        file: String,
        /// The TOML parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A key that is not a host import name.
    #[error("host map {file}: key `{key}` does not start with `@`")]
    NotHost {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
    /// A key mapped to nothing.
    #[error("host map {file}: `{key}` maps to an empty name")]
    EmptyName {
        /// The file.
        file: String,
        /// The key.
        key: String,
    },
}

/// Whether an import module name is a host import by the proposal's syntax:
/// its first segment starts with `@`.
pub fn is_host_import(name: &str) -> bool {
    name.starts_with('@')
}

impl HostMap {
    /// Reads `path`: a JSON object, or a TOML table, of strings. Keys must
    /// start with `@`.
    pub fn read(path: &Path) -> Result<HostMap, HostMapError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| HostMapError::Read {
            file: file.clone(),
            source,
        })?;
        HostMap::parse(&text, &file)
    }

    /// Parses the text of a host map named `file` (JSON if it starts with
    /// `{`, else TOML).
    pub fn parse(text: &str, file: &str) -> Result<HostMap, HostMapError> {
        let file = file.to_string();
        let entries: BTreeMap<String, String> = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|source| HostMapError::Json {
                file: file.clone(),
                source,
            })?
        } else {
            toml::from_str(text).map_err(|source| HostMapError::Toml {
                file: file.clone(),
                source,
            })?
        };
        if let Some(bad) = entries.keys().find(|k| !is_host_import(k)) {
            return Err(HostMapError::NotHost {
                file,
                key: bad.clone(),
            });
        }
        if let Some((k, _)) = entries.iter().find(|(_, v)| v.is_empty()) {
            return Err(HostMapError::EmptyName { file, key: k.clone() });
        }
        Ok(HostMap { file, entries })
    }

    /// The host module name `module` becomes, if the map has an entry.
    pub fn rename(&self, module: &str) -> Option<String> {
        if let Some(to) = self.entries.get(module) {
            return Some(to.clone());
        }
        let (first, rest) = module.split_once('/')?;
        self.entries.get(first).map(|to| format!("{to}/{rest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_then_first_segments() {
        let m = HostMap::parse(
            r#"{"@wasi/fs": "wasi_snapshot_preview1", "@js": "env"}"#,
            "h.json",
        )
        .unwrap();
        assert_eq!(m.rename("@wasi/fs").as_deref(), Some("wasi_snapshot_preview1"));
        assert_eq!(m.rename("@js/dom").as_deref(), Some("env/dom"));
        assert_eq!(m.rename("@other"), None);
        let t = HostMap::parse("\"@wasi/fs\" = \"wasi_snapshot_preview1\"\n", "h.toml").unwrap();
        assert_eq!(t.entries.len(), 1);
        assert_eq!(t.rename("@wasi/fs"), m.rename("@wasi/fs"));
        let e = HostMap::parse(r#"{"wasi": "x"}"#, "h.json").unwrap_err();
        assert!(matches!(&e, HostMapError::NotHost { key, .. } if key == "wasi"));
        assert_eq!(
            e.to_string(),
            "host map h.json: key `wasi` does not start with `@`"
        );
        let e = HostMap::parse("x = [", "h.toml").unwrap_err();
        assert!(matches!(e, HostMapError::Toml { .. }));
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
