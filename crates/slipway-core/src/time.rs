//! Timestamps as OCI image configs and annotations write them (RFC 3339, UTC).
//!
//! Reproducible builds take their time from `SOURCE_DATE_EPOCH` or the commit, never the clock,
//! so formatting a Unix time is all slipway needs here.

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
///
/// Years outside 0..=9999 are clamped, so the text always has the fixed width that makes its
/// order the order of time.
pub fn rfc3339_utc(seconds: i64) -> String {
    const MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let seconds = seconds.clamp(MIN, MAX);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, (of_day % 3600) / 60, of_day % 60)
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(1_795_317_710), "2026-11-22T03:21:50Z");
        assert_eq!(rfc3339_utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339_utc(i64::MAX), "9999-12-31T23:59:59Z");
    }

    proptest! {
        #[test]
        fn text_order_is_time_order(a in -62_167_219_200i64..253_402_300_799, b in -62_167_219_200i64..253_402_300_799) {
            prop_assert_eq!(rfc3339_utc(a).cmp(&rfc3339_utc(b)), a.cmp(&b));
        }

        #[test]
        fn a_day_has_86400_seconds(days in -700_000i64..2_900_000) {
            let midnight = rfc3339_utc(days * 86_400);
            prop_assert!(midnight.ends_with("T00:00:00Z"), "{}", midnight);
            prop_assert!(rfc3339_utc(days * 86_400 + 86_399).ends_with("T23:59:59Z"));
            prop_assert_eq!(&rfc3339_utc(days * 86_400 + 86_399)[..10], &midnight[..10]);
        }
    }
}
