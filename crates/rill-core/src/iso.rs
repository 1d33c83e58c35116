//! A fast parser for the common RFC 3339 shape, `YYYY-MM-DD[T ]HH:MM:SS[.f…][Z|±HH:MM]`:
//! event files carry one timestamp per record, and chrono's general parser costs several times
//! more. Anything else returns `None` and goes to the general parser.

/// Days from 1970-01-01 to the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn num(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64)
    })
}

/// Epoch nanoseconds, or `None` when the text is not in the fast shape (or out of range).
#[cfg(test)]
pub(crate) fn parse_fast(s: &[u8]) -> Option<i64> {
    parse_fast_parts(s).map(|(n, _)| n)
}

/// Like `parse_fast`, also saying whether the text had an offset (`Z` or `±HH:MM`): without
/// one the nanoseconds are the wall-clock time read as UTC, for a source's `timezone` to place.
#[inline]
pub(crate) fn parse_fast_parts(s: &[u8]) -> Option<(i64, bool)> {
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || !(s[10] == b'T' || s[10] == b' ')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (h, mi, se) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0i64;
    if let Some((b'.', r)) = rest.split_first() {
        let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = num(&r[..n])? * 10i64.pow(9 - n as u32);
        rest = &r[n..];
    }
    let has_offset = !rest.is_empty();
    let offset = match rest {
        [] => 0,
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let (oh, om) = (num(&[*oh1, *oh2])?, num(&[*om1, *om2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    let nanos = secs.checked_mul(1_000_000_000)?.checked_add(frac)?;
    Some((nanos, has_offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast path agrees with chrono on every instant it accepts, in every offset form.
        #[test]
        fn agrees_with_chrono(secs in -2_000_000_000i64..4_000_000_000i64, nanos in 0u32..1_000_000_000, off_min in -720i32..=840, form in 0usize..4) {
            use chrono::{FixedOffset, SecondsFormat, TimeZone};
            let off = FixedOffset::east_opt(off_min * 60).unwrap();
            let dt = off.timestamp_opt(secs, nanos).unwrap();
            let text = match form {
                0 => dt.to_rfc3339_opts(SecondsFormat::Nanos, false),
                1 => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
                2 => dt.to_rfc3339_opts(SecondsFormat::Secs, false).replacen('T', " ", 1),
                _ => dt.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            };
            let want = chrono::DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1))
                .map(|d| d.timestamp_nanos_opt().unwrap())
                .unwrap_or_else(|_| chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").unwrap().and_utc().timestamp_nanos_opt().unwrap());
            prop_assert_eq!(parse_fast(text.as_bytes()), Some(want), "{}", text);
        }
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        for bad in [
            "2020-02-30T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01T00:00:00.Z",
            "2020-01-01",
            "x020-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_fast(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(
            parse_fast(b"2020-07-21T21:40:00+00:00"),
            Some(1_595_367_600_000_000_000)
        );
        assert_eq!(
            parse_fast(b"2020-07-21T23:40:00.5+02:00"),
            Some(1_595_367_600_500_000_000)
        );
        assert_eq!(
            parse_fast(b"2024-02-29 00:00:00"),
            Some(1_709_164_800_000_000_000)
        );
    }
}
