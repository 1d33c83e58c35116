//! The merge of several sources' event streams by event time, with a deterministic tie-break:
//! timestamp, then source order (the graph's), then sequence within the source. The seam that
//! offline replay, batch featurization and multi-partition streams share.

use crate::error::Result;
use rill_core::{Event, Timestamp};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What one source's input counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// The data source.
    pub name: String,
    /// Stored rows read (or events given).
    pub rows: u64,
    /// Rows that could not be decoded or preprocessed (reported in `problems`).
    pub rejected: u64,
    /// Events earlier than an event before them in the same source, left out.
    pub out_of_order: u64,
    /// Events delivered to the graph.
    pub events: u64,
    /// The first problems, in input order (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<String>,
}

/// How many problem messages a source keeps (all are counted).
pub const MAX_PROBLEMS: usize = 20;

impl SourceStats {
    pub(crate) fn problem(&mut self, what: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(what);
        }
    }
}

/// One source's events, in its own order (time non-decreasing, else they are counted and left
/// out by the merge).
pub trait InputStream: Send {
    /// The next event, `None` at the end.
    fn next_event(&mut self) -> Result<Option<Event>>;
    /// The counts so far.
    fn stats(&mut self) -> &mut SourceStats;
}

/// A k-way merge of [`InputStream`]s by `(time, source, sequence)`; reads each stream one
/// event ahead only (bounded memory).
pub struct Merge {
    streams: Vec<Box<dyn InputStream>>,
    heads: Vec<Option<Event>>,
    last: Vec<Timestamp>,
    seq: Vec<u64>,
    heap: BinaryHeap<Reverse<(Timestamp, usize, u64)>>,
    started: bool,
}

impl Merge {
    /// Merges `streams` (their order is the tie-break order).
    pub fn new(streams: Vec<Box<dyn InputStream>>) -> Merge {
        let n = streams.len();
        Merge {
            streams,
            heads: (0..n).map(|_| None).collect(),
            last: vec![Timestamp(i64::MIN); n],
            seq: vec![0; n],
            heap: BinaryHeap::new(),
            started: false,
        }
    }

    /// Reads the next in-order event of source `s` into its head.
    fn fill(&mut self, s: usize) -> Result<()> {
        while let Some(ev) = self.streams[s].next_event()? {
            if ev.time < self.last[s] {
                let st = self.streams[s].stats();
                st.out_of_order += 1;
                let what = format!(
                    "{} at {} is earlier than the event before it ({}): left out",
                    ev.describe(),
                    ev.time,
                    self.last[s]
                );
                st.problem(what);
                continue;
            }
            self.last[s] = ev.time;
            self.seq[s] += 1;
            self.heap.push(Reverse((ev.time, s, self.seq[s])));
            self.heads[s] = Some(ev);
            return Ok(());
        }
        Ok(())
    }

    /// The next event of all sources with its source index, `None` when all are done.
    pub fn next_event(&mut self) -> Result<Option<(usize, Event)>> {
        if !self.started {
            self.started = true;
            for s in 0..self.streams.len() {
                self.fill(s)?;
            }
        }
        let Some(Reverse((_, s, _))) = self.heap.pop() else {
            return Ok(None);
        };
        let ev = self.heads[s].take().expect("a head per heap entry");
        self.streams[s].stats().events += 1;
        self.fill(s)?;
        Ok(Some((s, ev)))
    }

    /// Each source's counts.
    pub fn stats(&mut self) -> Vec<SourceStats> {
        self.streams.iter_mut().map(|s| s.stats().clone()).collect()
    }
}

/// Events given in memory, in their order.
pub struct VecInput {
    events: std::vec::IntoIter<Event>,
    stats: SourceStats,
}

impl VecInput {
    /// A stream of `events` for the source `name`.
    pub fn new(name: &str, events: Vec<Event>) -> VecInput {
        VecInput {
            events: events.into_iter(),
            stats: SourceStats {
                name: name.to_string(),
                ..Default::default()
            },
        }
    }
}

impl InputStream for VecInput {
    fn next_event(&mut self) -> Result<Option<Event>> {
        let e = self.events.next();
        if e.is_some() {
            self.stats.rows += 1;
        }
        Ok(e)
    }
    fn stats(&mut self) -> &mut SourceStats {
        &mut self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_core::Value;

    fn evs(ts: &[(i64, i64)]) -> Vec<Event> {
        ts.iter()
            .map(|&(t, id)| Event::new(Value::Int(id)).with_time(Timestamp(t)))
            .collect()
    }

    #[test]
    fn ties_break_by_source_then_sequence_and_late_events_are_counted() {
        let a = VecInput::new("a", evs(&[(1, 10), (3, 11), (3, 12), (2, 13), (5, 14)]));
        let b = VecInput::new("b", evs(&[(0, 20), (3, 21), (5, 22)]));
        let mut m = Merge::new(vec![Box::new(a), Box::new(b)]);
        let mut got = Vec::new();
        while let Some((s, e)) = m.next_event().unwrap() {
            got.push((s, e.body.as_i64().unwrap()));
        }
        assert_eq!(
            got,
            vec![
                (1, 20),
                (0, 10),
                (0, 11),
                (0, 12),
                (1, 21),
                (0, 14),
                (1, 22)
            ]
        );
        let st = m.stats();
        assert_eq!((st[0].rows, st[0].out_of_order, st[0].events), (5, 1, 4));
        assert!(
            st[0].problems[0].contains("earlier"),
            "{:?}",
            st[0].problems
        );
    }
}
