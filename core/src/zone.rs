//! Exports hold the phone's wall-clock times without a zone (WhatsApp's
//! "Export chat", Telegram's before 2022): `--opt
//! timezone=Europe/Berlin` says which (IANA names, via chrono-tz), else
//! this machine's zone. Times the clocks skipped or repeated (DST) are
//! settled the same way everywhere and counted.

use crate::{Error, Result};
use chrono::{Local, NaiveDateTime, Offset, TimeZone};

#[derive(Debug, Clone, Copy)]
pub enum Zone {
    Local,
    Named(chrono_tz::Tz),
}

/// How a wall-clock time became a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Exact,
    /// Repeated when the clocks went back: the later one was taken, to keep
    /// the file's order.
    RepeatedLater,
    RepeatedEarlier,
    /// Skipped when the clocks went forward: read with the offset before.
    Skipped,
}

impl Zone {
    pub fn from_option(name: Option<&str>) -> Result<Zone> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => Ok(Zone::Local),
            Some(n) => n.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
                Error::usage(format!(
                    "timezone {n:?} is not an IANA time zone name; give one like Europe/Berlin, Asia/Shanghai or UTC"
                ))
            }),
        }
    }

    /// How the report names it.
    pub fn describe(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            // Named whether it comes from TZ (which the reading honours
            // first) or from the system's setting (/etc/localtime).
            Zone::Local => match std::env::var("TZ") {
                Ok(tz) if !tz.is_empty() => format!("this machine's time zone (TZ={tz})"),
                _ => match iana_time_zone::get_timezone() {
                    Ok(tz) if !tz.is_empty() => format!("this machine's time zone, {tz}"),
                    _ => "this machine's time zone".to_string(),
                },
            },
        }
    }

    /// UTC milliseconds of a wall-clock time; `after` is the previous
    /// message's moment (a repeated hour takes the reading that keeps order).
    pub fn to_utc(&self, t: NaiveDateTime, after: Option<i64>) -> (i64, Fit) {
        match self {
            Zone::Local => fit(&Local, t, after),
            Zone::Named(tz) => fit(tz, t, after),
        }
    }

    /// The wall-clock time of a UTC moment, for writing.
    pub fn local(&self, ms: i64) -> Option<NaiveDateTime> {
        let utc = chrono::DateTime::from_timestamp_millis(ms)?;
        Some(match self {
            Zone::Local => utc.with_timezone(&Local).naive_local(),
            Zone::Named(tz) => utc.with_timezone(tz).naive_local(),
        })
    }
}

fn fit<Z: TimeZone>(zone: &Z, t: NaiveDateTime, after: Option<i64>) -> (i64, Fit) {
    use chrono::LocalResult;
    match zone.from_local_datetime(&t) {
        LocalResult::Single(x) => (x.timestamp_millis(), Fit::Exact),
        LocalResult::Ambiguous(early, late) => {
            let (e, l) = (early.timestamp_millis(), late.timestamp_millis());
            // The later reading only when the message before falls in the
            // repeated hour's first pass (a file out of order keeps the first).
            if after.is_some_and(|a| a > e && a <= l) {
                (l, Fit::RepeatedLater)
            } else {
                (e, Fit::RepeatedEarlier)
            }
        }
        LocalResult::None => {
            // The offset in force an hour before the gap.
            let before = t - chrono::Duration::hours(3);
            let offset = zone.offset_from_local_datetime(&before).earliest().map(|o| o.fix().local_minus_utc());
            let secs = offset.unwrap_or(0) as i64;
            ((t.and_utc().timestamp() - secs) * 1000, Fit::Skipped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn dst_changes_are_settled_and_names_checked() {
        let berlin = Zone::from_option(Some("Europe/Berlin")).unwrap();
        let t = |d: u32, h: u32, m: u32| NaiveDate::from_ymd_opt(2024, 10, d).unwrap().and_hms_opt(h, m, 0).unwrap();
        assert_eq!(berlin.to_utc(t(1, 12, 0), None), (1_727_776_800_000, Fit::Exact));
        // 27 Oct 2024, 02:30 happened twice in Berlin.
        let (first, f1) = berlin.to_utc(t(27, 2, 30), None);
        assert_eq!(f1, Fit::RepeatedEarlier);
        let (second, f2) = berlin.to_utc(t(27, 2, 30), Some(first + 60_000));
        assert_eq!((second - first, f2), (3_600_000, Fit::RepeatedLater));
        // 31 Mar 2024, 02:30 never happened there.
        let gap = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(berlin.to_utc(gap, None), (1_711_848_600_000, Fit::Skipped));
        assert_eq!(berlin.local(1_727_776_800_000), Some(t(1, 12, 0)));
        assert!(Zone::from_option(Some("Mars/Olympus")).is_err());
    }
}
