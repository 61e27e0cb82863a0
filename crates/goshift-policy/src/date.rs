//! Calendar dates (`YYYY-MM-DD`) for `since` and for "today" in evaluations.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// A day of the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, refusing days that do not exist (`2023-02-29`).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        let month = u8::try_from(number(5..7)?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        (1..=12).contains(&month).then_some(())?;
        (day >= 1 && day <= days_in_month(year, month)).then_some(Self { year, month, day })
    }

    /// The date (UTC) of a moment. humantime formats the years 1970 to 9999 only; a clock
    /// outside them reads as the nearest end.
    pub fn from_system_time(time: SystemTime) -> Self {
        let last = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        let text = humantime::format_rfc3339_seconds(time.clamp(UNIX_EPOCH, last)).to_string();
        // humantime writes `YYYY-MM-DDTHH:MM:SSZ` for every moment in that range.
        text.get(..10).and_then(Self::parse).unwrap_or(Self {
            year: 1970,
            month: 1,
            day: 1,
        })
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_days_only() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "2024-1-01",
            "2024-01-+1",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn system_times() {
        let at = |seconds| Date::from_system_time(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0).to_string(), "1970-01-01");
        assert_eq!(at(19_782 * 86_400).to_string(), "2024-02-29");
        assert_eq!(at(1_700_000_000).to_string(), "2023-11-14");
        let before = UNIX_EPOCH - Duration::from_hours(24);
        assert_eq!(Date::from_system_time(before).to_string(), "1970-01-01");
    }
}
