//! A source's inputs, checked before anything is read (`rill validate`, and `rill run` before
//! its first record): every file exists, and the fields the options name (`key`, `time`, `id`,
//! `types`, a Parquet `columns` projection) are columns of the file where its columns are known
//! (a CSV header or `columns`, a Parquet schema).

use crate::common::{expand_paths, OneOrMany, STDIN};
use crate::SourceConfig;
use rill_core::{did_you_mean, Error};

impl SourceConfig {
    /// Checks that the input files exist and that the fields the options name are among the
    /// first file's columns ([`SourceConfig::check_files`], then
    /// [`SourceConfig::check_columns`]). Errors are at a path in the source's options (`path`,
    /// `key.1`, `types.amount`).
    pub fn check_inputs(&self) -> Result<(), Error> {
        self.check_files()?;
        self.check_columns()
    }

    /// Checks that every input file exists (a glob must match something); `-` is standard
    /// input. Errors are at `path` (or `path.1` in a list).
    pub fn check_files(&self) -> Result<(), Error> {
        let paths = self.path();
        for (i, p) in paths.as_slice().iter().enumerate() {
            let at = || match paths {
                OneOrMany::One(_) => "path".to_string(),
                OneOrMany::Many(_) => format!("path.{i}"),
            };
            if p == STDIN {
                continue;
            }
            let one = OneOrMany::One(p.clone());
            let files = expand_paths(&one).map_err(|e| Error::config(e.to_string()).at(at()))?;
            for f in files {
                if !f.exists() {
                    return Err(Error::config(format!(
                        "input file '{}' does not exist",
                        f.display()
                    ))
                    .at(at()));
                }
                if f.is_dir() {
                    return Err(Error::config(format!(
                        "input '{}' is a directory, not a file",
                        f.display()
                    ))
                    .at(at()));
                }
            }
        }
        Ok(())
    }

    /// Checks that the fields the options name (`key`, `time`, `id`, `types`, a Parquet
    /// `columns` projection) are columns of the first file, when its columns are known without
    /// reading records. Errors are at the option (`key.1`, `types.amount`).
    pub fn check_columns(&self) -> Result<(), Error> {
        let paths = self.path();
        let Some(columns) = self.columns_of_first_file()? else {
            return Ok(());
        };
        let first = paths.as_slice().first().cloned().unwrap_or_default();
        let file = expand_paths(paths)
            .ok()
            .and_then(|f| f.into_iter().next())
            .map(|f| f.display().to_string())
            .unwrap_or(first);
        let require = |name: &str, at: String| -> Result<(), Error> {
            if columns.iter().any(|c| c == name) {
                return Ok(());
            }
            let hint = did_you_mean(name, columns.iter().map(String::as_str))
                .map(|c| format!("; did you mean '{c}'?"))
                .unwrap_or_default();
            // a header may be huge: the list is bounded, the message stays readable
            Err(Error::config(format!(
                "field '{}' is not a column of '{}' (columns: {}){hint}",
                rill_core::shorten(name, 80),
                rill_core::shorten(&file, 200),
                rill_core::shorten(&columns.join(", "), 200)
            ))
            .at(at))
        };
        let (key, time, id) = match self {
            SourceConfig::Csv(c) => (&c.key, &c.time, &c.id),
            SourceConfig::Jsonl(c) => (&c.key, &c.time, &c.id),
            SourceConfig::Parquet(c) => (&c.key, &c.time, &c.id),
        };
        if let Some(k) = key {
            for (i, name) in k.as_slice().iter().enumerate() {
                let at = match k {
                    OneOrMany::One(_) => "key".to_string(),
                    OneOrMany::Many(_) => format!("key.{i}"),
                };
                require(name, at)?;
            }
        }
        if let Some(t) = time {
            require(t, "time".into())?;
        }
        if let Some(id) = id {
            require(id, "id".into())?;
        }
        match self {
            SourceConfig::Csv(c) => {
                for name in c.types.keys() {
                    require(name, format!("types.{name}"))?;
                }
            }
            SourceConfig::Parquet(c) => {
                for (i, name) in c.columns.iter().flatten().enumerate() {
                    require(name, format!("columns.{i}"))?;
                }
            }
            SourceConfig::Jsonl(_) => {}
        }
        Ok(())
    }

    /// Every column of the first file, when known without reading records (all of a Parquet
    /// schema, not only a projection).
    fn columns_of_first_file(&self) -> Result<Option<Vec<String>>, Error> {
        match self {
            SourceConfig::Parquet(c) => {
                let mut all = c.clone();
                all.columns = None;
                SourceConfig::Parquet(all).known_fields()
            }
            other => other.known_fields(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(yaml: serde_json::Value) -> SourceConfig {
        serde_json::from_value(serde_json::json!({ "csv": yaml })).unwrap()
    }

    #[test]
    fn missing_files_and_columns_are_named_with_their_option() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("a.csv"), "time,user,click\n1,u,1\n").unwrap();
        let err = |s: SourceConfig| s.check_inputs().unwrap_err().to_string();
        assert_eq!(
            err(csv(
                serde_json::json!({"path": [format!("{d}/a.csv"), format!("{d}/b.csv")]})
            )),
            format!("path.1: input file '{d}/b.csv' does not exist")
        );
        assert_eq!(
            err(csv(serde_json::json!({"path": format!("{d}/*.tsv")}))),
            format!("path: reading '{d}/*.tsv': no file matches the pattern")
        );
        assert_eq!(
            err(csv(serde_json::json!({"path": format!("{d}/a.csv"), "key": ["user", "clik"]}))),
            format!("key.1: field 'clik' is not a column of '{d}/a.csv' (columns: time, user, click); did you mean 'click'?")
        );
        assert_eq!(
            err(csv(serde_json::json!({"path": format!("{d}/a.csv"), "types": {"amount": "float"}}))),
            format!("types.amount: field 'amount' is not a column of '{d}/a.csv' (columns: time, user, click)")
        );
        csv(serde_json::json!({"path": format!("{d}/a.csv"), "key": "user", "time": "time"}))
            .check_inputs()
            .unwrap();
        csv(serde_json::json!({"path": "-", "key": "user"}))
            .check_inputs()
            .unwrap();
    }
}
