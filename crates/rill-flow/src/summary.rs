//! What a run did: per-step counts, failures, dead letters, custom counters.

use std::fmt;

/// Counts for one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepStats {
    /// The step's name.
    pub name: String,
    /// Events the step received.
    pub events_in: u64,
    /// Events the step emitted.
    pub events_out: u64,
    /// Events on which the step failed.
    pub errors: u64,
    /// Step-specific counters (e.g. `late_events`, `late_dropped`).
    pub counters: Vec<(String, u64)>,
}

/// The summary of a finished (or failed) run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// The source's name.
    pub source: String,
    /// Records read from the source (decoded and rejected).
    pub records_read: u64,
    /// Records the source could not decode.
    pub records_rejected: u64,
    /// Failures routed to recovery steps.
    pub recovered: u64,
    /// Failures handed to the dead-letter target (or reported on stderr without one).
    pub dead_lettered: u64,
    /// Per-step counts in topological order.
    pub steps: Vec<StepStats>,
    /// The persistent tables of the run: where their state came from and how far it was written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableReport>,
    /// Warnings about the configuration (e.g. a chain whose events reach no target), each a
    /// complete message; printed after the counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a run did with a persistent table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableReport {
    /// The table's name.
    pub name: String,
    /// Its URL (password hidden).
    pub url: String,
    /// The progress an earlier run's last flush recorded, when the store held one: the state
    /// this run started from.
    pub resumed_from: Option<rill_table::Progress>,
    /// The progress of this run's last completed flush: after a crash the store holds the
    /// state as of this record, and a replay starts after it.
    pub flushed: Option<rill_table::Progress>,
    /// Keys evicted from the cache (`cache_max_keys`) and loaded again when next seen.
    pub evicted: u64,
}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table {} ({})", self.name, self.url)?;
        match &self.resumed_from {
            Some(p) => write!(
                f,
                ": started from the state of an earlier run (flushed after record {} of {})",
                p.records, p.source
            )?,
            None => write!(f, ": started empty")?,
        }
        match &self.flushed {
            Some(p) => write!(f, "; flushed through record {} of {}", p.records, p.source)?,
            None => write!(f, "; nothing flushed")?,
        }
        if self.evicted > 0 {
            write!(f, "; {} keys evicted from the cache", self.evicted)?;
        }
        Ok(())
    }
}

impl RunSummary {
    /// The stats of a step by name.
    pub fn step(&self, name: &str) -> Option<&StepStats> {
        self.steps.iter().find(|s| s.name == name)
    }
    /// A counter summed over all steps.
    pub fn counter(&self, name: &str) -> u64 {
        self.steps
            .iter()
            .flat_map(|s| &s.counters)
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .sum()
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "source {}: {} records read, {} rejected; {} failures dead-lettered, {} recovered",
            self.source,
            self.records_read,
            self.records_rejected,
            self.dead_lettered,
            self.recovered
        )?;
        // the name column is as wide as the longest name, so the counts stay aligned
        let width = self
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(32);
        for s in &self.steps {
            let pad = width - s.name.chars().count();
            write!(
                f,
                "  {}{:pad$} in {:>10}  out {:>10}  errors {:>6}",
                s.name, "", s.events_in, s.events_out, s.errors
            )?;
            for (k, v) in &s.counters {
                write!(f, "  {k} {v}")?;
            }
            writeln!(f)?;
        }
        for t in &self.tables {
            writeln!(f, "{t}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_aligned_under_long_names() {
        let step = |name: &str, n| StepStats {
            name: name.into(),
            events_in: n,
            events_out: n,
            ..Default::default()
        };
        let long = "jsonl:/a/rather/long/output/directory/of/this/run/features.jsonl";
        let s = RunSummary {
            source: "in.csv".into(),
            steps: vec![step("filter", 5), step(long, 12345)],
            warnings: vec!["p.yaml:1:1: targets: no targets".into()],
            ..Default::default()
        };
        let text = s.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let col = |l: &str| l.find(" in ").unwrap();
        assert_eq!(col(lines[1]), col(lines[2]), "{text}");
        assert_eq!(col(lines[2]), 2 + long.len());
        assert_eq!(lines[3], "warning: p.yaml:1:1: targets: no targets");
    }
}
