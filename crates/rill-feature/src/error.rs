//! The errors of feature graphs: each names what failed (config path, source, feature) and why,
//! and keeps the underlying error as its source.

/// What building or running a feature graph can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// A featurizer config or a feature built in code is wrong: unknown definition, unknown or
    /// ill-typed param, missing dependency, cycle… `path` is where, e.g.
    /// `feature_configs[2].params.window`.
    #[error("{path}: {reason}")]
    Config {
        /// Where in the config (or the builder call) the problem is.
        path: String,
        /// What is wrong there.
        reason: String,
    },
    /// A YAML featurizer config that does not parse (syntax, unknown key, wrong shape).
    #[error("{file}: {source}")]
    Yaml {
        /// The file (or `<string>` for text given directly).
        file: String,
        /// The parser's error (with line and column).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A file that cannot be read.
    #[error("reading '{path}': {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A data source's input failed (unreadable file, rows out of time order, bad rows past
    /// the limit).
    #[error("data source '{source_name}': {source}")]
    Input {
        /// The data source's name in the graph.
        source_name: String,
        /// What failed.
        #[source]
        source: rill_core::Error,
    },
    /// An event pushed into the graph names no data source of it.
    #[error("unknown data source '{name}' (the graph's data sources: {known})")]
    UnknownSource {
        /// The name given.
        name: String,
        /// The names the graph knows, comma-separated.
        known: String,
    },
    /// The compiled flow failed while processing an event (a definition's logic refused it).
    #[error(transparent)]
    Engine(#[from] rill_core::Error),
}

impl FeatureError {
    /// A [`FeatureError::Config`] at `path`.
    pub fn config(path: impl Into<String>, reason: impl Into<String>) -> FeatureError {
        FeatureError::Config {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = FeatureError> = std::result::Result<T, E>;
