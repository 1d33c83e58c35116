use std::sync::Arc;

/// Result alias used across rill's library crates.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised by rill's library crates. Each variant says *what* (record, field, expression,
/// path) and *why*, so a message can be shown to a user unchanged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A configuration problem found while building a flow (bad option, unknown name…).
    #[error("configuration error: {0}")]
    Config(String),
    /// Input data that cannot be decoded (malformed CSV/JSON row, bad timestamp…).
    #[error("{source_name}, record {record}: {reason}")]
    BadRecord {
        /// The source (file path, topic…) the record came from.
        source_name: Arc<str>,
        /// 1-based record (line) number within the source.
        record: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A field that a step needs is absent or of the wrong type.
    #[error("field '{field}': {reason}")]
    Field {
        /// The field name.
        field: String,
        /// Why it could not be used.
        reason: String,
    },
    /// An expression failed to compile or to evaluate. The message shows at most 200
    /// characters of the expression and 300 of the reason (their middles left out, see
    /// [`shorten`]): both may quote input of any length.
    #[error("expression `{}`: {}", shorten(.expr, 200), shorten(.reason, 300))]
    Expr {
        /// The expression text.
        expr: String,
        /// Why it failed.
        reason: String,
    },
    /// A file or network I/O failure.
    #[error("{context}: {message}")]
    Io {
        /// What was being done (e.g. "reading data/x.csv").
        context: String,
        /// The underlying error message.
        message: String,
    },
    /// A failure raised by user code (a closure) or by a step.
    #[error("{0}")]
    User(String),
    /// A state store (table driver) failure.
    #[error("table '{table}': {message}")]
    Table {
        /// The table name.
        table: String,
        /// The underlying error message.
        message: String,
    },
    /// The flow is no longer running (terminated, or failed earlier).
    #[error("flow is not running: {0}")]
    FlowClosed(String),
    /// An error wrapped with the place it happened (step, record, key).
    #[error("{context}: {inner}")]
    Context {
        /// Where it happened, e.g. "step 'filter' on record 17 of data.csv (key \"a\")".
        context: String,
        /// The original error.
        inner: Box<Error>,
    },
}

impl Error {
    /// Shorthand for a [`Error::Config`] error.
    pub fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }
    /// Shorthand for a [`Error::Field`] error.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Field {
            field: field.into(),
            reason: reason.into(),
        }
    }
    /// Shorthand for a [`Error::User`] error.
    pub fn user(msg: impl Into<String>) -> Self {
        Error::User(msg.into())
    }
    /// Shorthand for an [`Error::Io`] error.
    pub fn io(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Io {
            context: context.into(),
            message: err.to_string(),
        }
    }
    /// Wraps the error with a description of where it happened.
    pub fn context(self, context: impl Into<String>) -> Self {
        Error::Context {
            context: context.into(),
            inner: Box::new(self),
        }
    }
    /// The innermost error, without context wrappers.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { inner, .. } => inner.root(),
            e => e,
        }
    }
    /// A short name of the error's kind, used to pick a recovery step per error kind
    /// and in run summaries: `config`, `bad_record`, `field`, `expr`, `io`, `user`, `table`, `closed`.
    pub fn kind(&self) -> &'static str {
        match self.root() {
            Error::Config(_) => "config",
            Error::BadRecord { .. } => "bad_record",
            Error::Field { .. } => "field",
            Error::Expr { .. } => "expr",
            Error::Io { .. } => "io",
            Error::User(_) => "user",
            Error::Table { .. } => "table",
            Error::FlowClosed(_) => "closed",
            Error::Context { .. } => unreachable!("root() strips context"),
        }
    }
}

/// `text` with its middle left out when it is longer than `max` characters: the first two
/// thirds and the last third of `max` are kept around `… (N characters left out) …`. For
/// messages that quote input (a cell, a name): a megabyte-long value must not make a
/// megabyte-long message, and both ends of the message (what is wrong, and why) stay.
///
/// ```
/// let long = format!("field 'x': '{}' is not an int", "9".repeat(1000));
/// let short = rill_core::shorten(&long, 60);
/// assert_eq!(
///     short,
///     "field 'x': '9999999999999999999999999999 … (967 characters left out) … 99999' is not an int"
/// );
/// assert_eq!(rill_core::shorten("short", 60), "short");
/// ```
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let n = text.chars().count();
    if n <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let (head, tail) = (max * 2 / 3, max / 3);
    let cut = |k: usize| text.char_indices().nth(k).map_or(text.len(), |(i, _)| i);
    let (a, b) = (cut(head), cut(n - tail));
    std::borrow::Cow::Owned(format!(
        "{} … ({} characters left out) … {}",
        &text[..a],
        n - head - tail,
        &text[b..]
    ))
}
