//! Sources: each decodes its input into events (key, time, id from named fields) and reports
//! undecodable records as rejects naming the file, the record number and the reason.
//!
//! Record numbers (`Event::offset` and the `record` of a reject) are line numbers for text
//! files (the header is line 1), and 1-based row numbers for Parquet files and Arrow batches.

pub mod arrow;
mod check;
pub mod csv;
pub mod jsonl;
pub mod parquet;
