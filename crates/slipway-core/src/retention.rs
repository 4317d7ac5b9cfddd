//! How much to keep: sizes (`10GiB`, `500MB`) and ages (`30d`, `2w`, `12h`) as retention
//! settings and flags write them.
//!
//! Sizes take the binary units people read in `du -h` (`K`, `KiB`, `M`, `MiB`, `G`, `GiB`, `T`,
//! `TiB`, all powers of 1024) and the decimal ones disk makers use (`KB`, `MB`, `GB`, `TB`, powers
//! of 1000); a bare number is bytes. Ages are one or more numbers with a unit: `s`, `m`, `h`,
//! `d` (24 hours) or `w` (7 days), like `30d` or `1d12h`.

use std::time::Duration;

/// A size for people, in the binary units `parse_size` reads: `812 B`, `4.2 KiB`, `31.0 MiB`.
pub fn format_size(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "sizes are shown to one decimal")]
    let value = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", value / 1024.0)
    } else if bytes < 1024 * 1024 * 1024 {
        format!("{:.1} MiB", value / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GiB", value / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Parses a size in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let number_end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let expected = || format!("`{text}` is not a size: expected a number and a unit, like 10GiB, 500MB or 1G");
    let number: f64 = number.parse().map_err(|_| expected())?;
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "k" | "KiB" => 1024.0,
        "M" | "MiB" => 1024.0 * 1024.0,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return Err(expected()),
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is larger than any size slipway can count"));
    }
    Ok(bytes.round() as u64)
}

/// Parses an age.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let expected = || format!("`{text}` is not an age: expected a number and a unit (s, m, h, d, w), like 30d or 12h");
    if trimmed.is_empty() {
        return Err(expected());
    }
    let mut rest = trimmed;
    let mut seconds: u64 = 0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_end = rest[number_end..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |end| number_end + end);
        let number: u64 = rest[..number_end].parse().map_err(|_| expected())?;
        let unit: u64 = match &rest[number_end..unit_end] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return Err(expected()),
        };
        seconds = number
            .checked_mul(unit)
            .and_then(|part| seconds.checked_add(part))
            .filter(|total| *total <= i64::MAX as u64 / 1_000)
            .ok_or_else(|| format!("`{text}` is longer than any age slipway can count"))?;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() {
        assert_eq!(parse_size("10GiB"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("10G"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5K"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 2 MiB "), Ok(2 * 1024 * 1024));
        for bad in ["", "GiB", "10 parsecs", "-1G", "1e400G", "99999999999999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("10 parsecs").expect_err("not a size").contains("like 10GiB"));
    }

    #[test]
    fn sizes_for_people_read_back() {
        assert_eq!(format_size(812), "812 B");
        assert_eq!(format_size(4300), "4.2 KiB");
        assert_eq!(format_size(31 * 1024 * 1024), "31.0 MiB");
        assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(parse_size(&format_size(31 * 1024 * 1024)), Ok(31 * 1024 * 1024));
    }

    #[test]
    fn ages_in_days_and_weeks() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5400)));
        for bad in ["", "30", "d", "3y", "1.5d", "-1d", "99999999999999999999w", "9999999999999999w"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
