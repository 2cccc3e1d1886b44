//! Finding an external tool a test needs: missing under CI is a failure,
//! elsewhere a printed skip. Shared by the main crate's tests (through
//! `registry.rs`) and the runtime tests' crate.

use std::path::PathBuf;

/// Under CI a missing tool fails the test; elsewhere it is skipped.
pub fn missing(why: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; CI is set, so this is a failure, not a skip (.ci/run installs it)");
    }
    eprintln!("skipped: {why}");
}

/// An executable: `$env`, else on PATH, else in the places listed.
pub fn tool(name: &str, env: &str, also: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let Some(p) = on_path
        .into_iter()
        .chain(also.iter().cloned())
        .find(|p| p.is_file())
    {
        return Some(p);
    }
    missing(&format!("{name} not found (set {env}, or put it on PATH)"));
    None
}
