//! Instants as UTC milliseconds since the Unix epoch, and their SQL text form.
//!
//! The generator works in integer milliseconds (compact and exact); this module converts to and
//! from [`time::OffsetDateTime`] at the API edge and formats `YYYY-MM-DD HH:MM:SS.mmm` quickly
//! for bulk loading.

use std::fmt::Write as _;

use time::OffsetDateTime;

/// An instant: milliseconds since 1970-01-01 00:00:00 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcMillis(pub i64);

/// One second in milliseconds.
pub const SECOND: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE: i64 = 60 * SECOND;
/// One hour in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: i64 = 24 * HOUR;

impl UtcMillis {
    /// The instant of an [`OffsetDateTime`] (sub-millisecond precision is dropped).
    pub fn from_datetime(at: OffsetDateTime) -> UtcMillis {
        let nanos = at.unix_timestamp_nanos();
        UtcMillis((nanos.div_euclid(1_000_000)) as i64)
    }

    /// The same instant as an [`OffsetDateTime`] in UTC; `None` when out of range.
    pub fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).ok()
    }

    /// Adds a number of milliseconds.
    pub fn plus(self, millis: i64) -> UtcMillis {
        UtcMillis(self.0.saturating_add(millis))
    }

    /// The wall-clock text `YYYY-MM-DD HH:MM:SS.mmm` of this instant shifted by `offset_minutes`
    /// (0 = UTC), as stored in the reporting tables.
    pub fn sql_text(self, offset_minutes: i32) -> String {
        let mut out = String::with_capacity(23);
        self.write_sql_text(offset_minutes, &mut out);
        out
    }

    /// Appends [`UtcMillis::sql_text`] to `out` (no allocation; used for bulk loading).
    pub fn write_sql_text(self, offset_minutes: i32, out: &mut String) {
        let local = self.0 + i64::from(offset_minutes) * MINUTE;
        let days = local.div_euclid(DAY);
        let in_day = local.rem_euclid(DAY);
        let (y, m, d) = civil_from_days(days);
        let ms = in_day % 1000;
        let secs = in_day / 1000;
        let _ = write!(
            out,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of the week of a day number since the epoch: 0 = Monday … 6 = Sunday.
pub fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (days + 3).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_postgres_timestamp_3() {
        let at = time::macros::datetime!(2026-01-05 09:07:03.042 UTC);
        let ms = UtcMillis::from_datetime(at);
        assert_eq!(ms.sql_text(0), "2026-01-05 09:07:03.042");
        assert_eq!(ms.sql_text(-300), "2026-01-05 04:07:03.042");
        assert_eq!(ms.to_datetime(), Some(at));
    }

    #[test]
    fn formats_dates_before_the_epoch_and_leap_days() {
        let at = time::macros::datetime!(1969-12-31 23:59:59.999 UTC);
        assert_eq!(
            UtcMillis::from_datetime(at).sql_text(0),
            "1969-12-31 23:59:59.999"
        );
        let leap = time::macros::datetime!(2028-02-29 12:00 UTC);
        assert_eq!(
            UtcMillis::from_datetime(leap).sql_text(0),
            "2028-02-29 12:00:00.000"
        );
    }

    #[test]
    fn weekday_of_a_known_monday() {
        let monday = time::macros::datetime!(2026-01-05 00:00 UTC);
        let days = UtcMillis::from_datetime(monday).0 / DAY;
        assert_eq!(weekday(days), 0);
    }
}
