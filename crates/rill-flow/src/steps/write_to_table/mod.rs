//! `write_to_table`: stores body fields as the key's static attributes in a table
//! (storey `WriteToTable` / `NoSqlTarget`), then passes the event on.

use super::keyed::{KeyConfig, KeySpec};
use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Record, Result, Value};
use rill_table::Table;
use serde::Deserialize;
use std::sync::Arc;

/// YAML `write_to_table: {table: users, columns: [color, city]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteToTableConfig {
    /// The table.
    pub table: String,
    /// Fields to store; default every body field.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// The key: a body field, a list of fields, or `{expr: ...}`; default the event key.
    #[serde(default)]
    pub key: Option<KeyConfig>,
    /// The step's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl WriteToTableConfig {
    /// Builds the step.
    pub fn build(&self, cx: &crate::build_context::BuildContext) -> Result<Box<dyn Step>> {
        Ok(Box::new(WriteToTable {
            table: cx.tables.get_or_create(&self.table),
            columns: self.columns.clone(),
            key: KeySpec::new(self.key.as_ref())?,
        }))
    }
}

/// The step.
pub struct WriteToTable {
    table: Arc<Table>,
    columns: Option<Vec<String>>,
    key: KeySpec,
}

impl WriteToTable {
    /// Writes every body field (or `columns`) of each event to `table` under the event key.
    pub fn new(table: Arc<Table>, columns: Option<Vec<String>>) -> WriteToTable {
        WriteToTable {
            table,
            columns,
            key: KeySpec::Event,
        }
    }
}

impl Step for WriteToTable {
    fn tables(&self) -> Vec<Arc<Table>> {
        vec![self.table.clone()]
    }

    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        let key = match self.key.key_of(&event) {
            Ok(k) => k,
            Err(e) => return Err(Failure::new(e, event)),
        };
        let Value::Record(body) = &event.body else {
            let e = Error::user(format!(
                "write_to_table needs a record body, got {}",
                event.body.type_name()
            ));
            return Err(Failure::new(e, event));
        };
        let attrs = match &self.columns {
            None => body.clone(),
            Some(cols) => Record::from_pairs(
                cols.iter()
                    .filter_map(|c| body.get(c).map(|v| (c.as_str(), v.clone()))),
            ),
        };
        if let Err(e) = self.table.merge_attrs(&key, &attrs) {
            return Err(Failure::new(e, event));
        }
        cx.emit(event);
        Ok(())
    }
}
