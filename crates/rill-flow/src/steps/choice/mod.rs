//! `choice`: routes each event to zero or more named outlets (storey `Choice`).

use crate::step::{Cx, Failure, Step, StepResult};
use rill_core::{Error, Event, Result};

super::cloneable_fn!(pub(crate) PredBody: FnMut(&Event) -> Result<bool>);
type Pred = Box<dyn PredBody>;

/// Each route is an outlet name with a condition. With `all_matches` (storey 1.14's
/// `select_outlets`, the default) an event goes to every route whose condition holds; otherwise
/// only to the first. When none holds it goes to the `otherwise` outlet, if any, else it is
/// dropped (counted as `unrouted`).
#[derive(Clone)]
pub struct Choice {
    routes: Vec<(String, Pred, usize)>,
    otherwise: Option<(String, usize)>,
    all_matches: bool,
}

impl Choice {
    /// An empty choice; add routes with [`Choice::when`].
    pub fn new() -> Choice {
        Choice {
            routes: Vec::new(),
            otherwise: None,
            all_matches: true,
        }
    }
    /// Routes events satisfying `cond` to the outlet `name`.
    pub fn when(
        mut self,
        name: &str,
        cond: impl FnMut(&Event) -> Result<bool> + Clone + Send + 'static,
    ) -> Choice {
        self.routes
            .push((name.to_string(), Box::new(cond), usize::MAX));
        self
    }
    /// Where events no route takes go.
    pub fn otherwise(mut self, name: &str) -> Choice {
        self.otherwise = Some((name.to_string(), usize::MAX));
        self
    }
    /// Only the first matching route gets the event (storey ≤1.6 semantics).
    pub fn first_match(mut self) -> Choice {
        self.all_matches = false;
        self
    }
}

impl Default for Choice {
    fn default() -> Self {
        Choice::new()
    }
}

impl Step for Choice {
    fn bind_outlets(&mut self, outlets: &[String]) -> Result<()> {
        let find = |name: &str| {
            outlets.iter().position(|o| o == name).ok_or_else(|| {
                Error::config(format!(
                    "choice routes to '{name}', but no outlet has that name (outlets: {outlets:?})"
                ))
            })
        };
        for (name, _, idx) in &mut self.routes {
            *idx = find(name)?;
        }
        if let Some((name, idx)) = &mut self.otherwise {
            *idx = find(name)?;
        }
        Ok(())
    }

    fn process(&mut self, event: Event, cx: &mut Cx) -> StepResult {
        let mut chosen: smallvec::SmallVec<[usize; 4]> = smallvec::SmallVec::new();
        for (_, cond, idx) in &mut self.routes {
            match cond(&event) {
                Ok(true) => {
                    chosen.push(*idx);
                    if !self.all_matches {
                        break;
                    }
                }
                Ok(false) => {}
                Err(e) => return Err(Failure::new(e, event)),
            }
        }
        if chosen.is_empty() {
            if let Some((_, idx)) = &self.otherwise {
                chosen.push(*idx);
            }
        }
        match chosen.split_last() {
            None => cx.count("unrouted", 1),
            Some((&last, rest)) => {
                for &i in rest {
                    cx.emit_to(i, event.clone());
                }
                cx.emit_to(last, event);
            }
        }
        Ok(())
    }
}

/// Which routes an event takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matches {
    /// Every route whose condition holds (storey 1.14).
    #[default]
    All,
    /// Only the first route whose condition holds.
    First,
}
