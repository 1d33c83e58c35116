//! Event time: epoch nanoseconds, storey-style durations, and the time formats sources accept.

use crate::Zone;
use crate::{Error, Result};
use chrono::format::{Fixed, Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant as nanoseconds since the Unix epoch (UTC). Covers years 1678–2262.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_nanos() as i64)
    }
    /// From epoch milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms * 1_000_000)
    }
    /// From epoch seconds.
    pub const fn from_secs(s: i64) -> Self {
        Timestamp(s * NANOS_PER_SEC)
    }
    /// Epoch nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }
    /// Epoch milliseconds (floor).
    pub const fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    /// Epoch seconds as a float.
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Adds a duration.
    pub const fn add(self, d: Duration) -> Self {
        Timestamp(self.0 + d.0)
    }
    /// Subtracts a duration.
    pub const fn sub(self, d: Duration) -> Self {
        Timestamp(self.0 - d.0)
    }
    /// Parses an ISO-8601 / RFC 3339 instant. A value without an offset is taken as UTC
    /// (storey takes it as the machine's local time, which makes results machine-dependent).
    pub fn parse_iso(s: &str) -> Result<Self> {
        Self::parse_iso_in(s, None)
    }
    /// Like [`Timestamp::parse_iso`], but a value without an offset is a wall-clock time in
    /// `zone` when one is given (DST-correct; see [`Zone::to_utc`] for times that occur twice
    /// or not at all).
    ///
    /// ```
    /// use rill_core::{Timestamp, Zone};
    /// let paris = Zone::iana("Europe/Paris").unwrap();
    /// let t = Timestamp::parse_iso_in("2021-07-01T10:00:00", Some(paris)).unwrap();
    /// assert_eq!(t, Timestamp::parse_iso("2021-07-01T08:00:00Z").unwrap());
    /// ```
    pub fn parse_iso_in(s: &str, zone: Option<Zone>) -> Result<Self> {
        // the common shape first, before trimming (which costs as much as the parse)
        if let Some((n, offset)) = crate::iso::parse_fast_parts(s.as_bytes()) {
            return Self::place(n, offset, zone, s);
        }
        let s = s.trim();
        if let Some((n, offset)) = crate::iso::parse_fast_parts(s.as_bytes()) {
            return Self::place(n, offset, zone, s);
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Self::from_chrono(dt.with_timezone(&Utc), s);
        }
        // "2020-07-21 21:40:00+00:00" (space instead of T) and offsets without colon
        for fmt in [
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
        ] {
            if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
                return Self::from_chrono(dt.with_timezone(&Utc), s);
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(ndt) = NaiveDateTime::parse_from_str(s, fmt) {
                let local = Self::from_chrono(Utc.from_utc_datetime(&ndt), s)?;
                return Self::place(local.0, false, zone, s);
            }
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let ndt = d.and_hms_opt(0, 0, 0).expect("midnight exists");
            let local = Self::from_chrono(Utc.from_utc_datetime(&ndt), s)?;
            return Self::place(local.0, false, zone, s);
        }
        Err(Error::field(
            "time",
            format!("'{s}' is not an ISO-8601 timestamp"),
        ))
    }
    /// The instant of `n` epoch nanoseconds, read as UTC: as is when the text had an offset,
    /// else a wall-clock time in `zone` (if any).
    #[inline]
    fn place(n: i64, had_offset: bool, zone: Option<Zone>, text: &str) -> Result<Self> {
        match zone {
            Some(z) if !had_offset => z
                .to_utc(n)
                .map(Timestamp)
                .map_err(|why| Error::field("time", format!("'{text}': {why}"))),
            _ => Ok(Timestamp(n)),
        }
    }
    fn from_chrono(dt: DateTime<Utc>, text: &str) -> Result<Self> {
        dt.timestamp_nanos_opt().map(Timestamp).ok_or_else(|| {
            Error::field(
                "time",
                format!("'{text}' is out of the supported range (1678..2262)"),
            )
        })
    }
    /// Parses with a strftime-style format. An offset (`%z`) places the time; else a zone name
    /// (`%Z`: an abbreviation such as `PST` or an IANA name, see [`Zone::from_name`]); else it
    /// is UTC. Compiles the format on each call: sources compile it once ([`TimeParser`]).
    pub fn parse_with_format(s: &str, fmt: &str) -> Result<Self> {
        Pattern::compile(fmt)?.parse(s, None)
    }
    /// RFC 3339 text with a `+00:00` offset, as storey prints datetimes.
    pub fn to_iso(self) -> String {
        let dt = Utc.timestamp_nanos(self.0);
        let f = if self.0 % NANOS_PER_SEC == 0 {
            SecondsFormat::Secs
        } else if self.0 % 1_000_000 == 0 {
            SecondsFormat::Millis
        } else if self.0 % 1000 == 0 {
            SecondsFormat::Micros
        } else {
            SecondsFormat::Nanos
        };
        dt.to_rfc3339_opts(f, false)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

/// A span of time in nanoseconds, written like storey: `"30s"`, `"10m"`, `"1h"`, `"2d"`
/// (rill also accepts `ms` and `w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

impl Duration {
    /// From seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s * NANOS_PER_SEC)
    }
    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms * 1_000_000)
    }
    /// Nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }
    /// Milliseconds (floor).
    pub const fn millis(self) -> i64 {
        self.0 / 1_000_000
    }
    /// As a std duration (negative becomes zero).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.max(0) as u64)
    }
    /// The shortest storey-style text for this duration (`3600s` → `"1h"`).
    pub fn to_text(self) -> String {
        const UNITS: [(i64, &str); 6] = [
            (7 * 86_400 * NANOS_PER_SEC, "w"),
            (86_400 * NANOS_PER_SEC, "d"),
            (3_600 * NANOS_PER_SEC, "h"),
            (60 * NANOS_PER_SEC, "m"),
            (NANOS_PER_SEC, "s"),
            (1_000_000, "ms"),
        ];
        for (n, u) in UNITS {
            if self.0 != 0 && self.0 % n == 0 {
                return format!("{}{u}", self.0 / n);
            }
        }
        format!("{}ns", self.0)
    }
}

/// Parses `<int><unit>` with unit ∈ `ms s m h d w` (storey: `s m h d`).
///
/// ```
/// use rill_core::{parse_duration, Duration};
/// assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
/// assert!(parse_duration("1M").is_err()); // months are not fixed-length
/// ```
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::config(format!(
            "'{s}' is not a duration: use <integer><unit> with unit ms, s, m, h, d or w (e.g. 10m)"
        ))
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        "w" => 7 * 86_400 * NANOS_PER_SEC,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).map(Duration).ok_or_else(bad)
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// How a time field is written in the input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// ISO-8601 / RFC 3339 text (default); numbers are taken as epoch milliseconds.
    #[default]
    Iso8601,
    /// Epoch seconds (integer or fractional).
    EpochSeconds,
    /// Epoch milliseconds.
    EpochMillis,
    /// Epoch microseconds.
    EpochMicros,
    /// Epoch nanoseconds.
    EpochNanos,
    /// A strftime pattern such as `%d/%m/%Y %H:%M:%S`.
    Pattern(String),
}

impl TimeFormat {
    /// Parses a textual time according to this format.
    pub fn parse_str(&self, s: &str) -> Result<Timestamp> {
        match self {
            TimeFormat::Iso8601 => Timestamp::parse_iso(s),
            TimeFormat::Pattern(p) => Timestamp::parse_with_format(s.trim(), p),
            _ => {
                let t = s.trim();
                if let Ok(i) = t.parse::<i64>() {
                    self.from_i64(i)
                } else if let Ok(f) = t.parse::<f64>() {
                    self.from_f64(f)
                } else {
                    Err(Error::field(
                        "time",
                        format!("'{s}' is not a number of {}", self.unit_name()),
                    ))
                }
            }
        }
    }
    fn unit_name(&self) -> &'static str {
        match self {
            TimeFormat::EpochSeconds => "epoch seconds",
            TimeFormat::EpochMicros => "epoch microseconds",
            TimeFormat::EpochNanos => "epoch nanoseconds",
            _ => "epoch milliseconds",
        }
    }
    fn scale(&self) -> i64 {
        match self {
            TimeFormat::EpochSeconds => NANOS_PER_SEC,
            TimeFormat::EpochMicros => 1_000,
            TimeFormat::EpochNanos => 1,
            _ => 1_000_000,
        }
    }
    /// Interprets an integer in this format's unit (ISO and patterns: epoch milliseconds, like storey).
    pub fn from_i64(&self, i: i64) -> Result<Timestamp> {
        i.checked_mul(self.scale()).map(Timestamp).ok_or_else(|| {
            Error::field("time", format!("{i} {} is out of range", self.unit_name()))
        })
    }
    /// Interprets a float in this format's unit. Whole and fractional parts are scaled
    /// separately, so `1595367600.25` seconds is exactly `…600_250_000_000` ns.
    pub fn from_f64(&self, f: f64) -> Result<Timestamp> {
        let scale = self.scale();
        let whole = f.trunc();
        if !f.is_finite() || whole.abs() * scale as f64 >= 9.2e18 {
            return Err(Error::field(
                "time",
                format!("{f} {} is out of range", self.unit_name()),
            ));
        }
        let frac = ((f - whole) * scale as f64).round() as i64;
        Ok(Timestamp(whole as i64 * scale + frac))
    }
}

impl Serialize for TimeFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            TimeFormat::Iso8601 => "iso8601",
            TimeFormat::EpochSeconds => "epoch_s",
            TimeFormat::EpochMillis => "epoch_ms",
            TimeFormat::EpochMicros => "epoch_us",
            TimeFormat::EpochNanos => "epoch_ns",
            TimeFormat::Pattern(p) => p,
        })
    }
}

impl<'de> Deserialize<'de> for TimeFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "iso8601" | "iso" | "rfc3339" => TimeFormat::Iso8601,
            "epoch_s" | "s" | "epoch" => TimeFormat::EpochSeconds,
            "epoch_ms" | "ms" => TimeFormat::EpochMillis,
            "epoch_us" | "us" => TimeFormat::EpochMicros,
            "epoch_ns" | "ns" => TimeFormat::EpochNanos,
            p if p.contains('%') => TimeFormat::Pattern(p.to_string()),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "unknown time format '{other}': use iso8601, epoch_s, epoch_ms, epoch_us, epoch_ns or a strftime pattern containing '%'"
                )))
            }
        })
    }
}

/// A strftime pattern compiled once: the items before a `%Z` zone name, and those after it.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    before: Vec<Item<'static>>,
    /// `Some` when the pattern has `%Z`: the items after the zone name.
    after: Option<Vec<Item<'static>>>,
}

impl Pattern {
    fn compile(text: &str) -> Result<Pattern> {
        let items = StrftimeItems::new(text).parse_to_owned().map_err(|e| {
            Error::config(format!(
                "time format '{text}' is not a valid strftime pattern: {e}"
            ))
        })?;
        let mut parts = items.split(|i| *i == Item::Fixed(Fixed::TimezoneName));
        let before = parts.next().unwrap_or_default().to_vec();
        let after = parts.next().map(<[Item<'static>]>::to_vec);
        if parts.next().is_some() {
            return Err(Error::config(format!(
                "time format '{text}' has %Z more than once"
            )));
        }
        Ok(Pattern {
            text: text.to_string(),
            before,
            after,
        })
    }

    /// Parses `s`; without an offset or zone name in it, the time is in `zone` (else UTC).
    fn parse(&self, s: &str, zone: Option<Zone>) -> Result<Timestamp> {
        let bad = |e: chrono::ParseError| {
            Error::field(
                "time",
                format!("'{s}' does not match format '{}': {e}", self.text),
            )
        };
        let mut parsed = Parsed::new();
        let name = match &self.after {
            None => {
                chrono::format::parse(&mut parsed, s, self.before.iter()).map_err(bad)?;
                None
            }
            Some(after) => {
                let rest = chrono::format::parse_and_remainder(&mut parsed, s, self.before.iter())
                    .map_err(bad)?;
                // a zone name: letters, digits and the `/ _ - +` of IANA names
                // (`America/Port-au-Prince`, `Etc/GMT+8`), so `(PST)` or `PST,` end at the name
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "/_-+".contains(c)))
                    .unwrap_or(rest.len());
                let (name, rest) = rest.split_at(end);
                if name.is_empty() {
                    return Err(Error::field(
                        "time",
                        format!(
                            "'{s}' does not match format '{}': no time zone name where %Z is",
                            self.text
                        ),
                    ));
                }
                chrono::format::parse(&mut parsed, rest, after.iter()).map_err(bad)?;
                Some(name)
            }
        };
        let ndt = parsed.to_naive_datetime_with_offset(0).map_err(bad)?;
        let local = Timestamp::from_chrono(Utc.from_utc_datetime(&ndt), s)?.0;
        if let Some(off) = parsed.offset() {
            // an offset in the text is exact, whatever zone name is beside it
            return local
                .checked_sub(i64::from(off) * NANOS_PER_SEC)
                .map(Timestamp)
                .ok_or_else(|| {
                    Error::field(
                        "time",
                        format!("'{s}' is out of the supported range (1678..2262)"),
                    )
                });
        }
        let zone = match name {
            Some(n) => Some(
                Zone::from_name(n).map_err(|why| Error::field("time", format!("'{s}': {why}")))?,
            ),
            None => zone,
        };
        Timestamp::place(local, false, zone, s)
    }
}

/// A source's time options resolved once (when the source is built): the [`TimeFormat`], its
/// compiled strftime pattern, and the `timezone` in which times without an offset or zone name
/// are read. Parsing then allocates nothing per value.
///
/// ```
/// use rill_core::{TimeFormat, TimeParser, Timestamp};
/// let p = TimeParser::new(&TimeFormat::Pattern("%Y-%m-%d %H:%M:%S %Z".into()), None).unwrap();
/// assert_eq!(
///     p.parse_str("2021-01-01 10:00:00 PST").unwrap(),
///     Timestamp::parse_iso("2021-01-01T18:00:00Z").unwrap()
/// );
/// let paris = TimeParser::new(&TimeFormat::Iso8601, Some("Europe/Paris")).unwrap();
/// assert_eq!(
///     paris.parse_str("2021-01-01 10:00:00").unwrap(),
///     Timestamp::parse_iso("2021-01-01T09:00:00Z").unwrap()
/// );
/// assert!(TimeParser::new(&TimeFormat::Iso8601, Some("Mars/Olympus")).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct TimeParser {
    format: TimeFormat,
    pattern: Option<Pattern>,
    zone: Option<Zone>,
}

impl TimeParser {
    /// Checks and compiles: an invalid pattern or an unknown `timezone` (IANA name) is a
    /// configuration error.
    pub fn new(format: &TimeFormat, timezone: Option<&str>) -> Result<TimeParser> {
        let zone = timezone
            .map(|z| Zone::iana(z).map_err(Error::Config))
            .transpose()?;
        let pattern = match format {
            TimeFormat::Pattern(p) => Some(Pattern::compile(p)?),
            _ => None,
        };
        Ok(TimeParser {
            format: format.clone(),
            pattern,
            zone,
        })
    }
    /// The format.
    pub fn format(&self) -> &TimeFormat {
        &self.format
    }
    /// The zone of times without an offset, if set.
    pub fn zone(&self) -> Option<Zone> {
        self.zone
    }
    /// Parses a textual time (see [`TimeFormat::parse_str`]), placing times without an offset
    /// or zone name in the `timezone`.
    #[inline]
    pub fn parse_str(&self, s: &str) -> Result<Timestamp> {
        match (&self.format, &self.pattern) {
            (TimeFormat::Iso8601, _) => Timestamp::parse_iso_in(s, self.zone),
            (TimeFormat::Pattern(_), Some(p)) => p.parse(s.trim(), self.zone),
            (f, _) => f.parse_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip_and_offsets() {
        let t = Timestamp::parse_iso("2020-07-21T21:40:00+00:00").unwrap();
        assert_eq!(t.millis(), 1_595_367_600_000);
        assert_eq!(t.to_iso(), "2020-07-21T21:40:00+00:00");
        assert_eq!(
            Timestamp::parse_iso("2020-07-21T23:40:00+02:00").unwrap(),
            t
        );
        assert_eq!(Timestamp::parse_iso("2020-07-21 21:40:00").unwrap(), t);
        assert_eq!(
            Timestamp::parse_iso("2020-07-21T21:40:00.250Z")
                .unwrap()
                .to_iso(),
            "2020-07-21T21:40:00.250+00:00"
        );
        assert!(Timestamp::parse_iso("yesterday").is_err());
    }

    #[test]
    fn epoch_formats() {
        assert_eq!(
            TimeFormat::EpochSeconds
                .parse_str("1595367600")
                .unwrap()
                .millis(),
            1_595_367_600_000
        );
        assert_eq!(
            TimeFormat::EpochSeconds
                .parse_str("1595367600.5")
                .unwrap()
                .millis(),
            1_595_367_600_500
        );
        assert_eq!(
            TimeFormat::EpochMillis
                .parse_str("1595367600000")
                .unwrap()
                .millis(),
            1_595_367_600_000
        );
        assert!(TimeFormat::EpochMillis.parse_str("abc").is_err());
        assert_eq!(
            TimeFormat::Pattern("%d/%m/%Y %H:%M".into())
                .parse_str("21/07/2020 21:40")
                .unwrap()
                .millis(),
            1_595_367_600_000
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2d").unwrap().to_text(), "2d");
        assert_eq!(Duration::from_secs(5400).to_text(), "90m");
        for bad in ["", "h", "1.5h", "1M", "1y", "-1h", "10 m"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }
    #[test]
    fn time_parser_places_naive_times_in_the_timezone() {
        let t = |s: &str| Timestamp::parse_iso(s).unwrap();
        let paris = TimeParser::new(&TimeFormat::Iso8601, Some("Europe/Paris")).unwrap();
        // fast path, slower shapes, a date alone; an offset in the text wins
        for (text, want) in [
            ("2021-01-01T10:00:00", "2021-01-01T09:00:00Z"),
            ("2021-07-01 10:00:00.250", "2021-07-01T08:00:00.250Z"),
            ("2021-07-01T10:00", "2021-07-01T08:00:00Z"),
            ("2021-07-01", "2021-06-30T22:00:00Z"),
            ("2021-07-01T10:00:00Z", "2021-07-01T10:00:00Z"),
            ("2021-07-01T10:00:00+0100", "2021-07-01T09:00:00Z"),
            (" 2021-10-31T02:30:00 ", "2021-10-31T00:30:00Z"),
        ] {
            assert_eq!(paris.parse_str(text).unwrap(), t(want), "{text}");
        }
        assert_eq!(
            paris.parse_str("2021-03-28T02:30:00").unwrap_err().to_string(),
            "field 'time': '2021-03-28T02:30:00': 2021-03-28 02:30:00 does not exist in Europe/Paris: the clocks skip it (daylight saving change)"
        );
        // without a timezone, naive times stay UTC
        let utc = TimeParser::new(&TimeFormat::Iso8601, None).unwrap();
        assert_eq!(
            utc.parse_str("2021-01-01T10:00:00").unwrap(),
            t("2021-01-01T10:00:00Z")
        );
        // patterns: %z wins over %Z and over the timezone; %Z over the timezone
        let pat = |p: &str, tz: Option<&str>| {
            TimeParser::new(&TimeFormat::Pattern(p.into()), tz).unwrap()
        };
        let ny = Some("America/New_York");
        assert_eq!(
            pat("%d/%m/%Y %H:%M", ny)
                .parse_str("01/07/2021 10:00")
                .unwrap(),
            t("2021-07-01T14:00:00Z")
        );
        assert_eq!(
            pat("%d/%m/%Y %H:%M %Z", ny)
                .parse_str("01/07/2021 10:00 UTC")
                .unwrap(),
            t("2021-07-01T10:00:00Z")
        );
        assert_eq!(
            pat("%d/%m/%Y %H:%M %z (%Z)", None)
                .parse_str("01/07/2021 10:00 -0800 (PST)")
                .unwrap(),
            t("2021-07-01T18:00:00Z")
        );
        assert_eq!(
            pat("%Z %Y-%m-%d %H:%M", None)
                .parse_str("Asia/Tokyo 2021-07-01 09:00")
                .unwrap(),
            t("2021-07-01T00:00:00Z")
        );
        assert_eq!(
            pat("%Y-%m-%d %H:%M %Z", None).parse_str("2021-07-01 10:00 ").unwrap_err().to_string(),
            "field 'time': '2021-07-01 10:00' does not match format '%Y-%m-%d %H:%M %Z': no time zone name where %Z is"
        );
        // the slow public API honours zone names too
        assert_eq!(
            TimeFormat::Pattern("%Y-%m-%d %H:%M:%S %Z".into())
                .parse_str("2021-01-01 10:00:00 PST")
                .unwrap(),
            t("2021-01-01T18:00:00Z")
        );
    }

    #[test]
    fn time_parser_options_are_checked_when_built() {
        assert_eq!(
            TimeParser::new(&TimeFormat::Iso8601, Some("Europe/Pariss")).unwrap_err().to_string(),
            "configuration error: unknown timezone 'Europe/Pariss': use an IANA name such as Europe/Paris or America/New_York"
        );
        assert_eq!(
            TimeParser::new(&TimeFormat::Pattern("%Y %Q".into()), None).unwrap_err().to_string(),
            "configuration error: time format '%Y %Q' is not a valid strftime pattern: bad or unsupported format string"
        );
        assert_eq!(
            TimeParser::new(&TimeFormat::Pattern("%Z %Z".into()), None)
                .unwrap_err()
                .to_string(),
            "configuration error: time format '%Z %Z' has %Z more than once"
        );
    }
}
