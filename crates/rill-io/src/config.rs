//! The registry of file sources and targets, as they appear in YAML pipelines.
//!
//! Externally tagged, snake_case: `source: {csv: {path: data/x.csv, key: user, time: time}}`,
//! `targets: [{parquet: {path: out/x.parquet}}]`. Adding a component = one variant here plus
//! one arm in `build`; this file is the complete list.

use crate::common::OneOrMany;
use crate::sources::csv::{CsvSource, CsvSourceConfig};
use crate::sources::jsonl::{JsonlSource, JsonlSourceConfig};
use crate::sources::parquet::{ParquetSource, ParquetSourceConfig};
use crate::targets::csv::{CsvTarget, CsvTargetConfig};
use crate::targets::jsonl::{JsonlTarget, JsonlTargetConfig};
use crate::targets::parquet::{ParquetTarget, ParquetTargetConfig};
use rill_core::Error;
use rill_flow::{Source, Step};
use serde::{Deserialize, Serialize};

/// A file source, by format.
///
/// ```
/// use rill_io::SourceConfig;
/// let cfg: SourceConfig = serde_json::from_str(r#"{"csv": {"path": "x.csv", "key": "user"}}"#).unwrap();
/// assert!(matches!(cfg, SourceConfig::Csv(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceConfig {
    /// CSV files (`csv`).
    Csv(CsvSourceConfig),
    /// JSON lines files (`jsonl`).
    Jsonl(JsonlSourceConfig),
    /// Parquet files (`parquet`).
    Parquet(ParquetSourceConfig),
}

impl SourceConfig {
    /// The format's name as written in a pipeline file (`csv`, `jsonl`, `parquet`).
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Csv(_) => "csv",
            SourceConfig::Jsonl(_) => "jsonl",
            SourceConfig::Parquet(_) => "parquet",
        }
    }

    /// The `path` option: a file, a list of files or a glob pattern; `-` is standard input.
    pub fn path(&self) -> &OneOrMany {
        match self {
            SourceConfig::Csv(c) => &c.path,
            SourceConfig::Jsonl(c) => &c.path,
            SourceConfig::Parquet(c) => &c.path,
        }
    }

    /// The `path` option, to change it (`--input`, relative paths made relative to the
    /// pipeline file).
    pub fn path_mut(&mut self) -> &mut OneOrMany {
        match self {
            SourceConfig::Csv(c) => &mut c.path,
            SourceConfig::Jsonl(c) => &mut c.path,
            SourceConfig::Parquet(c) => &mut c.path,
        }
    }

    /// Builds the source (checks options, expands paths; files are opened when read).
    pub fn build(&self) -> Result<Box<dyn Source>, Error> {
        Ok(match self {
            SourceConfig::Csv(c) => Box::new(CsvSource::new(c.clone())?),
            SourceConfig::Jsonl(c) => Box::new(JsonlSource::new(c.clone())?),
            SourceConfig::Parquet(c) => Box::new(ParquetSource::new(c.clone())?),
        })
    }

    /// The files this source reads (glob patterns expanded).
    pub fn paths(&self) -> Result<Vec<std::path::PathBuf>, Error> {
        crate::common::expand_paths(self.path())
    }

    /// The fields every event body of this source has, when they are known before reading
    /// (a CSV's `columns` or header line, a Parquet file's schema): `None` for JSON lines, or
    /// when the first file cannot be opened (the run then reports why). Used to check, before
    /// any record is read, that the fields the steps read exist.
    pub fn known_fields(&self) -> Result<Option<Vec<String>>, Error> {
        if self
            .path()
            .as_slice()
            .iter()
            .any(|p| p == crate::common::STDIN)
        {
            // reading the header would consume standard input
            return Ok(None);
        }
        match self {
            SourceConfig::Csv(c) => {
                if let Some(cols) = &c.columns {
                    return Ok(Some(cols.clone()));
                }
                if !c.header {
                    return Ok(None);
                }
                let Some(first) = crate::common::expand_paths(&c.path)?.into_iter().next() else {
                    return Ok(None);
                };
                let Ok(file) = std::fs::File::open(&first) else {
                    return Ok(None);
                };
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(c.delimiter as u8)
                    .from_reader(std::io::BufReader::new(file));
                Ok(reader
                    .headers()
                    .ok()
                    .map(|h| h.iter().map(str::to_string).collect()))
            }
            SourceConfig::Jsonl(_) => Ok(None),
            SourceConfig::Parquet(c) => {
                let Some(first) = crate::common::expand_paths(&c.path)?.into_iter().next() else {
                    return Ok(None);
                };
                let Ok(file) = std::fs::File::open(&first) else {
                    return Ok(None);
                };
                let Ok(b) =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                else {
                    return Ok(None);
                };
                let all = b.schema().fields().iter().map(|f| f.name().clone());
                Ok(Some(match &c.columns {
                    Some(cols) => all.filter(|f| cols.contains(f)).collect(),
                    None => all.collect(),
                }))
            }
        }
    }
}

/// A file target, by format.
///
/// ```
/// use rill_io::TargetConfig;
/// let cfg: TargetConfig = serde_json::from_str(r#"{"parquet": {"path": "out/x.parquet"}}"#).unwrap();
/// assert!(matches!(cfg, TargetConfig::Parquet(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetConfig {
    /// CSV file (`csv`).
    Csv(CsvTargetConfig),
    /// JSON lines file (`jsonl`).
    Jsonl(JsonlTargetConfig),
    /// Parquet file (`parquet`).
    Parquet(ParquetTargetConfig),
}

impl TargetConfig {
    /// The format's name as written in a pipeline file (`csv`, `jsonl`, `parquet`).
    pub fn kind(&self) -> &'static str {
        match self {
            TargetConfig::Csv(_) => "csv",
            TargetConfig::Jsonl(_) => "jsonl",
            TargetConfig::Parquet(_) => "parquet",
        }
    }

    /// The file this target writes; `-` is standard output.
    pub fn path(&self) -> &str {
        match self {
            TargetConfig::Csv(c) => &c.path,
            TargetConfig::Jsonl(c) => &c.path,
            TargetConfig::Parquet(c) => &c.path,
        }
    }

    /// The file this target writes, to change it.
    pub fn path_mut(&mut self) -> &mut String {
        match self {
            TargetConfig::Csv(c) => &mut c.path,
            TargetConfig::Jsonl(c) => &mut c.path,
            TargetConfig::Parquet(c) => &mut c.path,
        }
    }

    /// True when the target writes to standard output (`path: "-"`).
    pub fn is_stdout(&self) -> bool {
        self.path() == crate::targets::STDOUT
    }

    /// Checks the options and the path as [`TargetConfig::build`] would, without creating
    /// the output directory or any file (`rill validate`). Errors are at a path in the
    /// target's options (`path`, `columns`…).
    pub fn check(&self) -> Result<(), Error> {
        match self {
            TargetConfig::Csv(c) => crate::targets::csv::check(c),
            TargetConfig::Jsonl(c) => crate::targets::jsonl::check(c),
            TargetConfig::Parquet(c) => crate::targets::parquet::check(c),
        }
    }

    /// Refuses a target whose file is one of `inputs` (compared after resolving links and
    /// relative paths): committing it would replace an input the run is still reading.
    pub fn check_not_input(&self, inputs: &[std::path::PathBuf]) -> Result<(), Error> {
        if self.is_stdout() {
            return Ok(());
        }
        let Ok(out) = std::fs::canonicalize(self.path()) else {
            // a file that does not exist yet is no input
            return Ok(());
        };
        for input in inputs {
            if std::fs::canonicalize(input).is_ok_and(|i| i == out) {
                return Err(Error::config(format!(
                    "target path '{}' is the input '{}' (both are '{}'): write the output to another file",
                    self.path(),
                    input.display(),
                    out.display()
                ))
                .at("path"));
            }
        }
        Ok(())
    }

    /// Builds the target step: checks options, creates the output directory and the partial
    /// file (the target path is replaced when the run ends well).
    pub fn build(&self) -> Result<Box<dyn Step>, Error> {
        Ok(match self {
            TargetConfig::Csv(c) => Box::new(CsvTarget::new(c.clone())?),
            TargetConfig::Jsonl(c) => Box::new(JsonlTarget::new(c.clone())?),
            TargetConfig::Parquet(c) => Box::new(ParquetTarget::new(c.clone())?),
        })
    }

    /// The target as a step of a [`rill_flow::Flow`]: each build of the flow builds the
    /// target anew ([`TargetConfig::build`]).
    pub fn factory(&self) -> std::sync::Arc<dyn rill_flow::StepFactory> {
        let t = self.clone();
        rill_flow::step_factory::from_fn(move |_| t.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_shapes_parse_and_unknown_fields_fail() {
        let src: SourceConfig = serde_json::from_str(
            r#"{"csv": {"path": ["a.csv", "b.csv"], "key": ["user", "device"], "time": "t", "time_format": "epoch_ms", "types": {"amount": "float"}}}"#,
        )
        .unwrap();
        let SourceConfig::Csv(c) = &src else {
            panic!("csv expected")
        };
        assert_eq!(c.path.as_slice(), ["a.csv", "b.csv"]);
        assert!(c.header);
        assert_eq!(c.time_format, rill_core::TimeFormat::EpochMillis);
        assert_eq!(c.types.get("amount"), Some(&crate::FieldType::Float));
        let SourceConfig::Jsonl(j) = serde_json::from_str::<SourceConfig>(
            r#"{"jsonl": {"path": "a.jsonl", "time": "t", "timezone": "Europe/Paris"}}"#,
        )
        .unwrap() else {
            panic!("jsonl expected")
        };
        assert_eq!(j.timezone.as_deref(), Some("Europe/Paris"));
        let err =
            serde_json::from_str::<SourceConfig>(r#"{"csv": {"path": "a.csv", "keyy": "user"}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `keyy`"), "{err}");
        let tgt: TargetConfig =
            serde_json::from_str(r#"{"jsonl": {"path": "o.jsonl", "flush_after": "5s"}}"#).unwrap();
        let TargetConfig::Jsonl(j) = &tgt else {
            panic!("jsonl expected")
        };
        assert_eq!(j.flush_after, Some(rill_core::Duration::from_secs(5)));
        assert_eq!(j.max_events, 1024);
        assert!(serde_json::from_str::<TargetConfig>(r#"{"kafka": {"path": "x"}}"#).is_err());
    }

    #[test]
    fn build_rejects_bad_options() {
        let bad = TargetConfig::Csv(CsvTargetConfig {
            columns: Some(vec!["$nope".into()]),
            ..CsvTargetConfig::new("x.csv")
        });
        assert_eq!(
            bad.build().err().map(|e| e.to_string()).as_deref(),
            Some(
                "columns: column '$nope': unknown event attribute '$nope' (use $key, $time or $id)"
            )
        );
        let mut p = ParquetSourceConfig::new("x.parquet");
        p.timezone = Some("PST".into());
        assert_eq!(
            SourceConfig::Parquet(p.clone()).build().err().map(|e| e.to_string()).as_deref(),
            Some("timezone: unknown timezone 'PST': use an IANA name such as Europe/Paris or America/New_York")
        );
        p.timezone = None;
        p.start = Some("2020-01-01T00:00:00Z".into());
        assert_eq!(
            SourceConfig::Parquet(p)
                .build()
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("start: parquet `start`/`end` filter on the time column: set `time` too")
        );
    }
}
