//! `weld compose DOC.wac`: what went wrong, and where in the document.

/// A WAC document that could not be composed, told at the place in the
/// document it is about: file, line and column (both from 1), and the
/// text of the span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message} (at `{text}`)")]
pub struct DocumentError {
    /// The document's path, as given.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
    /// The span's text (its first line, shortened).
    pub text: String,
    /// What is wrong, one line.
    pub message: String,
}

impl DocumentError {
    /// The error at byte `offset` (`len` bytes) of `source`.
    pub fn at(file: &str, source: &str, offset: usize, len: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        let end = floor_char_boundary(source, (offset + len).min(source.len()));
        let span = source[offset..end].lines().next().unwrap_or("");
        let text: String = if span.chars().count() > 60 {
            span.chars().take(57).chain("...".chars()).collect()
        } else {
            span.to_string()
        };
        DocumentError {
            file: file.to_string(),
            line,
            column,
            text,
            message: weld_format::one_line(&message.into()),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
