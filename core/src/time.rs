//! Time conversions every adapter needs. The model keeps UTC milliseconds
//! since the Unix epoch; stores use seconds, milliseconds or Apple's epoch.

/// Seconds from 1970-01-01 to 2001-01-01, Apple's reference date.
pub const APPLE_EPOCH_OFFSET_S: i64 = 978_307_200;

/// The earliest and latest time chatferry writes: 0001-01-01 and
/// 9999-12-31T23:59:59.999 UTC. Every store's own form (Apple seconds, Unix
/// seconds or milliseconds, text) holds these without overflow; a message
/// outside them (a damaged or crafted row) is not written and is counted.
pub const EARLIEST_MS: i64 = -62_135_596_800_000;
pub const LATEST_MS: i64 = 253_402_300_799_999;

/// Whether `ms` is within `EARLIEST_MS..=LATEST_MS`.
pub fn in_range(ms: i64) -> bool {
    (EARLIEST_MS..=LATEST_MS).contains(&ms)
}

/// Apple reference-date seconds (Core Data REAL, may be fractional and
/// negative for dates before 2001) to Unix milliseconds, rounded to the
/// nearest millisecond.
pub fn apple_seconds_to_unix_ms(seconds: f64) -> i64 {
    ((seconds + APPLE_EPOCH_OFFSET_S as f64) * 1000.0).round() as i64
}

/// Unix milliseconds to Apple reference-date seconds (saturating: the
/// pipeline keeps times out of range from exporters anyway).
pub fn unix_ms_to_apple_seconds(ms: i64) -> f64 {
    ms.saturating_sub(APPLE_EPOCH_OFFSET_S * 1000) as f64 / 1000.0
}

/// Unix seconds to milliseconds, saturating instead of overflowing.
pub fn unix_seconds_to_ms(seconds: i64) -> i64 {
    seconds.saturating_mul(1000)
}

/// Unix milliseconds to whole seconds, rounding toward negative infinity so
/// a time before 1970 stays before its second.
pub fn unix_ms_to_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// `2024-03-31T01:59:59.123Z`, or the raw number if it is out of range.
pub fn format_utc(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else { return format!("{ms} ms") };
    if !(0..=9999).contains(&t.year()) {
        // chrono writes these years with a sign and more digits.
        return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    // Written digit by digit: exporters format a time for every message,
    // and chrono's format-string interpreter cost more than the rest of it.
    let mut out = String::with_capacity(24);
    let mut put = |n: u32, width: u32, after: char| {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
        }
        out.push(after);
    };
    put(t.year() as u32, 4, '-');
    put(t.month(), 2, '-');
    put(t.day(), 2, 'T');
    put(t.hour(), 2, ':');
    put(t.minute(), 2, ':');
    put(t.second(), 2, '.');
    put(t.timestamp_subsec_millis(), 3, 'Z');
    out
}

/// UTC time formatted with a chrono format string (`%G%V` → `202443`).
pub fn format_utc_with(ms: i64, format: &str) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format(format).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_is_chronos_for_every_kind_of_time() {
        let chrono_text = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        };
        let mut times = vec![
            0,
            -1,
            -86_400_000,         // 1969-12-31
            631_152_000_000,     // 1990-01-01
            978_307_200_000,     // 2001-01-01
            1_711_846_799_123,   // 2024-03-31 00:59:59.123, the EU's clock change
            951_782_400_000,     // 2000-02-29
            2_147_483_648_000,   // after the 32-bit limit in 2038
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // year 10000: chrono's own form
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // year -1
        ];
        // And a spread over the whole range, odd milliseconds included.
        times.extend((0..2000).map(|i: i64| -62_000_000_000_000 + i * 157_680_000_123 + i % 1000));
        for ms in times {
            assert_eq!(Some(format_utc(ms)), chrono_text(ms), "{ms}");
        }
        assert_eq!(format_utc(1_711_846_799_123), "2024-03-31T00:59:59.123Z");
        assert_eq!(format_utc(i64::MAX), format!("{} ms", i64::MAX));
    }

    #[test]
    fn apple_epoch_round_trips_before_2001_and_after_2038() {
        for ms in [
            -86_400_000_i64,   // 1969-12-31
            631_152_000_000,   // 1990-01-01, before Apple's epoch
            978_307_200_000,   // 2001-01-01 exactly
            1_711_846_799_123, // 2024-03-31 00:59:59.123 UTC, the night clocks changed in the EU
            2_147_483_648_000, // one second after the 32-bit Unix limit in 2038
            4_102_444_800_000, // 2100-01-01
        ] {
            let apple = unix_ms_to_apple_seconds(ms);
            assert_eq!(apple_seconds_to_unix_ms(apple), ms, "{ms}");
        }
        assert_eq!(unix_ms_to_apple_seconds(631_152_000_000), -347_155_200.0);
    }

    #[test]
    fn fractional_apple_seconds_round_to_nearest_ms() {
        assert_eq!(apple_seconds_to_unix_ms(0.0004), 978_307_200_000);
        assert_eq!(apple_seconds_to_unix_ms(0.0006), 978_307_200_001);
        assert_eq!(apple_seconds_to_unix_ms(-0.0006), 978_307_199_999);
    }

    #[test]
    fn the_extremes_neither_wrap_nor_panic() {
        assert!(unix_ms_to_apple_seconds(i64::MIN) < -9.0e15);
        assert!(unix_ms_to_apple_seconds(i64::MAX) > 9.0e15);
        assert_eq!(apple_seconds_to_unix_ms(f64::NAN), 0);
        assert_eq!(apple_seconds_to_unix_ms(1e300), i64::MAX);
        assert!(in_range(0) && in_range(EARLIEST_MS) && in_range(LATEST_MS));
        assert!(!in_range(i64::MIN) && !in_range(EARLIEST_MS - 1) && !in_range(LATEST_MS + 1));
        assert_eq!(format_utc(EARLIEST_MS), "0001-01-01T00:00:00.000Z");
        assert_eq!(format_utc(LATEST_MS), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn seconds_floor_toward_the_past() {
        assert_eq!(unix_ms_to_seconds(-1), -1);
        assert_eq!(unix_ms_to_seconds(1999), 1);
        assert_eq!(unix_seconds_to_ms(i64::MAX), i64::MAX);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(2_147_483_648_000), "2038-01-19T03:14:08.000Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_utc_with(1_729_989_000_000, "%G%V").as_deref(), Some("202443"));
    }
}
