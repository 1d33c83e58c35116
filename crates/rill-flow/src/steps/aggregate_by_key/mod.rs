//! `aggregate_by_key`: keyed windowed aggregations (storey `AggregateByKey`). Each event is
//! aggregated into its key's windows in a table and, per the emit policy, emitted enriched with
//! `<name>_<op>_<window>` features.

mod config;

pub use config::AggregateByKeyConfig;

use super::keyed::{KeySpec, TimeSpec};
use crate::expr_fn::ExprFn;
use crate::step::{Cx, Failure, Step, StepResult};
use rill_agg::{Aggregations, DropReason, Emission, EmitPolicy, Emitter, Outcome};
use rill_core::{Error, Event, FieldSlot, Record, Result, SchemaExtender, Str, Timestamp, Value};
use rill_table::{AggStore, Table};
use std::borrow::Cow;
use std::sync::Arc;

/// Where an aggregator's value comes from.
pub(crate) enum Input {
    /// A body field (missing or null → not aggregated).
    Field(FieldSlot),
    /// An expression over the event.
    Expr(ExprFn),
    /// Nothing: every event counts (e.g. a `count` with neither field nor expr).
    Constant,
}

pub(crate) struct AggInput {
    input: Input,
    filter: Option<ExprFn>,
}

/// The step, built from an [`AggregateByKeyConfig`] (YAML, or deserialized from Rust).
pub struct AggregateByKey {
    store: Arc<AggStore>,
    inputs: Vec<AggInput>,
    key: KeySpec,
    time: TimeSpec,
    emitter: Emitter,
    every_event: bool,
    /// Boundary policies emit synthetic `{key, time}` events; the others emit the latest event.
    synthetic: bool,
    pending: Vec<Option<Event>>,
    extender: SchemaExtender,
    enrich: Vec<Str>,
    table: Arc<Table>,
    late_outlet: Option<usize>,
    late_outlet_name: Option<String>,
    /// Slots of the keys of the inbox being processed (`u32::MAX`: unknown yet), so `process`
    /// can prefetch the state of the key a few events ahead; see `before_batch`.
    ahead: std::collections::VecDeque<u32>,
    main_outlets: Vec<usize>,
    /// Per aggregator reading a field: events whose body lacked the field (or had it null).
    missing: Vec<u64>,
}

impl AggregateByKey {
    /// A step aggregating into `table` with the given aggregators (value inputs in the same
    /// order), key and time extractors, emit policy, feature aliases and static attributes to
    /// copy from the table.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        table: Arc<Table>,
        specs: Vec<rill_agg::AggregatorSpec>,
        inputs: Vec<AggInput>,
        key: KeySpec,
        time: TimeSpec,
        policy: EmitPolicy,
        aliases: &std::collections::BTreeMap<String, String>,
        enrich: Vec<String>,
        late_outlet_name: Option<String>,
    ) -> Result<AggregateByKey> {
        let store = table.agg_store(specs)?;
        if policy != EmitPolicy::EveryEvent {
            // pending emissions are kept per slot: slots must stay valid
            store.data.lock().pin();
        }
        let aggs = store.aggs.clone();
        let inputs_len = inputs.len();
        for a in aliases.keys() {
            if !aggs.feature_names().iter().any(|f| f == a) && !enrich.contains(a) {
                return Err(Error::config(format!(
                    "aliases: '{a}' is not a feature of this step (features: {:?})",
                    aggs.feature_names()
                )));
            }
        }
        let alias = |n: &str| aliases.get(n).cloned().unwrap_or_else(|| n.to_string());
        let mut out_names: Vec<String> = aggs.feature_names().iter().map(|n| alias(n)).collect();
        out_names.extend(enrich.iter().map(|n| alias(n)));
        let emitter = Emitter::new(policy.clone(), &aggs)?;
        Ok(AggregateByKey {
            store,
            inputs,
            key,
            time,
            emitter,
            every_event: policy == EmitPolicy::EveryEvent,
            synthetic: matches!(
                policy,
                EmitPolicy::AfterPeriod { .. } | EmitPolicy::AfterWindow { .. }
            ),
            pending: Vec::new(),
            // storey: a body field with the same name as a feature wins
            extender: SchemaExtender::new(out_names, false),
            enrich: enrich.into_iter().map(Str::from).collect(),
            table,
            late_outlet: None,
            late_outlet_name,
            ahead: std::collections::VecDeque::new(),
            main_outlets: Vec::new(),
            missing: vec![0; inputs_len],
        })
    }

    /// Appends the features (and enriched attributes) at `time` to `event`'s body.
    fn enrich_event(&mut self, event: &mut Event, slot: u32, time: Timestamp) -> Result<()> {
        let Value::Record(rec) = &mut event.body else {
            return Err(Error::user(format!(
                "aggregate_by_key needs a record body, got {}",
                event.body.type_name()
            )));
        };
        let attrs = if self.enrich.is_empty() {
            None
        } else {
            self.table.attrs(&event.key)?
        };
        let (store, enrich) = (&self.store, &self.enrich);
        self.extender.extend_with(rec, |out| {
            let data = store.data.lock();
            store
                .aggs
                .features_at(&data.states[slot as usize], time, out);
            for n in enrich {
                out.push(
                    attrs
                        .as_ref()
                        .and_then(|a| a.get(n))
                        .cloned()
                        .unwrap_or(Value::Null),
                );
            }
        });
        Ok(())
    }

    fn emit_main(&self, event: Event, cx: &mut Cx) {
        match self.late_outlet {
            None => cx.emit(event),
            Some(_) => {
                if let Some((&last, rest)) = self.main_outlets.split_last() {
                    for &o in rest {
                        cx.emit_to(o, event.clone());
                    }
                    cx.emit_to(last, event);
                }
            }
        }
    }

    fn flush(&mut self, cx: &mut Cx, emissions: Vec<Emission>) -> Result<()> {
        for em in emissions {
            let event = if self.synthetic {
                let key = self.store.data.lock().keys[em.slot as usize].clone();
                let body = Record::from_pairs([("key", key.clone()), ("time", Value::Time(em.at))]);
                Some(Event {
                    body: Value::Record(body),
                    key,
                    time: em.at,
                    ..Default::default()
                })
            } else {
                self.pending
                    .get_mut(em.slot as usize)
                    .and_then(Option::take)
            };
            if let Some(mut ev) = event {
                self.enrich_event(&mut ev, em.slot, em.at)?;
                self.emit_main(ev, cx);
            }
        }
        Ok(())
    }

    /// Aggregates one event; `known` is the key's slot when `before_batch` already found it.
    fn aggregate(
        &mut self,
        event: &Event,
        key: &Value,
        t: Timestamp,
        known: Option<u32>,
    ) -> Result<Aggregated> {
        let mut r = Aggregated::default();
        let store = &*self.store;
        let aggs = &*store.aggs;
        let mut data = store.data.lock();
        // slots are never removed, so a slot found for this event's key stays right
        r.slot = match known {
            Some(s) => s,
            None => data.slot(key, aggs)?,
        };
        data.touch(r.slot);
        let st = &mut data.states[r.slot as usize];
        for (i, inp) in self.inputs.iter().enumerate() {
            if let Some(f) = &inp.filter {
                if !f.eval_bool(event, &[])? {
                    aggs.advance_one(st, i, t);
                    continue;
                }
            }
            let owned;
            let value: &Value = match &inp.input {
                Input::Field(slot) => match slot.get_in(&event.body) {
                    Some(v) if !v.is_null() => v,
                    _ => {
                        self.missing[i] += 1;
                        &Value::Null
                    }
                },
                Input::Expr(f) => {
                    owned = f.eval(event, &[])?;
                    &owned
                }
                Input::Constant => &Value::Int(1),
            };
            match aggs.update(st, i, t, value) {
                Outcome::Aggregated { late } => r.late += late as u64,
                Outcome::Dropped(DropReason::Policy) => r.dropped += 1,
                Outcome::Dropped(DropReason::TooLate) => r.too_late += 1,
                Outcome::SideOutput => r.side_output = true,
                Outcome::Skipped => {}
                Outcome::Invalid(why) => {
                    let field = match &inp.input {
                        Input::Field(s) => s.name().to_string(),
                        Input::Expr(f) => f.source().to_string(),
                        Input::Constant => String::new(),
                    };
                    return Err(Error::field(
                        field,
                        format!(
                            "aggregator '{}': {why} (got {} {})",
                            aggs.name(i),
                            value.type_name(),
                            rill_core::json::to_json(value)
                        ),
                    ));
                }
            }
        }
        Ok(r)
    }
}

/// How many events ahead `process` prefetches key state (measured: the state's first cache
/// lines take about that long to arrive at W1's rate).
const PREFETCH_DISTANCE: usize = 6;

/// How many events ahead `process` prefetches the handle of a key's state (the vector of
/// handles is not in cache either; reading it at `PREFETCH_DISTANCE` stalled there).
const HANDLE_DISTANCE: usize = 2 * PREFETCH_DISTANCE;

/// How many events ahead `process` prefetches the two further stages of a key's sketch state
/// (each reads what the stage before loaded: see `Aggregations::prefetch_sketches`).
const SKETCH_DISTANCES: [usize; 2] = [PREFETCH_DISTANCE / 2, 1];

/// What aggregating one event did.
#[derive(Default)]
struct Aggregated {
    slot: u32,
    /// Late events accepted into their bucket (one per aggregator).
    late: u64,
    /// Late events not aggregated under policy `drop` (one per aggregator).
    dropped: u64,
    /// Late events not aggregated under policy `accept` because they are older than the
    /// buckets the key retains (one per aggregator); their features for that aggregator are
    /// null.
    too_late: u64,
    /// An aggregator with policy `side_output` found the event late.
    side_output: bool,
}

impl Step for AggregateByKey {
    fn bind_outlets(&mut self, outlets: &[String]) -> Result<()> {
        if let Some(name) = &self.late_outlet_name {
            let i = outlets
                .iter()
                .position(|o| o == name)
                .ok_or_else(|| Error::config(format!("no outlet '{name}' for late events")))?;
            self.late_outlet = Some(i);
            self.main_outlets = (0..outlets.len()).filter(|&j| j != i).collect();
        }
        Ok(())
    }

    fn before_batch(&mut self, batch: &[Event]) {
        // look up (never create) each event's key: creating happens in `process`, in order
        self.ahead.clear();
        let mut data = self.store.data.lock();
        // two passes, so the index lookups overlap: hash every key and prefetch its bucket,
        // then look them up (each key is extracted once: a key expression is evaluated once)
        let keys: Vec<Option<(u64, Cow<'_, Value>)>> = batch
            .iter()
            .map(|e| {
                let k = self.key.key_ref(e).ok()?;
                let h = data.hash(&k);
                data.prefetch(h);
                Some((h, k))
            })
            .collect();
        if data.is_persistent() {
            // keys neither cached nor known absent load from the backend in one read (an
            // error here surfaces again, placed, when `process` meets the key)
            let missing: Vec<Value> = keys
                .iter()
                .flatten()
                .filter(|(h, k)| data.find_hashed(*h, k).is_none())
                .map(|(_, k)| k.clone().into_owned())
                .collect();
            if !missing.is_empty() {
                let _ = data.load(&missing);
            }
        }
        for k in &keys {
            let slot = k
                .as_ref()
                .and_then(|(h, k)| data.find_hashed(*h, k))
                .unwrap_or(u32::MAX);
            self.ahead.push_back(slot);
        }
        for &s in self.ahead.iter().take(HANDLE_DISTANCE) {
            if s != u32::MAX {
                Aggregations::prefetch_handle(&data.states[s as usize]);
            }
        }
        for &s in self.ahead.iter().take(PREFETCH_DISTANCE) {
            if s != u32::MAX {
                self.store.aggs.prefetch(&data.states[s as usize]);
            }
        }
        if self.store.aggs.has_sketches() {
            for (stage, &d) in SKETCH_DISTANCES.iter().enumerate() {
                for &s in self.ahead.iter().take(d) {
                    if s != u32::MAX {
                        self.store
                            .aggs
                            .prefetch_sketches(&data.states[s as usize], stage as u8);
                    }
                }
            }
        }
    }

    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        // `ahead` holds one slot per inbox event, in order (see `before_batch`)
        let known_at = |i: usize| self.ahead.get(i).copied().filter(|&s| s != u32::MAX);
        let (known, handle, state) = (
            known_at(0),
            known_at(HANDLE_DISTANCE),
            known_at(PREFETCH_DISTANCE),
        );
        let sketch_stages = if self.store.aggs.has_sketches() {
            SKETCH_DISTANCES.map(known_at)
        } else {
            [None; 2]
        };
        self.ahead.pop_front();
        if handle.is_some() || state.is_some() || sketch_stages.iter().any(Option::is_some) {
            let data = self.store.data.lock();
            for (stage, s) in sketch_stages.iter().enumerate() {
                if let Some(s) = *s {
                    self.store
                        .aggs
                        .prefetch_sketches(&data.states[s as usize], stage as u8);
                }
            }
            // two stages: the handle (where the state is) first, the state once the handle has
            // arrived, so neither prefetch waits on a load
            if let Some(s) = handle {
                Aggregations::prefetch_handle(&data.states[s as usize]);
            }
            if let Some(s) = state {
                self.store.aggs.prefetch(&data.states[s as usize]);
            }
        }
        let key = match self.key.key_ref(&event) {
            Ok(k) => k,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let t = match self.time.time_of(&event) {
            Ok(t) => t,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let Aggregated {
            slot,
            late,
            dropped,
            too_late,
            side_output,
        } = match self.aggregate(&event, &key, t, known) {
            Ok(x) => x,
            Err(e) => return Err(Failure::new(e, event)),
        };
        // the emitted event carries the aggregation key (already there for the event's key)
        let key = match key {
            Cow::Borrowed(_) if matches!(self.key, KeySpec::Event) => None,
            k => Some(k.into_owned()),
        };
        if late > 0 {
            cx.count("late_events", late);
        }
        if dropped > 0 {
            cx.count("late_dropped", dropped);
        }
        if too_late > 0 {
            cx.count("too_late", too_late);
        }
        if let Some(k) = key {
            event.key = k;
        }
        if side_output {
            cx.count("late_side_output", 1);
            if let Some(o) = self.late_outlet {
                cx.emit_to(o, event);
            }
            return Ok(());
        }
        if self.every_event {
            if let Err(e) = self.enrich_event(&mut event, slot, t) {
                return Err(Failure::new(e, event));
            }
            self.emit_main(event, cx);
            return Ok(());
        }
        // timeouts and delays run on the flow's clock (wall-clock time in a live flow),
        // features and periods on the event's time
        let now = self.emitter.on_event_at(slot, t, cx.now());
        if !self.synthetic {
            let i = slot as usize;
            if self.pending.len() <= i {
                self.pending.resize_with(i + 1, || None);
            }
            self.pending[i] = Some(event);
            if now {
                self.flush(cx, vec![Emission { slot, at: t }])
                    .map_err(Failure::from)?;
            }
        }
        Ok(())
    }

    fn uses_timers(&self) -> bool {
        !self.every_event
    }

    fn tables(&self) -> Vec<Arc<Table>> {
        vec![self.table.clone()]
    }

    fn counters(&self) -> Vec<(String, u64)> {
        let aggs = &self.store.aggs;
        self.missing
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (format!("field_missing.{}", aggs.name(i)), n))
            .collect()
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.emitter.next_deadline()
    }

    fn on_timer(&mut self, cx: &mut Cx) -> Result<()> {
        let mut due = Vec::new();
        self.emitter.due(cx.now(), &mut due);
        self.flush(cx, due)
    }

    fn terminate(&mut self, cx: &mut Cx) -> Result<Option<Value>> {
        let mut rest = Vec::new();
        self.emitter.drain_at_termination(&mut rest);
        self.flush(cx, rest)?;
        Ok(None)
    }
}
