//! The one timestamp format: `YYYY-MM-DD HH:MM:SS` with an optional `.f`, `.ff` or `.fff`
//! fraction, always UTC (Informix `datetime year to fraction(3)` as `db_cra` stores it, in GMT).
//!
//! Parsing is a fixed-position byte scan plus the days-from-civil formula: no allocation, no
//! time-zone database, no locale.

use crate::leg::UtcMillis;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + u32::from(d);
    }
    Some(value)
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f{1,3}]` (UTC). `None` for anything else, including impossible
/// dates (2023-02-29) and second 60.
pub fn parse(b: &[u8]) -> Option<UtcMillis> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = i64::from(digits(&b[11..13])?);
    let minute = i64::from(digits(&b[14..16])?);
    let second = i64::from(digits(&b[17..19])?);
    let millis = match b.len() {
        19 => 0,
        21..=23 if b[19] == b'.' => {
            let frac = i64::from(digits(&b[20..])?);
            match b.len() {
                21 => frac * 100,
                22 => frac * 10,
                _ => frac,
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let ms = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
    Some(UtcMillis(ms))
}

/// Formats as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), the input format.
pub fn format_millis(t: UtcMillis) -> String {
    let mut s = format_seconds(t);
    s.push_str(&format!(".{:03}", t.0.rem_euclid(1000)));
    s
}

/// Formats as `YYYY-MM-DD HH:MM:SS` (UTC), dropping milliseconds (interval starts have none).
pub fn format_seconds(t: UtcMillis) -> String {
    let days = t.0.div_euclid(MS_PER_DAY);
    let in_day = t.0.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_epoch_and_fractions() {
        assert_eq!(parse(b"1970-01-01 00:00:00"), Some(UtcMillis(0)));
        assert_eq!(parse(b"1970-01-01 00:00:00.5"), Some(UtcMillis(500)));
        assert_eq!(parse(b"1970-01-01 00:00:00.05"), Some(UtcMillis(50)));
        assert_eq!(parse(b"1970-01-01 00:00:01.005"), Some(UtcMillis(1005)));
        assert_eq!(
            parse(b"2024-02-29 23:59:59.999"),
            Some(UtcMillis(1_709_251_199_999))
        );
    }

    #[test]
    fn rejects_malformed_and_impossible_timestamps() {
        for bad in [
            &b""[..],
            b"2023-02-29 00:00:00",
            b"2024-13-01 00:00:00",
            b"2024-01-01 24:00:00",
            b"2024-01-01 00:60:00",
            b"2024-01-01 00:00:60",
            b"2024-01-01T00:00:00",
            b"2024-01-01 00:00:00.",
            b"2024-01-01 00:00:00.1234",
            b"2024-01-01 00:00:0a",
            b"2024-1-01 00:00:00",
            b"-024-01-01 00:00:00",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn parse_agrees_with_the_time_crate(ms in 0i64..253_402_300_799_999) {
            let odt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
            let text = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
                odt.year(), u8::from(odt.month()), odt.day(), odt.hour(), odt.minute(), odt.second(), odt.millisecond()
            );
            prop_assert_eq!(parse(text.as_bytes()), Some(UtcMillis(ms)));
            prop_assert_eq!(format_millis(UtcMillis(ms)), text);
        }
    }
}
