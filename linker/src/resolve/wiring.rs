//! The wiring file: explicit connections (`--wiring FILE`), the first rule
//! of component resolution.
//!
//! ```toml
//! # One table per importing input; one key per import, as it writes it.
//! [app]
//! "demo:greet/api@0.2.0" = "greeter"     # greeter's export matching this name
//! "log-a" = { from = "log1", export = "demo:log/api@1.0.0" }
//! ```

/// One explicit connection, from a wiring file or the library caller:
/// `importer`'s import `import` takes `provider`'s export `export` (or, when
/// `export` is `None`, the export of `provider` that matches `import` by name
/// or semver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSpec {
    /// The importing input (its name).
    pub importer: String,
    /// The import, exactly as the importer writes it.
    pub import: String,
    /// The providing input (its name).
    pub provider: String,
    /// The provider's export, if named.
    pub export: Option<String>,
}

/// The wiring file is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct WiringFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Parses a wiring file. `file` names it in errors.
pub fn parse_wiring(text: &str, file: &str) -> Result<Vec<WireSpec>, WiringFileError> {
    let bad = |reason: String| WiringFileError {
        file: file.to_string(),
        reason,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
    let mut specs = Vec::new();
    for (importer, entries) in &table {
        let toml::Value::Table(entries) = entries else {
            return Err(bad(format!(
                "`{importer}` must be a table of `\"import\" = provider` entries"
            )));
        };
        for (import, value) in entries {
            let (provider, export) = match value {
                toml::Value::String(p) => (p.clone(), None),
                toml::Value::Table(t) => {
                    let from = t.get("from").and_then(|v| v.as_str());
                    let export = t.get("export").and_then(|v| v.as_str());
                    let unknown: Vec<&str> = t
                        .keys()
                        .map(String::as_str)
                        .filter(|k| *k != "from" && *k != "export")
                        .collect();
                    match (from, unknown.is_empty()) {
                        (Some(f), true) => (f.to_string(), export.map(str::to_string)),
                        _ => {
                            return Err(bad(format!(
                            "[{importer}] \"{import}\": expected {{ from = \"input\", export = \"name\" }}"
                        )))
                        }
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "[{importer}] \"{import}\": expected an input name or {{ from, export }}"
                    )))
                }
            };
            specs.push(WireSpec {
                importer: importer.clone(),
                import: import.clone(),
                provider,
                export,
            });
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_mistakes_are_named() {
        let specs = parse_wiring(
            "[app]\n\"a:b/c@1.0.0\" = \"lib\"\n\"log\" = { from = \"l2\", export = \"x\" }\n",
            "w.toml",
        )
        .unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].provider, "lib");
        assert_eq!(specs[0].export, None);
        assert_eq!(specs[1].export.as_deref(), Some("x"));
        let e = parse_wiring("[app]\nx = { to = \"y\" }\n", "w.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.toml") && e.contains("\"x\""), "{e}");
        let e = parse_wiring("app = 3\n", "w.toml").unwrap_err().to_string();
        assert!(e.contains("`app` must be a table"), "{e}");
    }
}
