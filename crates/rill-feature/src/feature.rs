//! [`Feature`]: a definition with validated params and its dependencies, identified by the
//! content hash of all of that ([`FeatureId`]).

use crate::definition::{Definition, DepKind, EventSchema};
use crate::error::{FeatureError, Result};
use crate::identity::{identity, FeatureId};
use crate::params::Params;
use crate::registry::Registry;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// One node of a feature graph: a definition, its params, its dependencies (by role), an
/// optional name and the label flag. Cheap to clone (shared). Two features with the same
/// [`FeatureId`] are the same computation, whatever their names: a graph computes it once.
#[derive(Clone)]
pub struct Feature(Arc<Inner>);

struct Inner {
    definition: Definition,
    params: Params,
    deps: Vec<(&'static str, Feature)>,
    name: Option<String>,
    label: bool,
    schema: EventSchema,
    id: FeatureId,
}

impl std::fmt::Debug for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.display_name())
    }
}

impl PartialEq for Feature {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}
impl Eq for Feature {}

impl Feature {
    /// Builds a feature of the registered definition `definition` with `params` (a JSON map:
    /// the definition's own params, and under each dependency role a map of that dependency's
    /// params; a dependency not given in `deps` is built from its definition). `deps` fills the
    /// dependency slots in order when given (required for transforms).
    ///
    /// ```
    /// use rill_feature::{Feature, Registry};
    /// let reg = Registry::builtin();
    /// let params = serde_json::json!({"window": "1m", "mid_price": {"dep_schema": "ticker"}});
    /// let vol = Feature::build(&reg, "volatility.volatility_stddev", params.as_object().unwrap(), None).unwrap();
    /// assert_eq!(vol.deps().count(), 1);
    /// assert_eq!(vol.data_sources()[0].definition().name(), "ticker.cryptofeed_ticker");
    /// ```
    pub fn build(
        registry: &Registry,
        definition: &str,
        params: &Map<String, Json>,
        deps: Option<&[Feature]>,
    ) -> Result<Feature> {
        let def = registry.get(definition).ok_or_else(|| {
            FeatureError::config("feature_definition", registry.unknown(definition))
        })?;
        construct(
            registry,
            &def,
            params,
            deps,
            None,
            ("params", "deps"),
            &mut Vec::new(),
        )
    }

    /// The identity.
    pub fn id(&self) -> FeatureId {
        self.0.id
    }
    /// The definition.
    pub fn definition(&self) -> &Definition {
        &self.0.definition
    }
    /// The validated params.
    pub fn params(&self) -> &Params {
        &self.0.params
    }
    /// The dependencies with their roles, in slot order.
    pub fn deps(&self) -> impl Iterator<Item = (&'static str, &Feature)> {
        self.0.deps.iter().map(|(r, f)| (*r, f))
    }
    /// The given name, if any (a label's name starts with `label_`).
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// True for a label.
    pub fn is_label(&self) -> bool {
        self.0.label
    }
    /// The output schema.
    pub fn schema(&self) -> &EventSchema {
        &self.0.schema
    }
    /// The name shown in outputs: the given name, else (as svoe names columns)
    /// `data_source_<definition>_<id8>`, `feature_<definition>_<id8>` or
    /// `label_<definition>_<id8>`.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.0.name {
            return n.clone();
        }
        let kind = if self.0.label {
            "label"
        } else if self.0.definition.is_source() {
            "data_source"
        } else {
            "feature"
        };
        format!("{kind}_{}_{}", self.0.definition.name(), self.0.id.short())
    }
    /// The same feature under another name (same identity).
    pub fn with_name(&self, name: impl Into<String>) -> Feature {
        let mut inner = self.clone_inner();
        inner.name = Some(name.into());
        Feature(Arc::new(inner))
    }
    /// The label made of this feature (svoe's `make_label`): flagged, named `label_<name>`,
    /// with its own identity (so it is a column of its own next to the feature).
    pub fn as_label(&self) -> Feature {
        let mut inner = self.clone_inner();
        inner.label = true;
        inner.name = self.0.name.as_ref().map(|n| format!("label_{n}"));
        inner.id = node_id(&inner.definition, &inner.params, &inner.deps, true);
        Feature(Arc::new(inner))
    }
    /// The same feature without the label flag (what a label computes).
    pub(crate) fn unlabeled(&self) -> Feature {
        let mut inner = self.clone_inner();
        inner.label = false;
        inner.name = None;
        inner.id = node_id(&inner.definition, &inner.params, &inner.deps, false);
        Feature(Arc::new(inner))
    }
    fn clone_inner(&self) -> Inner {
        Inner {
            definition: self.0.definition.clone(),
            params: self.0.params.clone(),
            deps: self.0.deps.clone(),
            name: self.0.name.clone(),
            label: self.0.label,
            schema: self.0.schema.clone(),
            id: self.0.id,
        }
    }
    /// The data sources under this feature, depth first, each once.
    pub fn data_sources(&self) -> Vec<Feature> {
        let mut out: Vec<Feature> = Vec::new();
        fn walk(f: &Feature, out: &mut Vec<Feature>) {
            if f.definition().is_source() {
                if !out.contains(f) {
                    out.push(f.clone());
                }
                return;
            }
            for (_, d) in f.deps() {
                walk(d, out);
            }
        }
        walk(self, &mut out);
        out
    }
}

fn node_id(
    def: &Definition,
    params: &Params,
    deps: &[(&'static str, Feature)],
    label: bool,
) -> FeatureId {
    let deps: Vec<(&str, FeatureId)> = deps.iter().map(|(r, f)| (*r, f.id())).collect();
    identity(
        def.name(),
        def.version(),
        def.is_source(),
        params,
        &deps,
        label,
    )
}

/// The reserved key of a dependency's nested params map that names that dependency.
pub const NAME_KEY: &str = "name";

/// Builds `def` with `given` params at config paths `(params path, deps path)`; `stack` holds
/// the definitions being built above (a definition that needs itself is a cycle).
pub(crate) fn construct(
    registry: &Registry,
    def: &Definition,
    given: &Map<String, Json>,
    explicit: Option<&[Feature]>,
    name: Option<String>,
    (path, deps_path): (&str, &str),
    stack: &mut Vec<&'static str>,
) -> Result<Feature> {
    if stack.contains(&def.name()) {
        return Err(FeatureError::config(
            path,
            format!("dependency cycle: {} -> {}", stack.join(" -> "), def.name()),
        ));
    }
    let specs = def.params();
    let own = given
        .iter()
        .filter(|(k, _)| specs.iter().any(|s| s.name == k.as_str()))
        .map(|(k, v)| (k.as_str(), v));
    let params = Params::resolve(specs, own)
        .map_err(|(p, why)| FeatureError::config(format!("{path}.{p}"), why))?;
    let slots = match def {
        Definition::Source(_) => Vec::new(),
        Definition::Feature(f) => f
            .deps(&params)
            .map_err(|why| FeatureError::config(path, why))?,
    };
    // every other key names a dependency role
    for k in given.keys() {
        if specs.iter().any(|s| s.name == k.as_str()) {
            continue;
        }
        if !slots.iter().any(|s| s.role == k.as_str()) {
            let mut known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            known.extend(slots.iter().map(|s| s.role));
            let hint = rill_core::did_you_mean(k, known.iter().copied())
                .map(|m| format!(" (did you mean '{m}'?)"))
                .unwrap_or_default();
            return Err(FeatureError::config(
                format!("{path}.{k}"),
                format!(
                    "unknown param{hint}; {} takes {}",
                    def.name(),
                    if known.is_empty() {
                        "no params".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if explicit.is_some() {
            return Err(FeatureError::config(
                format!("{path}.{k}"),
                "this dependency is given by `deps`: set its params where it is defined",
            ));
        }
    }
    stack.push(def.name());
    let mut deps: Vec<(&'static str, Feature)> = Vec::with_capacity(slots.len());
    if let Some(explicit) = explicit {
        if explicit.len() != slots.len() {
            let roles: Vec<&str> = slots.iter().map(|s| s.role).collect();
            stack.pop();
            return Err(FeatureError::config(
                deps_path,
                format!(
                    "{} takes {} dependencies ({}), {} given",
                    def.name(),
                    slots.len(),
                    roles.join(", "),
                    explicit.len()
                ),
            ));
        }
        for (slot, f) in slots.iter().zip(explicit) {
            if let DepKind::Definition(want) = slot.kind {
                if f.definition().name() != want {
                    stack.pop();
                    return Err(FeatureError::config(
                        deps_path,
                        format!(
                            "dependency '{}' of {} must be a {want}, '{}' is a {}",
                            slot.role,
                            def.name(),
                            f.display_name(),
                            f.definition().name()
                        ),
                    ));
                }
            }
            deps.push((slot.role, f.clone()));
        }
    } else {
        for slot in &slots {
            let sub_path = format!("{path}.{}", slot.role);
            let DepKind::Definition(dname) = slot.kind else {
                stack.pop();
                return Err(FeatureError::config(
                    deps_path,
                    format!(
                        "{} is a transform: name its input feature(s) in `deps` ({} slot '{}')",
                        def.name(),
                        slots.len(),
                        slot.role
                    ),
                ));
            };
            let sub = registry
                .get(dname)
                .ok_or_else(|| FeatureError::config(&sub_path, registry.unknown(dname)))?;
            let empty = Map::new();
            let nested = match given.get(slot.role) {
                None | Some(Json::Null) => &empty,
                Some(Json::Object(m)) => m,
                Some(_) => {
                    stack.pop();
                    return Err(FeatureError::config(
                        &sub_path,
                        format!("expected a map of the params of {dname}"),
                    ));
                }
            };
            let sub_name = match nested.get(NAME_KEY) {
                Some(Json::String(s)) => Some(s.clone()),
                Some(_) => {
                    stack.pop();
                    return Err(FeatureError::config(
                        format!("{sub_path}.{NAME_KEY}"),
                        "expected a string",
                    ));
                }
                None => name.as_ref().map(|n| format!("{n}.{}", slot.role)),
            };
            let mut rest = nested.clone();
            rest.remove(NAME_KEY);
            let f = construct(
                registry,
                &sub,
                &rest,
                None,
                sub_name,
                (&sub_path, &sub_path),
                stack,
            );
            match f {
                Ok(f) => deps.push((slot.role, f)),
                Err(e) => {
                    stack.pop();
                    return Err(e);
                }
            }
        }
    }
    stack.pop();
    let schema = match def {
        Definition::Source(s) => s.schema(&params),
        Definition::Feature(f) => {
            let inputs: Vec<&EventSchema> = deps.iter().map(|(_, d)| d.schema()).collect();
            f.output_schema(&params, &inputs)
                .map_err(|why| FeatureError::config(deps_path, format!("{}: {why}", def.name())))?
        }
    };
    let id = node_id(def, &params, &deps, false);
    Ok(Feature(Arc::new(Inner {
        definition: def.clone(),
        params,
        deps,
        name,
        label: false,
        schema,
        id,
    })))
}
