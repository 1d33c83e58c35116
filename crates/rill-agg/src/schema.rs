//! What a key's encoded state means: [`Aggregations::schema_description`], a stable text of
//! everything the state's layout and meaning depend on, and
//! [`Aggregations::schema_fingerprint`], its hash, which a table stores beside the states to
//! refuse mixing states of different aggregator sets.

use crate::engine::Aggregations;
use crate::geometry::AggPlan;
use crate::sketch::{ALPHA, HLL_M, HLL_SPARSE_MAX};
use crate::{AggregatorSpec, LatePolicy, Op};
use std::fmt::Write;
use twox_hash::XxHash64;

/// Seed of the fingerprint hash: fixed, so fingerprints are the same in every process.
const SEED: u64 = 0x7269_6c6c_5f73_6368; // "rill_sch"

/// The description: a header line, then one line per aggregator, in order.
///
/// Per aggregator what decides which values its state aggregated and how they are laid out:
/// its name, value source (field, expression) and filter as written, its ops in order (with
/// the parameters of sketch ops), window kind and lengths (in nanoseconds, so `60m` and `1h`
/// are the same state), period and late policy. Not `max_value`: it caps values when they are
/// read, the state holds them raw. Written out by hand (no `Debug` output), so it only changes
/// when the meaning does.
pub(crate) fn describe(specs: &[AggregatorSpec], plans: &[AggPlan]) -> String {
    let mut s = String::from("rill-agg key state\n");
    for (spec, p) in specs.iter().zip(plans) {
        let opt = |x: &Option<String>| x.as_deref().map_or("none".to_string(), quote);
        let ops: Vec<String> = p.ops.iter().map(op_text).collect();
        let kind = if p.wins.first().is_some_and(|w| w.fixed) {
            "fixed"
        } else {
            "sliding"
        };
        let wins: Vec<String> = p
            .wins
            .iter()
            .map(|w| format!("{}ns", w.nb * p.period))
            .collect();
        let late = match p.late {
            LatePolicy::Accept => "accept",
            LatePolicy::Drop => "drop",
            LatePolicy::SideOutput => "side_output",
        };
        writeln!(
            s,
            "aggregator {}: field {}; expr {}; filter {}; ops {}; {kind} windows {}; period {}ns; late {late}",
            quote(&p.name),
            opt(&spec.field),
            opt(&spec.expr),
            opt(&spec.filter),
            ops.join(", "),
            wins.join(", "),
            p.period,
        )
        .expect("writing to a String");
    }
    s
}

fn op_text(op: &Op) -> String {
    match op {
        Op::Quantile(q) => format!(
            "{} (rank {}/{}, log bins of relative accuracy {ALPHA})",
            q.label, q.rank.num, q.rank.den
        ),
        Op::ApproxCountDistinct => format!(
            "approx_count_distinct (hyperloglog {HLL_M} registers, exact to {HLL_SPARSE_MAX}, xxh64)"
        ),
        op => op.name().to_string(),
    }
}

/// `s` in double quotes, with `"`, `\` and control characters escaped (one line, unambiguous).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                write!(q, "\\u{{{:x}}}", c as u32).expect("writing to a String");
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

pub(crate) fn fingerprint(description: &str) -> u64 {
    XxHash64::oneshot(SEED, description.as_bytes())
}

impl Aggregations {
    /// A stable 64-bit hash of [`schema_description`](Self::schema_description) (XxHash64,
    /// fixed seed): the same for the same aggregators in any process or build, different when
    /// an aggregator's name, value source, filter, ops, windows, period or late policy differs.
    /// [`encode_state`](Self::encode_state) writes it into every state and
    /// [`decode_state`](Self::decode_state) refuses states with another one; a table stores it
    /// to refuse opening with another aggregator set.
    pub fn schema_fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// What an encoded state depends on, as text (one line per aggregator: name, value source,
    /// filter, ops, window kind and lengths in nanoseconds, period, late policy; not
    /// `max_value`, which applies at reads): for messages when fingerprints differ.
    pub fn schema_description(&self) -> String {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_unambiguous() {
        assert_eq!(quote("a\"b\\c\nd"), r#""a\"b\\c\u{a}d""#);
        assert_eq!(quote("café"), "\"café\"");
    }
}
