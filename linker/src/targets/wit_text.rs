//! World items in WIT syntax, one line per member, for the messages of
//! `weld targets`: a type mismatch names what one side has and the other
//! lacks, never the validator's internal types.

use wit_component::WitPrinter;
use wit_parser::{Function, Resolve, WorldItem};

/// The members of a world item (an interface's types and functions, or a
/// function), each in WIT syntax on one line, versions in `use` paths
/// removed so that two versions of one interface compare.
pub(crate) fn members(resolve: &Resolve, item: &WorldItem) -> Vec<String> {
    match item {
        WorldItem::Interface { id, .. } => {
            let mut p = WitPrinter::default();
            p.emit_docs(false);
            if p.print_interface(resolve, *id).is_err() {
                return Vec::new();
            }
            let text = p.output.to_string();
            text.split("\n\n")
                .map(|m| unversioned(&ungated(&collapse(m))))
                .filter(|m| !m.is_empty())
                .collect()
        }
        WorldItem::Function(f) => vec![function(resolve, f)],
        WorldItem::Type { .. } => Vec::new(),
    }
}

/// `name: func(a: t, ...) -> r`.
fn function(resolve: &Resolve, f: &Function) -> String {
    let ty = |t: &wit_parser::Type| {
        let mut p = WitPrinter::default();
        match p.print_type_name(resolve, t) {
            Ok(()) => p.output.to_string(),
            Err(_) => "?".to_string(),
        }
    };
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, ty(&p.ty)))
        .collect();
    let mut s = format!("{}: func({})", f.name, params.join(", "));
    if let Some(r) = &f.result {
        s.push_str(&format!(" -> {}", ty(r)));
    }
    s
}

/// The name a member declares (`get-stdout`, `output-stream`, `use`).
pub(crate) fn member_name(m: &str) -> String {
    let m = ungated(m);
    let mut rest = m.trim();
    for kw in ["resource ", "record ", "variant ", "enum ", "flags ", "type "] {
        if let Some(r) = rest.strip_prefix(kw) {
            rest = r;
            break;
        }
    }
    if rest.starts_with("use ") {
        return "use".to_string();
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '%'))
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Whitespace runs as one space.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Without feature gates (`@since(...)`, `@unstable(...)`,
/// `@deprecated(...)`): they say when an item appeared, not what it is.
fn ungated(s: &str) -> String {
    let mut out = s.to_string();
    for gate in ["@since(", "@unstable(", "@deprecated("] {
        while let Some(at) = out.find(gate) {
            let end = out[at..].find(')').map(|e| at + e + 1).unwrap_or(out.len());
            let end = if out[end..].starts_with(' ') { end + 1 } else { end };
            out.replace_range(at..end, "");
        }
    }
    out
}

/// `use wasi:io/streams@0.2.0.{x}` -> `use wasi:io/streams.{x}`.
fn unversioned(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut version = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_alphanumeric() || matches!(d, '.' | '-' | '+') {
                    version.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            // The path's `.{` separator was taken with the version.
            if version.ends_with('.') && chars.peek() == Some(&'{') {
                out.push('.');
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// What `wanted` has that `have` lacks or has differently: for each such
/// member, its text and the text of `have`'s member of the same name.
pub(crate) fn differences(wanted: &[String], have: &[String]) -> Vec<(String, Option<String>)> {
    wanted
        .iter()
        .filter(|m| !have.contains(m))
        .map(|m| {
            let name = member_name(m);
            let theirs = have.iter().find(|h| member_name(h) == name).cloned();
            (m.clone(), theirs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_leave_use_paths_and_names_are_found() {
        assert_eq!(
            unversioned("use wasi:io/streams@0.2.0.{output-stream};"),
            "use wasi:io/streams.{output-stream};"
        );
        assert_eq!(unversioned("use a:b/c@1.0.0-rc.1.{x};"), "use a:b/c.{x};");
        assert_eq!(member_name("get-stdout: func() -> output-stream;"), "get-stdout");
        assert_eq!(
            member_name("resource output-stream { write: func(); }"),
            "output-stream"
        );
        assert_eq!(
            member_name("@since(version = 0.2.0) record datetime { seconds: u64, }"),
            "datetime"
        );
        assert_eq!(member_name("use wasi:io/streams.{x};"), "use");
        assert_eq!(
            ungated("@since(version = 0.2.0) resource r { @since(version = 0.2.0) f: func(); }"),
            "resource r { f: func(); }"
        );
    }
}
