//! The YAML featurizer config, in svoe's shape with its defects fixed: unknown keys are
//! errors, params are addressed by name (a dependency's params nest under its role), the label
//! is chosen by name, and building never touches the config.
//!
//! ```yaml
//! feature_configs:
//!   - feature_definition: volatility.volatility_stddev
//!     name: vol
//!     params:
//!       window: 1m
//!       mid_price:                      # the dependency in role `mid_price`
//!         l2_snapshot: {depth: 5, sampling: 1s, source: {name: book, symbol: BTC-USDT-PERP}}
//!   - feature_definition: transforms.diff
//!     name: vol_change
//!     params: {window: 20s}
//!     deps: [vol]                       # transforms take named features
//! label_feature: vol
//! ```

use crate::error::{FeatureError, Result};
use crate::feature::{construct, Feature};
use crate::registry::Registry;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// A featurizer config: the features of one graph.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturizerConfig {
    /// The features to compute, in output order. A feature may use another one (by name, in
    /// `deps`) defined anywhere in the list.
    pub feature_configs: Vec<FeatureConfig>,
    /// The name of a feature also delivered as a label (named `label_<name>`, with an identity
    /// of its own).
    #[serde(default)]
    pub label_feature: Option<String>,
}

/// One feature of a [`FeaturizerConfig`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// The registered definition, `group.definition` (e.g. `price.mid_price`).
    pub feature_definition: String,
    /// A name for outputs and `deps`; its dependencies built from params get
    /// `<name>.<role>` unless their params map sets `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// The definition's params; under each dependency role, a map of that dependency's params
    /// (and optionally its `name`).
    #[serde(default)]
    pub params: Map<String, Json>,
    /// The features filling the dependency slots, in slot order, by name (required by
    /// transforms; for other definitions it replaces building the dependencies from params).
    #[serde(default)]
    pub deps: Option<Vec<String>>,
}

impl FeaturizerConfig {
    /// Parses YAML text.
    pub fn from_yaml(text: &str) -> Result<FeaturizerConfig> {
        serde_saphyr::from_str(text).map_err(|source| FeatureError::Yaml {
            file: "<string>".into(),
            source: Box::new(source),
        })
    }

    /// Reads and parses a YAML file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<FeaturizerConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| FeatureError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_saphyr::from_str(&text).map_err(|source| FeatureError::Yaml {
            file: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// Builds the output features (config order, then the label). Errors name the config path:
    /// `feature_configs[1].params.mid_price.window`.
    pub fn build(&self, registry: &Registry) -> Result<Vec<Feature>> {
        let n = self.feature_configs.len();
        for (i, c) in self.feature_configs.iter().enumerate() {
            if let Some(name) = &c.name {
                if self.feature_configs[..i]
                    .iter()
                    .any(|o| o.name.as_ref() == Some(name))
                {
                    return Err(FeatureError::config(
                        format!("feature_configs[{i}].name"),
                        format!("the name '{name}' is used by an earlier feature"),
                    ));
                }
            }
        }
        let mut built: Vec<Option<Feature>> = vec![None; n];
        let mut table: Vec<(String, Feature)> = Vec::new();
        while built.iter().any(Option::is_none) {
            let mut progress = false;
            for (i, slot) in built.iter_mut().enumerate() {
                if slot.is_some() {
                    continue;
                }
                let c = &self.feature_configs[i];
                let deps: Option<Vec<Feature>> = match &c.deps {
                    None => None,
                    Some(names) => {
                        let found: Option<Vec<Feature>> = names
                            .iter()
                            .map(|d| table.iter().find(|(n, _)| n == d).map(|(_, f)| f.clone()))
                            .collect();
                        match found {
                            Some(f) => Some(f),
                            None => continue,
                        }
                    }
                };
                let def = registry.get(&c.feature_definition).ok_or_else(|| {
                    FeatureError::config(
                        format!("feature_configs[{i}].feature_definition"),
                        registry.unknown(&c.feature_definition),
                    )
                })?;
                let paths = (
                    format!("feature_configs[{i}].params"),
                    format!("feature_configs[{i}].deps"),
                );
                let f = construct(
                    registry,
                    &def,
                    &c.params,
                    deps.as_deref(),
                    c.name.clone(),
                    (&paths.0, &paths.1),
                    &mut Vec::new(),
                )?;
                add_names(&f, &mut table);
                *slot = Some(f);
                progress = true;
            }
            if !progress {
                return Err(self.unresolved(&built, &table));
            }
        }
        let mut out: Vec<Feature> = built.into_iter().flatten().collect();
        if let Some(label) = &self.label_feature {
            let f = table
                .iter()
                .find(|(n, _)| n == label)
                .map(|(_, f)| f.clone())
                .ok_or_else(|| {
                    FeatureError::config("label_feature", format!("no feature named '{label}'"))
                })?;
            out.push(f.as_label());
        }
        Ok(out)
    }

    /// The error when no remaining config can be built: a dependency cycle or a missing name.
    fn unresolved(&self, built: &[Option<Feature>], table: &[(String, Feature)]) -> FeatureError {
        let pending = |name: &str| {
            self.feature_configs
                .iter()
                .position(|c| c.name.as_deref() == Some(name))
                .filter(|&k| built[k].is_none())
        };
        let missing = |i: usize| -> Option<(usize, &String)> {
            let deps = self.feature_configs[i].deps.as_ref()?;
            deps.iter()
                .enumerate()
                .find(|(_, d)| !table.iter().any(|(n, _)| n == *d))
        };
        let first = (0..built.len())
            .find(|&i| built[i].is_none())
            .expect("some config is unbuilt");
        // a name no config defines: missing
        for i in (0..built.len()).filter(|&i| built[i].is_none()) {
            if let Some((j, d)) = missing(i) {
                if pending(d).is_none() {
                    let names = table.iter().map(|(n, _)| n.as_str());
                    let hint = rill_core::did_you_mean(d, names)
                        .map(|m| format!(" (did you mean '{m}'?)"))
                        .unwrap_or_default();
                    return FeatureError::config(
                        format!("feature_configs[{i}].deps[{j}]"),
                        format!("no feature named '{d}'{hint}"),
                    );
                }
            }
        }
        // else every unbuilt config waits for another unbuilt one: follow the chain
        let mut chain = vec![first];
        let mut cur = first;
        loop {
            let (_, d) = missing(cur).expect("waits for a dependency");
            let next = pending(d).expect("defined by an unbuilt config");
            if let Some(p) = chain.iter().position(|&c| c == next) {
                let names: Vec<&str> = chain[p..]
                    .iter()
                    .chain(std::iter::once(&next))
                    .map(|&k| self.feature_configs[k].name.as_deref().unwrap_or("?"))
                    .collect();
                return FeatureError::config(
                    format!("feature_configs[{}].deps", chain[p]),
                    format!("dependency cycle: {}", names.join(" -> ")),
                );
            }
            chain.push(next);
            cur = next;
        }
    }
}

/// Adds the names of `f` and of every named node under it (first name wins).
fn add_names(f: &Feature, table: &mut Vec<(String, Feature)>) {
    if let Some(n) = f.name() {
        if !table.iter().any(|(m, _)| m == n) {
            table.push((n.to_string(), f.clone()));
        }
    }
    for (_, d) in f.deps() {
        add_names(d, table);
    }
}
