//! Aggregation operations (`count`, `sum`, … `p99`): names, parsing, and which per-bucket
//! columns each one needs.

use rill_core::{Error, Str};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;

/// One aggregation operation. Parsed from its storey name (`"count"`, `"avg"`, …) or, for
/// quantiles, from `"p50"`, `"p99.9"` or `"quantile_0.95"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Number of aggregated values (`0.0` for an empty window).
    Count,
    /// Σx (`0.0` for an empty window).
    Sum,
    /// Σx² (`0.0` for an empty window).
    Sqr,
    /// Smallest value (NaN for an empty window).
    Min,
    /// Largest value (NaN for an empty window).
    Max,
    /// Value with the smallest event time; ties: the earlier arrival (NaN if empty).
    First,
    /// Value with the greatest event time; ties: the earlier arrival, like storey (NaN if empty).
    Last,
    /// Σx / n (NaN if empty).
    Avg,
    /// Sample variance `(n·Σx² − (Σx)²) / (n(n−1))`, NaN if n ≤ 1, tiny negatives clamped to 0.
    StdVar,
    /// √stdvar.
    StdDev,
    /// Exact number of distinct values (numbers by numeric value, so `1 == 1.0`; strings by
    /// content; bools and timestamps are their own kinds).
    CountDistinct,
    /// Estimated number of distinct values: HyperLogLog with 4 096 registers and a fixed-seed
    /// 64-bit hash (the same estimate on every run and machine). Exact while the window holds
    /// at most 256 distinct values (barring 64-bit hash collisions); beyond, standard error
    /// ≈ 1.04/√4096 ≈ 1.6 % (linear counting in the small range).
    ApproxCountDistinct,
    /// The value of rank `⌊q·(n − 1)⌋` (0-based, sorted) of the window's `n` values, estimated
    /// within 1 % relative error (`|estimate − value| ≤ 0.01·|value|`; zeros and ±∞ exact) by a
    /// log-bucketed histogram with DDSketch's mapping; NaN for an empty window.
    Quantile(Quantile),
}

/// A quantile operation: `q` in `[0, 1]` and the name it was written with (used in feature names).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantile {
    /// The quantile, in `[0, 1]`.
    pub q: f64,
    /// The quantile exactly as written, a fraction (`p70` is 70/100): ranks are computed from it
    /// in integers (`0.7 · 90` in floating point is 62.999…, one rank too low).
    pub rank: Rank,
    /// The operation's name as written (`"p99"`, `"quantile_0.95"`).
    pub label: Str,
}

impl Op {
    /// The name used in feature names (`<aggregator>_<op>_<window>`).
    pub fn name(&self) -> &str {
        match self {
            Op::Count => "count",
            Op::Sum => "sum",
            Op::Sqr => "sqr",
            Op::Min => "min",
            Op::Max => "max",
            Op::First => "first",
            Op::Last => "last",
            Op::Avg => "avg",
            Op::StdVar => "stdvar",
            Op::StdDev => "stddev",
            Op::CountDistinct => "count_distinct",
            Op::ApproxCountDistinct => "approx_count_distinct",
            Op::Quantile(q) => &q.label,
        }
    }

    /// True when the op needs a numeric value (the others count any non-null value, as storey's
    /// `count` does for a string field).
    pub fn is_numeric(&self) -> bool {
        !matches!(
            self,
            Op::Count | Op::CountDistinct | Op::ApproxCountDistinct
        )
    }

    /// Columns of the per-bucket ring this op reads.
    pub(crate) fn needs(&self) -> Needs {
        let mut n = Needs::default();
        match self {
            Op::Count => {}
            Op::Sum | Op::Avg => n.sum = true,
            Op::Sqr => n.sqr = true,
            Op::StdVar | Op::StdDev => {
                n.sum = true;
                n.sqr = true
            }
            Op::Min => n.min = true,
            Op::Max => n.max = true,
            Op::First => n.first = true,
            Op::Last => n.last = true,
            Op::CountDistinct => n.distinct = true,
            Op::ApproxCountDistinct => n.hll = true,
            Op::Quantile(_) => n.quantile = true,
        }
        n
    }
}

/// Which optional columns an aggregator keeps (count is always kept: it marks empty buckets).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Needs {
    pub sum: bool,
    pub sqr: bool,
    pub min: bool,
    pub max: bool,
    pub first: bool,
    pub last: bool,
    pub distinct: bool,
    pub hll: bool,
    pub quantile: bool,
}

impl Needs {
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            sum: self.sum | o.sum,
            sqr: self.sqr | o.sqr,
            min: self.min | o.min,
            max: self.max | o.max,
            first: self.first | o.first,
            last: self.last | o.last,
            distinct: self.distinct | o.distinct,
            hll: self.hll | o.hll,
            quantile: self.quantile | o.quantile,
        }
    }
    /// True when any per-bucket sketch (set, HLL, DDSketch) is needed.
    pub fn sketches(self) -> bool {
        self.distinct | self.hll | self.quantile
    }
}

/// A quantile as an exact fraction `num / den` of `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub(crate) num: u64,
    pub(crate) den: u64,
}

impl Rank {
    /// `num / den`; `None` unless `0 <= num <= den` and `den > 0`.
    pub fn new(num: u64, den: u64) -> Option<Rank> {
        (den > 0 && num <= den).then_some(Rank { num, den })
    }

    /// The 0-based rank `⌊q·(n − 1)⌋` of the quantile among `n > 0` sorted values, exactly.
    #[inline]
    pub fn of(self, n: u64) -> u64 {
        let m = n.saturating_sub(1);
        // 64-bit arithmetic when the product fits (always, for whole-percent quantiles of up
        // to 2^57 values): a 128-bit division is a library call, and this runs per read.
        let r = match self.num.checked_mul(m) {
            Some(x) => x / self.den,
            None => (self.num as u128 * m as u128 / self.den as u128) as u64,
        };
        r.min(m)
    }

    /// The quantile as a float (for display; ranks use [`of`](Self::of)).
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

/// A plain decimal (`"99.9"`, `"0.95"`, `"50"`) as an exact fraction divided further by `scale`;
/// `None` for anything else (`"1e2"`, `"inf"`) or more than 15 decimals.
fn parse_fraction(t: &str, scale: u64) -> Option<Rank> {
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) || frac.len() > 15 {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac_trim = frac.trim_end_matches('0');
    let den = 10u64
        .checked_pow(frac_trim.len() as u32)?
        .checked_mul(scale)?;
    let num: u64 = format!("{int}{frac_trim}").parse().unwrap_or(0);
    Rank::new(num, den)
}

fn parse_quantile(s: &str) -> Option<Rank> {
    if let Some(rest) = s.strip_prefix("quantile_") {
        parse_fraction(rest, 1)
    } else if let Some(rest) = s.strip_prefix('p') {
        parse_fraction(rest, 100)
    } else {
        None
    }
}

impl FromStr for Op {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "count" => Op::Count,
            "sum" => Op::Sum,
            "sqr" => Op::Sqr,
            "min" => Op::Min,
            "max" => Op::Max,
            "first" => Op::First,
            "last" => Op::Last,
            "avg" => Op::Avg,
            "stdvar" => Op::StdVar,
            "stddev" => Op::StdDev,
            "count_distinct" => Op::CountDistinct,
            "approx_count_distinct" => Op::ApproxCountDistinct,
            other => match parse_quantile(other) {
                Some(rank) => Op::Quantile(Quantile {
                    q: rank.as_f64(),
                    rank,
                    label: Str::from(other),
                }),
                None => {
                    let other = rill_core::shorten(other, 60);
                    return Err(Error::config(format!(
                        "unknown aggregation '{other}': use count, sum, sqr, min, max, first, last, avg, stdvar, stddev, \
                         count_distinct, approx_count_distinct, or a quantile such as p50, p99.9 or quantile_0.95"
                    )));
                }
            },
        })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// As its name (`count`, `p99.9`), the text it is parsed from.
impl serde::Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_quantiles() {
        assert_eq!("avg".parse::<Op>().unwrap(), Op::Avg);
        assert_eq!("count_distinct".parse::<Op>().unwrap(), Op::CountDistinct);
        let Op::Quantile(q) = "p99.9".parse::<Op>().unwrap() else {
            panic!("not a quantile")
        };
        assert!((q.q - 0.999).abs() < 1e-12);
        assert_eq!(q.label, "p99.9");
        let Op::Quantile(q) = "quantile_0.95".parse::<Op>().unwrap() else {
            panic!("not a quantile")
        };
        assert_eq!(q.q, 0.95);
        assert_eq!(q.rank, Rank::new(95, 100).unwrap());
        // exact ranks: 0.7 · 90 is 62.999… in floating point, 63 as written
        let Op::Quantile(q) = "p70".parse::<Op>().unwrap() else {
            panic!("not a quantile")
        };
        assert_eq!(q.rank.of(91), 63);
        let Op::Quantile(q) = "p099.900".parse::<Op>().unwrap() else {
            panic!("not a quantile")
        };
        assert_eq!(q.rank, Rank::new(999, 1000).unwrap());
        assert_eq!(q.rank.of(1001), 999);
        assert_eq!(q.rank.of(1), 0);
        for (name, n, want) in [
            ("p0", 10, 0),
            ("p100", 10, 9),
            ("quantile_1", 7, 6),
            ("p.5", 201, 1),
        ] {
            let Op::Quantile(q) = name.parse::<Op>().unwrap() else {
                panic!("{name}: not a quantile")
            };
            assert_eq!(q.rank.of(n), want, "{name} of {n}");
        }
        for bad in [
            "p.",
            "p1.2.3",
            "p0.0000000000000001",
            "Count",
            "p101",
            "quantile_1.5",
            "p",
            "pinf",
            "median",
            "p-5",
        ] {
            assert!(bad.parse::<Op>().is_err(), "{bad} should be rejected");
        }
    }
}
