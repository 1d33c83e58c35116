//! What a definition is: a data source ([`DataSourceDefinition`]: schema and preprocessing) or
//! a feature ([`FeatureDefinition`]: output schema, dependencies, typed params and per-instance
//! stream logic that runs as a step of the compiled rill flow).

use crate::params::{ParamSpec, Params};
use rill_core::{Error, Event, Record, Schema, Timestamp, Value};
use std::sync::Arc;

/// The type of an output field (documentation and structural checks between definitions,
/// once when a graph is built, never per event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// 64-bit float.
    Float,
    /// 64-bit integer.
    Int,
    /// Boolean.
    Bool,
    /// Text.
    Str,
    /// A list (e.g. book levels as `[price, size]` pairs).
    List,
}

/// One field of an event schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, ty: FieldType) -> Field {
        Field {
            name: name.into(),
            ty,
        }
    }
}

/// The schema of a definition's events. By convention (svoe's) the first two fields are
/// `timestamp` and `receipt_timestamp`, epoch seconds as floats; the event's own time
/// ([`Event::time`]) is `timestamp` in nanoseconds.
pub type EventSchema = Vec<Field>;

/// `timestamp` and `receipt_timestamp` followed by `rest`.
pub fn timed_schema(rest: &[(&str, FieldType)]) -> EventSchema {
    let mut s = vec![
        Field::new("timestamp", FieldType::Float),
        Field::new("receipt_timestamp", FieldType::Float),
    ];
    s.extend(rest.iter().map(|(n, t)| Field::new(*n, *t)));
    s
}

/// The single value field of a schema (every field but `timestamp` and
/// `receipt_timestamp`), as transforms need it; an error when there is not exactly one.
pub fn single_value_field(schema: &[Field]) -> Result<usize, String> {
    let values: Vec<usize> = (0..schema.len())
        .filter(|&i| !matches!(schema[i].name.as_str(), "timestamp" | "receipt_timestamp"))
        .collect();
    match values.as_slice() {
        [i] if schema[*i].ty == FieldType::Float || schema[*i].ty == FieldType::Int => Ok(*i),
        [i] => Err(format!(
            "its value field '{}' is not a number",
            schema[*i].name
        )),
        _ => Err(format!(
            "it needs an input with exactly one value field besides timestamp and receipt_timestamp, got {}",
            values.len()
        )),
    }
}

/// What a dependency slot of a feature definition accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepKind {
    /// A node of this registered definition (data source or feature). A featurizer config
    /// builds it automatically, with the params nested under the slot's role.
    Definition(&'static str),
    /// Any feature, named in the config's `deps` (transforms: diff, ewma, min-max…).
    Any,
}

/// One dependency slot: a role name (how configs address the dependency's params) and what
/// it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepSpec {
    /// The role (`source`, `l2`, `mid_price`, `input`…).
    pub role: &'static str,
    /// What it accepts.
    pub kind: DepKind,
}

impl DepSpec {
    /// A slot filled by a node of definition `name`.
    pub const fn definition(role: &'static str, name: &'static str) -> DepSpec {
        DepSpec {
            role,
            kind: DepKind::Definition(name),
        }
    }
    /// A slot filled by any feature named in `deps`.
    pub const fn any(role: &'static str) -> DepSpec {
        DepSpec {
            role,
            kind: DepKind::Any,
        }
    }
}

/// Where a running feature's outputs go. The framework builds each output record over the
/// node's schema (so field order is the schema's, checked once here), stamps the event time and
/// hands it to the next steps of the flow.
pub struct Output<'a> {
    pub(crate) schema: &'a Arc<Schema>,
    pub(crate) out: &'a mut Vec<Event>,
}

impl Output<'_> {
    /// Emits one event at `time` with `values` in schema order (one per field).
    #[inline]
    pub fn emit(&mut self, time: Timestamp, values: Vec<Value>) {
        debug_assert_eq!(
            values.len(),
            self.schema.len(),
            "values must match the schema"
        );
        self.out.push(Event {
            body: Value::Record(Record::new(self.schema.clone(), values)),
            time,
            ..Default::default()
        });
    }
    /// The number of fields an emitted event must have.
    pub fn width(&self) -> usize {
        self.schema.len()
    }
}

/// The running state of one feature node: made fresh for each build of the graph, fed the
/// events of its dependencies in the graph's order (one input event at a time, depth first),
/// keeping whatever state it needs in `self`.
pub trait FeatureLogic: Send {
    /// One event from dependency slot `input` (its body is a record over that dependency's
    /// schema, the one given to [`FeatureDefinition::instantiate`]).
    fn on_event(&mut self, input: usize, event: &Event, out: &mut Output<'_>) -> Result<(), Error>;
}

/// A feature: a named, versioned computation over dependencies (data sources or features).
///
/// A new built-in is one module implementing this trait and one line in
/// [`crate::Registry::builtin`].
pub trait FeatureDefinition: Send + Sync + 'static {
    /// The registered name, `group.definition` (e.g. `price.mid_price`).
    fn name(&self) -> &'static str;
    /// The version: part of the identity, so a change of the math makes new feature keys.
    fn version(&self) -> u32 {
        1
    }
    /// One line for docs and graphs.
    fn describe(&self) -> &'static str;
    /// The declared params.
    fn params(&self) -> &'static [ParamSpec];
    /// The dependency slots for these params (a param such as `dep_schema` may choose between
    /// alternative dependency sets). An `Err` is a message about the params.
    fn deps(&self, params: &Params) -> Result<Vec<DepSpec>, String>;
    /// The output schema, given the params and the inputs' schemas (in slot order). An `Err`
    /// is a message about the inputs (e.g. a transform over a feature with two values).
    fn output_schema(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<EventSchema, String>;
    /// Makes the logic of one instance (fresh state) over inputs of these schemas.
    fn instantiate(
        &self,
        params: &Params,
        inputs: &[&EventSchema],
    ) -> Result<Box<dyn FeatureLogic>, String>;
}

/// Turns stored rows of a data source (one record per row, as a Parquet or CSV block holds
/// them) into the source's events. Rows arrive in file order; `finish` flushes what is held.
pub trait Preprocess: Send {
    /// One stored row; pushes zero or more events (over `schema`) into `out`. An `Err` rejects
    /// the row (counted and reported by the reader).
    fn push(&mut self, row: &Event, out: &mut Vec<Event>) -> Result<(), String>;
    /// The end of the rows: pushes what is still held.
    fn finish(&mut self, out: &mut Vec<Event>);
}

/// A data source: a leaf of every feature graph. It computes nothing; it declares the schema of
/// its events (what live emitters push and what the graph checks) and how stored rows become
/// such events. Its params are its identity (exchange, symbol…) and preprocessing options.
pub trait DataSourceDefinition: Send + Sync + 'static {
    /// The registered name (e.g. `trades.cryptofeed_trades`).
    fn name(&self) -> &'static str;
    /// The version (part of the identity).
    fn version(&self) -> u32 {
        1
    }
    /// One line for docs and graphs.
    fn describe(&self) -> &'static str;
    /// The declared params.
    fn params(&self) -> &'static [ParamSpec];
    /// The schema of the events.
    fn schema(&self, params: &Params) -> EventSchema;
    /// Makes a preprocessor of stored rows into events over `schema` (the node's schema, built
    /// from [`DataSourceDefinition::schema`]).
    fn preprocessor(&self, params: &Params, schema: Arc<Schema>) -> Box<dyn Preprocess>;
    /// For synthetic sources: the events of the interval `[start, end]` (None for stored
    /// sources).
    fn synthetic(
        &self,
        _params: &Params,
        _schema: &Arc<Schema>,
        _start: Timestamp,
        _end: Timestamp,
    ) -> Option<Vec<Event>> {
        None
    }
}

/// A registered definition of either kind.
#[derive(Clone)]
pub enum Definition {
    /// A data source (leaf).
    Source(Arc<dyn DataSourceDefinition>),
    /// A feature (inner node).
    Feature(Arc<dyn FeatureDefinition>),
}

impl Definition {
    /// The registered name.
    pub fn name(&self) -> &'static str {
        match self {
            Definition::Source(d) => d.name(),
            Definition::Feature(d) => d.name(),
        }
    }
    /// The version.
    pub fn version(&self) -> u32 {
        match self {
            Definition::Source(d) => d.version(),
            Definition::Feature(d) => d.version(),
        }
    }
    /// The declared params.
    pub fn params(&self) -> &'static [ParamSpec] {
        match self {
            Definition::Source(d) => d.params(),
            Definition::Feature(d) => d.params(),
        }
    }
    /// One line for docs.
    pub fn describe(&self) -> &'static str {
        match self {
            Definition::Source(d) => d.describe(),
            Definition::Feature(d) => d.describe(),
        }
    }
    /// True for data sources.
    pub fn is_source(&self) -> bool {
        matches!(self, Definition::Source(_))
    }
}

impl std::fmt::Debug for Definition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name(), self.version())
    }
}

/// Epoch seconds (svoe's float timestamps) as an instant: whole and fractional parts scaled
/// separately and rounded to the nanosecond, so differences between two instants are the exact
/// differences of the floats.
#[inline]
pub fn secs_to_time(secs: f64) -> Option<Timestamp> {
    rill_core::TimeFormat::EpochSeconds.from_f64(secs).ok()
}
