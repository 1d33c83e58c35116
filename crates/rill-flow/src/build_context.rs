//! What building a step needs from its surroundings.

use rill_table::Tables;

/// What building a step from configuration may need: the process's tables by name.
#[derive(Clone, Default)]
pub struct BuildContext {
    /// Tables shared by name between steps and flows.
    pub tables: Tables,
    /// True when nothing reads the tables after the run (`rill run`): a sharded run then
    /// leaves each memory table's keys in its workers' copies instead of gathering them.
    pub private: bool,
}
