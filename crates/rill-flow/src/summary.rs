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
        for s in &self.steps {
            write!(
                f,
                "  {:<32} in {:>10}  out {:>10}  errors {:>6}",
                s.name, s.events_in, s.events_out, s.errors
            )?;
            for (k, v) in &s.counters {
                write!(f, "  {k} {v}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
