//! Reading a data file the way the commands that inspect outputs do (`rill head`, `rill
//! plot`): with rill's own sources, the format chosen by the file's extension.

use anyhow::Result;
use rill::core::{Error, Value};
use rill::flow::{Source, SourceBatch};
use rill::io::{CsvSource, CsvSourceConfig, JsonlSource, JsonlSourceConfig};
use rill::io::{ParquetSource, ParquetSourceConfig};
use std::path::Path;

/// A source over `file`: `.csv`, `.jsonl` / `.ndjson` or `.parquet`.
pub fn open(file: &Path) -> Result<Box<dyn Source>> {
    let shown = file.display().to_string();
    if !file.is_file() {
        return Err(Error::config(format!("'{shown}' is not a file (no such file?)")).into());
    }
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(match ext.to_ascii_lowercase().as_str() {
        "csv" => Box::new(CsvSource::new(CsvSourceConfig::new(&shown))?),
        "jsonl" | "ndjson" => Box::new(JsonlSource::new(JsonlSourceConfig::new(&shown))?),
        "parquet" => Box::new(ParquetSource::new(ParquetSourceConfig::new(&shown))?),
        _ => {
            return Err(Error::config(format!(
                "'{shown}': unknown extension '{ext}' (expected .csv, .jsonl, .ndjson or .parquet)"
            ))
            .into())
        }
    })
}

/// Calls `f` with each row's body, in file order, while it returns true; returns how many
/// records could not be read.
pub fn for_each_row(src: &mut dyn Source, mut f: impl FnMut(Value) -> bool) -> Result<usize> {
    let mut rejected = 0;
    let mut batch = SourceBatch::default();
    loop {
        batch.clear();
        let more = src.next_batch(&mut batch, 1024)?;
        rejected += batch.rejects.len();
        for e in batch.events.drain(..) {
            if !f(e.body) {
                return Ok(rejected);
            }
        }
        if !more {
            return Ok(rejected);
        }
    }
}
