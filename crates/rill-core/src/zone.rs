//! Time zones: the names a time string may carry (`%Z`) and the sources' `timezone` option.
//!
//! * An **abbreviation** from [`ABBREVIATIONS`] is a fixed offset (`PST` is UTC−8 whatever
//!   the date). Abbreviations that several regions use with different offsets
//!   ([`AMBIGUOUS`], e.g. `IST`) are errors; the US ones that RFC 5322 defines (`EST`, `CST`,
//!   `MST`, `PST` and their daylight forms) have that meaning.
//! * Anything else must be an **IANA name** (`America/New_York`, `Europe/Paris`, `UTC`), whose
//!   offset follows the zone's rules (daylight saving time) for the date in question.
//!
//! A local time in an IANA zone that occurs twice (clocks going back) is taken at its
//! **earlier** instant; one that does not exist (clocks going forward) is an error.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// A time zone: a fixed offset or an IANA zone with its daylight-saving rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset east of UTC, in seconds (`PST` = −28 800).
    Fixed(i32),
    /// An IANA zone (`Europe/Paris`).
    Iana(Tz),
}

/// Zone abbreviations read as fixed offsets (seconds east of UTC): UTC, the RFC 5322 US zones,
/// and abbreviations that have one meaning in common use.
pub const ABBREVIATIONS: &[(&str, i32)] = &[
    ("UTC", 0),
    ("UT", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 3_600),
    ("CET", 3_600),
    ("CEST", 7_200),
    ("MET", 3_600),
    ("MEST", 7_200),
    ("EET", 7_200),
    ("EEST", 10_800),
    ("MSK", 10_800),
    ("WAT", 3_600),
    ("CAT", 7_200),
    ("EAT", 10_800),
    ("SAST", 7_200),
    ("PKT", 18_000),
    ("HKT", 28_800),
    ("AWST", 28_800),
    ("JST", 32_400),
    ("KST", 32_400),
    ("ACST", 34_200),
    ("ACDT", 37_800),
    ("AEST", 36_000),
    ("AEDT", 39_600),
    ("NZST", 43_200),
    ("NZDT", 46_800),
    ("NST", -12_600),
    ("NDT", -9_000),
    ("ADT", -10_800),
    ("EST", -18_000),
    ("EDT", -14_400),
    ("CST", -21_600),
    ("CDT", -18_000),
    ("MST", -25_200),
    ("MDT", -21_600),
    ("PST", -28_800),
    ("PDT", -25_200),
    ("AKST", -32_400),
    ("AKDT", -28_800),
    ("HST", -36_000),
];

/// Abbreviations with several common meanings, refused with the meanings they may have.
pub const AMBIGUOUS: &[(&str, &str)] = &[
    ("IST", "India +05:30, Ireland +01:00, Israel +02:00"),
    ("BST", "British Summer Time +01:00, Bangladesh +06:00"),
    ("AST", "Atlantic -04:00, Arabia +03:00"),
    ("SST", "Samoa -11:00, Singapore +08:00"),
    ("GST", "Gulf +04:00, South Georgia -02:00"),
    ("ECT", "Ecuador -05:00, Eastern Caribbean -04:00"),
];

impl Zone {
    /// The IANA zone `name` (the `timezone` option). `Err` is the reason.
    ///
    /// ```
    /// use rill_core::Zone;
    /// assert!(Zone::iana("Europe/Paris").is_ok());
    /// assert!(Zone::iana("PST").is_err()); // an abbreviation, not an IANA name
    /// ```
    pub fn iana(name: &str) -> Result<Zone, String> {
        name.parse::<Tz>().map(Zone::Iana).map_err(|_| {
            format!("unknown timezone '{name}': use an IANA name such as Europe/Paris or America/New_York")
        })
    }

    /// The zone a time string names: an abbreviation from [`ABBREVIATIONS`], else an IANA
    /// name. `Err` is the reason (unknown, or an ambiguous abbreviation).
    pub fn from_name(name: &str) -> Result<Zone, String> {
        if let Some((_, off)) = ABBREVIATIONS.iter().find(|(n, _)| *n == name) {
            return Ok(Zone::Fixed(*off));
        }
        if let Some((_, meanings)) = AMBIGUOUS.iter().find(|(n, _)| *n == name) {
            return Err(format!(
                "time zone abbreviation '{name}' is ambiguous ({meanings}): write an offset (%z) or an IANA name"
            ));
        }
        name.parse::<Tz>().map(Zone::Iana).map_err(|_| {
            format!("unknown time zone '{name}' (use an abbreviation such as UTC, PST or CET, or an IANA name such as America/Los_Angeles)")
        })
    }

    /// The instant (epoch nanoseconds) of a wall-clock time in this zone, the wall-clock time
    /// given as the epoch nanoseconds it would be in UTC. A time that occurs twice is taken at
    /// the earlier instant; `Err` (the reason) for one the clocks skip, or out of range.
    pub fn to_utc(self, local: i64) -> Result<i64, String> {
        let offset = match self {
            Zone::Fixed(off) => off,
            Zone::Iana(tz) => {
                let naive = DateTime::from_timestamp_nanos(local).naive_utc();
                match tz.offset_from_local_datetime(&naive) {
                    chrono::LocalResult::Single(o) => o.fix().local_minus_utc(),
                    // the earlier instant has the larger offset
                    chrono::LocalResult::Ambiguous(a, b) => {
                        a.fix().local_minus_utc().max(b.fix().local_minus_utc())
                    }
                    chrono::LocalResult::None => {
                        return Err(format!(
                            "{} does not exist in {}: the clocks skip it (daylight saving change)",
                            naive.format("%Y-%m-%d %H:%M:%S%.f"),
                            tz.name()
                        ))
                    }
                }
            }
        };
        local
            .checked_sub(i64::from(offset) * 1_000_000_000)
            .ok_or_else(|| "is out of the supported range (1678..2262)".to_string())
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Fixed(off) => write!(
                f,
                "{}{:02}:{:02}",
                if *off < 0 { '-' } else { '+' },
                off.abs() / 3600,
                off.abs() % 3600 / 60
            ),
            Zone::Iana(tz) => f.write_str(tz.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> i64 {
        crate::Timestamp::parse_iso(s).unwrap().nanos()
    }

    #[test]
    fn every_abbreviation_is_distinct_and_a_whole_quarter_hour() {
        for (i, (n, off)) in ABBREVIATIONS.iter().enumerate() {
            assert!(off % 900 == 0 && off.abs() <= 14 * 3600, "{n}");
            assert!(ABBREVIATIONS[..i].iter().all(|(m, _)| m != n), "{n} twice");
            assert!(AMBIGUOUS.iter().all(|(m, _)| m != n), "{n} also ambiguous");
        }
        assert_eq!(Zone::from_name("PST"), Ok(Zone::Fixed(-8 * 3600)));
        assert_eq!(Zone::from_name("ACST").unwrap().to_string(), "+09:30");
        assert_eq!(Zone::from_name("NST").unwrap().to_string(), "-03:30");
        // an abbreviation wins over the IANA zone of the same name (IANA "CET" has summer time)
        assert_eq!(Zone::from_name("CET"), Ok(Zone::Fixed(3600)));
        assert_eq!(Zone::iana("CET"), Ok(Zone::Iana(Tz::CET)));
    }

    #[test]
    fn iana_zones_follow_daylight_saving_and_the_earlier_rule() {
        let paris = Zone::iana("Europe/Paris").unwrap();
        assert_eq!(
            paris.to_utc(local("2021-01-01T10:00:00")),
            Ok(local("2021-01-01T09:00:00"))
        );
        assert_eq!(
            paris.to_utc(local("2021-07-01T10:00:00")),
            Ok(local("2021-07-01T08:00:00"))
        );
        // 02:30 happens twice on 2021-10-31 (CEST, then CET): the earlier instant
        assert_eq!(
            paris.to_utc(local("2021-10-31T02:30:00")),
            Ok(local("2021-10-31T00:30:00"))
        );
        assert_eq!(
            paris.to_utc(local("2021-03-28T02:30:00.5")),
            Err("2021-03-28 02:30:00.500 does not exist in Europe/Paris: the clocks skip it (daylight saving change)".into())
        );
        assert_eq!(
            Zone::iana("Europe/Pariss"),
            Err("unknown timezone 'Europe/Pariss': use an IANA name such as Europe/Paris or America/New_York".into())
        );
    }
}
