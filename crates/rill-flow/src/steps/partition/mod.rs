//! `partition`: splits bodies into `{left, right}` by a predicate (storey `steps.Partition`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Event, Record, Result, Schema, Value};
use std::sync::Arc;

super::cloneable_fn!(pub(crate) PredBody: FnMut(&Event) -> Result<bool>);
type Pred = Box<dyn PredBody>;

/// Body becomes `{left: body, right: null}` when the predicate holds, else
/// `{left: null, right: body}`.
#[derive(Clone)]
pub struct Partition {
    pred: Pred,
    schema: Arc<Schema>,
}

impl Partition {
    /// Partitions by a predicate on the event.
    pub fn new(pred: impl FnMut(&Event) -> Result<bool> + Clone + Send + 'static) -> Partition {
        Partition {
            pred: Box::new(pred),
            schema: Schema::new(["left", "right"]),
        }
    }
}

impl Step for Partition {
    fn process(&mut self, mut event: Event, cx: &mut Cx) -> StepResult {
        match (self.pred)(&event) {
            Ok(left) => {
                let body = std::mem::take(&mut event.body);
                let values = if left {
                    vec![body, Value::Null]
                } else {
                    vec![Value::Null, body]
                };
                event.body = Value::Record(Record::new(self.schema.clone(), values));
                cx.emit(event);
                Ok(())
            }
            Err(e) => Err(Failure::new(e, event)),
        }
    }
}

mod config;
pub use config::PartitionConfig;
