//! ISO 8601 dates and instants as the export writes them, parsed without a clock.
//! An `Instant` keeps the text as written and a UTC sort key, so records order the same way
//! whatever offset the source system used.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parse `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i32 = s[0..4].parse().ok()?;
        let month: u8 = s[5..7].parse().ok()?;
        let day: u8 = s[8..10].parse().ok()?;
        if !s[0..4].bytes().all(|c| c.is_ascii_digit())
            || !s[5..7].bytes().all(|c| c.is_ascii_digit())
            || !s[8..10].bytes().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        days_from_civil(self.year as i64, self.month as i64, self.day as i64)
    }

    /// `DD/MM/YYYY`, the form UK case records use.
    pub fn uk(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`. Only the audit log reads the clock; outputs
/// take their date from the request.
pub fn now_utc() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let d = civil_from_days(days);
    format!("{}T{:02}:{:02}:{:02}Z", d.iso(), rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The date `days` after 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    Date { year: (if m <= 2 { y + 1 } else { y }) as i32, month: m as u8, day: d as u8 }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// An ISO 8601 date-time with offset, or a date only, as written in the export.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(pub String);

impl Instant {
    /// Seconds since the epoch in UTC; a date alone counts as its midnight UTC.
    /// `None` when the text is not ISO 8601.
    pub fn utc_seconds(&self) -> Option<i64> {
        parse_instant(&self.0)
    }

    /// The calendar date as written (before any offset is applied).
    pub fn date(&self) -> Option<Date> {
        self.0.get(0..10).and_then(Date::parse)
    }

    /// A readable form: `DD/MM/YYYY HH:MM` (or the date alone), in the time written.
    pub fn display(&self) -> String {
        match (self.date(), self.0.get(11..16)) {
            (Some(d), Some(t)) if self.0.len() > 10 => format!("{} {}", d.uk(), t),
            (Some(d), _) => d.uk(),
            _ => self.0.clone(),
        }
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Instant {
    fn cmp(&self, other: &Self) -> Ordering {
        self.utc_seconds()
            .unwrap_or(i64::MIN)
            .cmp(&other.utc_seconds().unwrap_or(i64::MIN))
            .then_with(|| self.0.cmp(&other.0))
    }
}

fn parse_instant(s: &str) -> Option<i64> {
    let date = Date::parse(s.get(0..10)?)?;
    let mut secs = date.days() * 86_400;
    if s.len() == 10 {
        return Some(secs);
    }
    let rest = &s[10..];
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let b = rest.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let num = |r: &str| -> Option<i64> {
        if r.len() == 2 && r.bytes().all(|c| c.is_ascii_digit()) {
            r.parse().ok()
        } else {
            None
        }
    };
    let h = num(&rest[0..2])?;
    let mi = num(&rest[3..5])?;
    let mut i = 5;
    let mut sec = 0;
    if b.len() >= 8 && b[5] == b':' {
        sec = num(&rest[6..8])?;
        i = 8;
        if b.len() > i && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == st {
                return None;
            }
        }
    }
    if h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + sec;
    let tz = &rest[i..];
    let off = match tz {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let t = &tz[1..];
            let (oh, om) = if t.len() == 5 && t.as_bytes()[2] == b':' {
                (num(&t[0..2])?, num(&t[3..5])?)
            } else if t.len() == 4 {
                (num(&t[0..2])?, num(&t[2..4])?)
            } else if t.len() == 2 {
                (num(t)?, 0)
            } else {
                return None;
            };
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(secs - off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_instants() {
        assert_eq!(Date::parse("2024-02-29").map(|d| d.day), Some(29));
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2024-13-01").is_none());
        assert!(Date::parse("24-01-01").is_none());
        let a = Instant("2024-01-09T01:40:00Z".into());
        let b = Instant("2024-01-09T02:40:00+01:00".into());
        assert_eq!(a.utc_seconds(), b.utc_seconds());
        assert_eq!(Instant("2024-01-09".into()).utc_seconds(), Some(19731 * 86400));
        assert!(Instant("2024-01-09T25:00".into()).utc_seconds().is_none());
        assert!(Instant("yesterday".into()).utc_seconds().is_none());
        assert_eq!(a.display(), "09/01/2024 01:40");
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(civil_from_days(d.days()), d);
        assert_eq!(now_utc().len(), 20);
    }
}
