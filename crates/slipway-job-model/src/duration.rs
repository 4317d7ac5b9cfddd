//! Go duration strings (`90m`, `2h`, `1h30m0s`, `500ms`), as Prow and slipway.yaml write them.

use std::time::Duration;

/// The longest duration Go can hold (an int64 of nanoseconds, about 292 years): anything longer
/// is not a duration Prow could have meant, and would overflow.
pub const MAX: Duration = Duration::new(9_223_372_036, 854_775_807);

/// Parses a Go duration. Negative durations, a bare number other than `0`, and durations longer
/// than Go's maximum (about 292 years) are errors.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    if trimmed.is_empty() {
        return Err("expected a duration such as 90m, 2h or 1h30m".to_owned());
    }
    let mut rest = trimmed;
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_end == 0 {
            return Err(format!(
                "`{text}` is not a duration: expected a number before `{rest}` (like 90m, 2h or 1h30m)"
            ));
        }
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: `{}` is not a number", &rest[..number_end]))?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("`{text}` is not a duration: a unit (s, m, h) is missing after {number}")),
            unit => {
                return Err(format!("`{text}` is not a duration: unknown unit `{unit}` (use ns, us, ms, s, m or h)"));
            }
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > MAX.as_secs_f64() {
        return Err(format!("`{text}` is longer than the longest duration Go (and Prow) can hold, about 292 years"));
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("`{text}` is not a duration slipway can hold"))
}

/// Writes a duration the way Go prints it (`1h30m0s`, `15s`, `0s`).
pub fn format(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, secs) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    let millis = duration.subsec_millis();
    let fraction = if millis > 0 { format!(".{millis:03}").trim_end_matches('0').to_owned() } else { String::new() };
    if hours > 0 {
        format!("{hours}h{minutes}m{secs}{fraction}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs}{fraction}s")
    } else {
        format!("{secs}{fraction}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1h30m0s"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("4h30m"), Ok(Duration::from_secs(16200)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert!(parse("10").expect_err("no unit").contains("unit"));
        assert!(parse("ten minutes").is_err());
        assert!(parse("5d").expect_err("days").contains("unknown unit `d`"));
        assert!(parse("-5m").is_err());
        let huge = parse("99999999999999999h").expect_err("too long");
        assert!(huge.contains("292 years"), "{huge}");
        assert!(parse(&format!("{}h", "9".repeat(400))).is_err(), "infinite as a float");
        assert_eq!(parse("2562047h"), Ok(Duration::from_secs(2_562_047 * 3600)), "just under Go's maximum");
        assert!(parse("2562048h").is_err());
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(format(Duration::from_secs(15)), "15s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
