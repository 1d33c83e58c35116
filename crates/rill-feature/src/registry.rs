//! The registry of definitions by name: the built-ins (one explicit list, in
//! [`crate::builtins::all`]) plus whatever a program registers.

use crate::definition::Definition;
use crate::error::{FeatureError, Result};

/// Definitions by registered name.
#[derive(Clone, Default)]
pub struct Registry {
    defs: Vec<Definition>,
}

impl Registry {
    /// No definitions.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The built-in definitions.
    pub fn builtin() -> Registry {
        let mut r = Registry::empty();
        for d in crate::builtins::all() {
            r.register(d).expect("built-in names are unique");
        }
        r
    }

    /// Adds a definition; a name already registered is an error.
    pub fn register(&mut self, def: Definition) -> Result<()> {
        if self.get(def.name()).is_some() {
            return Err(FeatureError::config(
                "registry",
                format!("a definition named '{}' is already registered", def.name()),
            ));
        }
        self.defs.push(def);
        Ok(())
    }

    /// The definition registered as `name`.
    pub fn get(&self, name: &str) -> Option<Definition> {
        self.defs.iter().find(|d| d.name() == name).cloned()
    }

    /// Every definition, in registration order.
    pub fn definitions(&self) -> &[Definition] {
        &self.defs
    }

    /// The message for an unknown definition name (with the closest known name).
    pub(crate) fn unknown(&self, name: &str) -> String {
        let names = self.defs.iter().map(|d| d.name());
        match rill_core::did_you_mean(name, names) {
            Some(m) => format!("unknown definition '{name}' (did you mean '{m}'?)"),
            None => {
                let all: Vec<&str> = self.defs.iter().map(|d| d.name()).collect();
                format!("unknown definition '{name}'; known: {}", all.join(", "))
            }
        }
    }
}
