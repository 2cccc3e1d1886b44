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

/// Whether an import module name is a host import by the proposal's syntax:
/// its first segment starts with `@`.
pub fn is_host_import(name: &str) -> bool {
    name.starts_with('@')
}

impl HostMap {
    /// Reads `path`: a JSON object, or a TOML table, of strings. Keys must
    /// start with `@`.
    pub fn read(path: &Path) -> Result<HostMap, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("host map {file}: {e}"))?;
        HostMap::parse(&text, &file)
    }

    /// Parses the text of a host map named `file` (JSON if it starts with
    /// `{`, else TOML).
    pub fn parse(text: &str, file: &str) -> Result<HostMap, String> {
        let entries: BTreeMap<String, String> = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| format!("host map {file}: not a JSON object of strings: {e}"))?
        } else {
            toml::from_str(text).map_err(|e| {
                format!(
                    "host map {file}: not a TOML table of strings: {}",
                    e.to_string().replace('\n', " ")
                )
            })?
        };
        if let Some(bad) = entries.keys().find(|k| !is_host_import(k)) {
            return Err(format!("host map {file}: key `{bad}` does not start with `@`"));
        }
        if let Some((k, _)) = entries.iter().find(|(_, v)| v.is_empty()) {
            return Err(format!("host map {file}: `{k}` maps to an empty name"));
        }
        Ok(HostMap {
            file: file.to_string(),
            entries,
        })
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
        assert!(HostMap::parse(r#"{"wasi": "x"}"#, "h.json")
            .unwrap_err()
            .contains("does not start with `@`"));
    }
}
