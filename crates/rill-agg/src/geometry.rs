//! Window geometry: default periods, validation, and the bucket arithmetic every read and
//! update uses. Buckets are numbered `floor(t / period)` (epoch-aligned, negative times too).

use crate::op::Needs;
use crate::{AggregatorSpec, LatePolicy, Op, WindowSpec};
use rill_core::{parse_duration, Error, Str};

/// Largest retained span (buckets per key × aggregator) accepted, so that a typo such as
/// `period: 1s` for a `30d` window fails at build time (a hot key would keep that many buckets).
pub(crate) const MAX_RING: i64 = 1 << 18;

/// One window of an aggregator, in buckets.
#[derive(Debug, Clone)]
pub(crate) struct WinPlan {
    /// Window length in buckets (`W / period`).
    pub nb: i64,
    /// Fixed (tumbling, epoch-aligned) rather than sliding.
    pub fixed: bool,
}

impl WinPlan {
    /// Buckets `[lo, hi]` of this window evaluated at query bucket `q`. A sliding window ends at
    /// `q`; a fixed window is the whole epoch-aligned window containing `q`.
    #[inline]
    pub fn range(&self, q: i64) -> (i64, i64) {
        if self.fixed {
            let lo = q.div_euclid(self.nb) * self.nb;
            (lo, lo + self.nb - 1)
        } else {
            (q - self.nb + 1, q)
        }
    }
    /// Whether bucket `b` is part of this window evaluated at the newest bucket `n` (`b <= n`).
    #[inline]
    pub fn contains_at(&self, b: i64, n: i64) -> bool {
        if self.fixed {
            b.div_euclid(self.nb) == n.div_euclid(self.nb)
        } else {
            n - b < self.nb
        }
    }
    /// Whether the running value kept for newest bucket `n` is the window's value at bucket `q`.
    #[inline]
    pub fn running_valid(&self, q: i64, n: i64) -> bool {
        if self.fixed {
            q.div_euclid(self.nb) == n.div_euclid(self.nb)
        } else {
            q == n
        }
    }
}

/// A compiled aggregator: its geometry and where its state lives inside a `KeyState`.
#[derive(Debug, Clone)]
pub(crate) struct AggPlan {
    pub name: Str,
    pub ops: Vec<Op>,
    pub wins: Vec<WinPlan>,
    /// Bucket length in nanoseconds.
    pub period: i64,
    /// Buckets of the largest window: the span inside which late events are accepted.
    pub span: i64,
    /// Buckets retained behind the newest one: `2·span − 1`, so that a late event accepted at
    /// the edge of the span still sees its own full window when its features are read.
    pub ring: i64,
    pub needs: Needs,
    /// Some op needs a numeric value.
    pub numeric: bool,
    pub cap: Option<f64>,
    pub late: LatePolicy,
    /// Index of this aggregator's first feature in `feature_names()`.
    pub feature_off: usize,
    /// Word offset of this aggregator's header in `KeyState::words` (see `state.rs`).
    pub hdr: usize,
    /// Word offset of the first window's running record (`vlen` words per window).
    pub run: usize,
    /// Offset of each value column (`V_*`) inside a record, `NO` when not kept.
    pub vcol: [u8; 9],
    /// Words per record of values (kept columns only); a bucket entry is one more (its index).
    pub vlen: usize,
    /// Record layout parameter for `with_layout!` (the kept-column set, or `record::RT`).
    pub bits: u8,
}

/// Column numbers of an `Acc`'s values, inside `AggPlan::vcol` (the two times follow).
pub(crate) const C_COUNT: usize = 0;
pub(crate) const C_SUM: usize = 1;
pub(crate) const C_SQR: usize = 2;
pub(crate) const C_MIN: usize = 3;
pub(crate) const C_MAX: usize = 4;
pub(crate) const C_FIRST: usize = 5;
pub(crate) const C_LAST: usize = 6;
/// `vcol` indices of the first/last times.
pub(crate) const T_FIRST: usize = 7;
pub(crate) const T_LAST: usize = 8;
/// `vcol` entry of a column that is not kept.
pub(crate) const NO: u8 = u8::MAX;

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// storey's default period: one unit of the smallest window's unit, halved
/// (`2h` → 30m, `90m` → 30s, `1d` → 12h; `ms` → 500µs, `w` → 3.5d).
pub(crate) fn default_period(smallest: &str) -> Result<i64, Error> {
    let unit = smallest
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit());
    Ok(parse_duration(&format!("1{unit}"))?.nanos() / 2)
}

/// Parses a window length and requires it to be positive.
fn parse_len(agg: &str, text: &str) -> Result<i64, Error> {
    let d = parse_duration(text)
        .map_err(|e| Error::config(format!("aggregator '{agg}': window {e}")))?;
    if d.nanos() <= 0 {
        return Err(Error::config(format!(
            "aggregator '{agg}': window '{text}' must be longer than zero"
        )));
    }
    Ok(d.nanos())
}

/// Validates one spec and computes its geometry (state offsets are filled in by the caller).
pub(crate) fn plan(spec: &AggregatorSpec) -> Result<AggPlan, Error> {
    let name = spec.name.as_str();
    if name.is_empty() {
        return Err(Error::config("an aggregator needs a non-empty name"));
    }
    let err = |msg: String| Error::config(format!("aggregator '{name}': {msg}"));
    if spec.ops.is_empty() {
        return Err(err("`ops` is empty".into()));
    }
    for (i, op) in spec.ops.iter().enumerate() {
        if spec.ops[..i].iter().any(|o| o.name() == op.name()) {
            return Err(err(format!("operation '{op}' is listed twice")));
        }
    }
    let texts = spec.windows.windows();
    if texts.is_empty() {
        return Err(err("no windows given".into()));
    }
    if texts.len() > 64 {
        return Err(err("at most 64 windows per aggregator".into()));
    }
    let mut lens = Vec::with_capacity(texts.len());
    for t in texts {
        let len = parse_len(name, t)?;
        if lens.contains(&len) {
            return Err(err(format!(
                "window '{t}' is listed twice (or equals another window)"
            )));
        }
        lens.push(len);
    }
    let (period, fixed) = match &spec.windows {
        WindowSpec::Sliding { period, .. } => {
            let p = match period {
                Some(p) => parse_duration(p)
                    .map_err(|e| err(format!("period {e}")))?
                    .nanos(),
                None => {
                    let smallest = texts
                        .iter()
                        .zip(&lens)
                        .min_by_key(|(_, l)| **l)
                        .map(|(t, _)| t.as_str())
                        .unwrap_or("");
                    default_period(smallest).map_err(|e| err(e.to_string()))?
                }
            };
            if p <= 0 {
                return Err(err("period must be longer than zero".into()));
            }
            for (t, l) in texts.iter().zip(&lens) {
                if l % p != 0 {
                    let pt = rill_core::Duration(p).to_text();
                    return Err(err(format!("period {pt} does not divide window '{t}' (each window must be a whole number of periods)")));
                }
            }
            (p, false)
        }
        // Fixed windows only need buckets that tile every window: the gcd of the lengths.
        WindowSpec::Fixed { .. } => (lens.iter().copied().fold(0, gcd), true),
    };
    let wins: Vec<WinPlan> = lens
        .iter()
        .map(|l| WinPlan {
            nb: l / period,
            fixed,
        })
        .collect();
    let span = wins.iter().map(|w| w.nb).max().unwrap_or(1);
    // Sliding: a late event at the span's edge still sees its whole window. Fixed: the previous
    // window stays whole, so `last_closed` queries and late events into it can be answered.
    let ring = if fixed { 2 * span } else { 2 * span - 1 };
    // Only non-empty buckets are stored, but a window this long still costs a fold per read
    // when running values cannot answer; keep the bound (and its early error for typos).
    if ring > MAX_RING {
        return Err(err(format!(
            "{span} buckets per window is too many: choose a longer period (at most {} buckets per window)",
            (MAX_RING + 1) / 2
        )));
    }
    if let Some(m) = spec.max_value {
        if m.is_nan() {
            return Err(err("max_value is NaN".into()));
        }
    }
    let needs = spec
        .ops
        .iter()
        .fold(Needs::default(), |n, op| n.union(op.needs()));
    Ok(AggPlan {
        name: Str::from(name),
        numeric: spec.ops.iter().any(Op::is_numeric),
        ops: spec.ops.clone(),
        wins,
        period,
        span,
        ring,
        needs,
        cap: spec.max_value,
        late: spec.late,
        feature_off: 0,
        hdr: 0,
        run: 0,
        vcol: [NO; 9],
        vlen: 0,
        bits: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(windows: WindowSpec) -> AggregatorSpec {
        AggregatorSpec {
            name: "a".into(),
            field: None,
            expr: None,
            filter: None,
            ops: vec![Op::Count],
            windows,
            max_value: None,
            late: LatePolicy::Accept,
        }
    }
    fn sliding(w: &[&str], p: Option<&str>) -> WindowSpec {
        WindowSpec::Sliding {
            windows: w.iter().map(|s| s.to_string()).collect(),
            period: p.map(Into::into),
        }
    }
    const MIN: i64 = 60_000_000_000;

    #[test]
    fn default_period_follows_storey() {
        assert_eq!(default_period("2h").unwrap(), 30 * MIN);
        assert_eq!(default_period("90m").unwrap(), MIN / 2);
        assert_eq!(default_period("1d").unwrap(), 12 * 60 * MIN);
        // The smallest window decides, whatever the order given.
        let p = plan(&spec(sliding(&["24h", "90m"], None))).unwrap();
        assert_eq!(p.period, MIN / 2);
        assert_eq!(p.wins[0].nb, 24 * 120);
    }

    #[test]
    fn period_must_divide_every_window() {
        let e = plan(&spec(sliding(&["1h", "25m"], Some("10m"))))
            .unwrap_err()
            .to_string();
        assert!(e.contains("aggregator 'a'") && e.contains("'25m'"), "{e}");
        // Default period of 1h is 30m, which does not divide 61m.
        assert!(plan(&spec(sliding(&["1h", "61m"], None))).is_err());
        assert!(plan(&spec(sliding(&["1h"], Some("0s")))).is_err());
        assert!(
            plan(&spec(sliding(&["1h", "60m"], None))).is_err(),
            "duplicate window"
        );
        assert!(
            plan(&spec(sliding(&["30d"], Some("1s")))).is_err(),
            "too many buckets"
        );
        assert!(plan(&spec(sliding(&[], None))).is_err());
    }

    #[test]
    fn bucket_ranges() {
        let p = plan(&spec(sliding(&["1h", "2h", "24h"], Some("10m")))).unwrap();
        assert_eq!(p.span, 144);
        assert_eq!(p.ring, 287);
        // 21:40 → bucket 21:40; a 1h window covers 20:50..21:40 (6 buckets).
        let b = 1_595_367_600_000_000_000i64.div_euclid(p.period);
        assert_eq!(p.wins[0].range(b), (b - 5, b));
        assert!(p.wins[0].contains_at(b - 5, b) && !p.wins[0].contains_at(b - 6, b));
        // Negative times are floored, not truncated.
        assert_eq!((-1i64).div_euclid(p.period), -1);
    }

    #[test]
    fn fixed_windows_align_to_their_own_length() {
        let p = plan(&spec(WindowSpec::Fixed {
            windows: vec!["2h".into(), "3h".into(), "1d".into()],
        }))
        .unwrap();
        assert_eq!(p.period, 60 * MIN, "gcd of 2h, 3h, 24h");
        let hour = |h: i64| (1_595_376_000_000_000_000i64 + h * 60 * MIN) / p.period; // 2020-07-22T00:00 + h
                                                                                      // 23:00 on the 21st (h = -1): 2h window 22:00–24:00, 3h window 21:00–24:00, day window the 21st.
        assert_eq!(p.wins[0].range(hour(-1)), (hour(-2), hour(-1)));
        assert_eq!(p.wins[1].range(hour(-1)), (hour(-3), hour(-1)));
        assert_eq!(p.wins[2].range(hour(-1)), (hour(-24), hour(-1)));
        // Across midnight every window starts again.
        assert_eq!(p.wins[2].range(hour(0)).0, hour(0));
        assert!(!p.wins[2].contains_at(hour(-1), hour(0)));
        assert!(
            p.wins[1].contains_at(hour(0), hour(2)) && !p.wins[1].contains_at(hour(2), hour(3))
        );
    }
}
