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
    /// A configuration error at a path in the configuration (`steps.0.filter`), before the
    /// file and line it came from are known. Always a configuration error ([`Error::kind`]
    /// says `config`), whatever the inner error.
    #[error("{path}: {}", .inner.detail())]
    AtPath {
        /// Dotted path into the configuration: map keys and list indices,
        /// e.g. `steps.0.aggregate_by_key.aggregates.1.filter`.
        path: String,
        /// What is wrong there.
        inner: Box<Error>,
    },
    /// A configuration error placed in its file: `pipeline.yaml:7:9: steps.0.filter: …`.
    /// Always a configuration error ([`Error::kind`] says `config`).
    #[error("{place}: {}{}", .path.as_deref().map(|p| format!("{p}: ")).unwrap_or_default(), .inner.detail())]
    Located {
        /// Where the offending text is: `file:line:column`, or the command-line argument it
        /// came from (`--set steps.0.filter`).
        place: String,
        /// The path into the configuration, when there is one (none for a YAML syntax error).
        path: Option<String>,
        /// What is wrong there.
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
    /// Places a configuration error at `segment` of a configuration path: an error already at a
    /// path gets `segment` in front of it (`steps.0` + `filter` → `steps.0.filter`), so each
    /// level of a configuration adds the part it knows.
    ///
    /// ```
    /// use rill_core::Error;
    /// let e = Error::config("bad").at("filter").at("steps.0");
    /// assert_eq!(e.to_string(), "steps.0.filter: bad");
    /// assert_eq!(e.kind(), "config");
    /// ```
    pub fn at(self, segment: impl Into<String>) -> Self {
        let segment = segment.into();
        match self {
            Error::AtPath { path, inner } if segment.is_empty() => Error::AtPath { path, inner },
            Error::AtPath { path, inner } => Error::AtPath {
                path: format!("{segment}.{path}"),
                inner,
            },
            located @ Error::Located { .. } => located,
            other => Error::AtPath {
                path: segment,
                inner: Box::new(other),
            },
        }
    }
    /// The message without the `configuration error: ` prefix of [`Error::Config`] (used where
    /// a place already says that the configuration is at fault).
    pub fn detail(&self) -> String {
        match self {
            Error::Config(msg) => msg.clone(),
            Error::Context { context, inner } => format!("{context}: {}", inner.detail()),
            other => other.to_string(),
        }
    }
    /// The innermost error, without context wrappers (context, path and place).
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { inner, .. }
            | Error::AtPath { inner, .. }
            | Error::Located { inner, .. } => inner.root(),
            e => e,
        }
    }
    /// True for an error in the configuration (a bad option, a bad expression or path in a
    /// pipeline file…) as opposed to one met while running: [`Error::Config`], or any error
    /// placed at a configuration path except an I/O failure (creating an output directory
    /// that cannot be created is an I/O error, wherever its path comes from).
    pub fn is_config(&self) -> bool {
        match self {
            Error::Config(_) => true,
            Error::AtPath { inner, .. } | Error::Located { inner, .. } => {
                !matches!(inner.root(), Error::Io { .. })
            }
            Error::Context { inner, .. } => inner.is_config(),
            _ => false,
        }
    }
    /// A short name of the error's kind, used to pick a recovery step per error kind
    /// and in run summaries: `config`, `bad_record`, `field`, `expr`, `io`, `user`, `table`, `closed`.
    pub fn kind(&self) -> &'static str {
        if self.is_config() {
            return "config";
        }
        match self.root() {
            Error::Config(_) => "config",
            Error::BadRecord { .. } => "bad_record",
            Error::Field { .. } => "field",
            Error::Expr { .. } => "expr",
            Error::Io { .. } => "io",
            Error::User(_) => "user",
            Error::Table { .. } => "table",
            Error::FlowClosed(_) => "closed",
            Error::Context { .. } | Error::AtPath { .. } | Error::Located { .. } => {
                unreachable!("root() strips context")
            }
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
