//! A value typed by the user (a size, a duration, a time) that does not parse, with where.

/// A size, duration or time typed by the user that does not parse: the text, the span
/// (byte offset and length within it) to point at, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// The text as given.
    pub input: String,
    /// Byte offset of the part that is wrong.
    pub offset: usize,
    /// Its length in bytes (at least one character is pointed at).
    pub len: usize,
    pub message: String,
}

impl ValueError {
    pub(crate) fn new(
        input: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> ValueError {
        // The span stays inside the text, on character boundaries (a query's columns are
        // checked against it): whole characters are pointed at.
        let mut offset = offset.min(input.len());
        while !input.is_char_boundary(offset) {
            offset -= 1;
        }
        let mut end = offset.saturating_add(len).min(input.len());
        while !input.is_char_boundary(end) {
            end += 1;
        }
        ValueError {
            input: input.to_owned(),
            offset,
            len: end - offset,
            message: message.into(),
        }
    }

    /// The same error about a text embedded at byte `at` of a longer one (a query).
    pub fn shifted(mut self, outer: &str, at: usize) -> ValueError {
        self.input = outer.to_owned();
        self.offset += at;
        self
    }

    /// Two lines: the text, and carets under the part that is wrong.
    ///
    /// ```text
    /// 2026-13-05T10:04:40
    ///      ^^
    /// ```
    pub fn caret(&self) -> String {
        let line: String = self
            .input
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let floor = |mut i: usize| {
            i = i.min(self.input.len());
            while !self.input.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(self.offset);
        let end = floor(self.offset.saturating_add(self.len)).max(start);
        let indent = self.input[..start].chars().count();
        let carets = self.input[start..end].chars().count().max(1);
        format!("{line}\n{}{}", " ".repeat(indent), "^".repeat(carets))
    }
}
