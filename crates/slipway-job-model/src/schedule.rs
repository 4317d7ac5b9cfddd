//! When a job runs: cron in a real time zone, or an interval after the previous run.
//!
//! Cron is evaluated in the job's IANA time zone with jiff's rules for gaps and folds: a 02:30
//! job on a spring-forward day runs once, at the first valid instant after the gap (03:00), and a
//! 01:30 job on a fall-back day runs once, at the first 01:30. Everything here is pure: the
//! scheduler passes "now" in, so tests can walk a clock through the daylight-saving days.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use croner::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A job's schedule.
#[derive(Clone)]
pub enum Schedule {
    /// A cron expression read in a time zone.
    Cron { expression: String, cron: Box<Cron>, zone: TimeZone },
    /// Start this long after the previous run started (Prow `interval`).
    Interval(Duration),
    /// Start this long after the previous run finished (Prow `minimum_interval`).
    MinimumInterval(Duration),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.describe())
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

/// What the scheduler knows about a job's previous run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Previous {
    /// When the previous run was due (cron: its tick) or started (intervals).
    pub started: Option<Timestamp>,
    /// When it finished, if it has.
    pub finished: Option<Timestamp>,
}

impl Schedule {
    /// Parses a cron expression (five fields, six with leading seconds, or `@daily`, `@hourly`
    /// and friends) in the IANA time zone `zone` (`None` = UTC).
    pub fn cron(expression: &str, zone: Option<&str>) -> Result<Schedule, String> {
        let trimmed = expression.trim();
        if let Some(prefix) = ["TZ=", "CRON_TZ="].iter().find(|prefix| trimmed.starts_with(**prefix)) {
            return Err(format!(
                "`{prefix}` in a cron expression is not supported; write the time zone in `timezone:` instead"
            ));
        }
        if trimmed.starts_with("@every") {
            return Err("`@every` is an interval; write it as `interval:` instead".to_owned());
        }
        let cron = Cron::from_str(trimmed).map_err(|error| format!("invalid cron expression `{trimmed}`: {error}"))?;
        let zone = match zone {
            None => TimeZone::UTC,
            Some(name) => TimeZone::get(name).map_err(|_| {
                format!("unknown time zone `{name}`: use an IANA name such as America/New_York or Europe/Berlin")
            })?,
        };
        Ok(Schedule::Cron { expression: trimmed.to_owned(), cron: Box::new(cron), zone })
    }

    /// A human description: `cron "30 20 * * *" in America/New_York`, `every 1h0m0s`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron { expression, zone, .. } => {
                format!("cron \"{expression}\" in {}", zone.iana_name().unwrap_or("UTC"))
            }
            Schedule::Interval(every) => format!("every {}", crate::duration::format(*every)),
            Schedule::MinimumInterval(gap) => {
                format!("{} after the previous run finished", crate::duration::format(*gap))
            }
        }
    }

    /// The first instant strictly after `after` at which the cron expression fires.
    pub fn next_cron_after(&self, after: Timestamp) -> Option<Timestamp> {
        let Schedule::Cron { cron, zone, .. } = self else {
            return None;
        };
        let zoned = after.to_zoned(zone.clone());
        cron.find_next_occurrence(&zoned, false).ok().map(|next| next.timestamp())
    }

    /// When the next run is due, given the previous one. `None` means "not until the previous
    /// run finishes" (a minimum interval with a run still going).
    ///
    /// A job that never ran: a cron job is due at its next tick after `now`; an interval job is
    /// due now, as Prow starts a periodic with no history at once.
    pub fn next_due(&self, previous: Previous, now: Timestamp) -> Option<Timestamp> {
        match self {
            // A tick missed while nothing was running (the scheduler was down) is still due.
            Schedule::Cron { .. } => self.next_cron_after(previous.started.unwrap_or(now)),
            Schedule::Interval(every) => match previous.started {
                None => Some(now),
                Some(started) => Some(add(started, *every)),
            },
            Schedule::MinimumInterval(gap) => match (previous.started, previous.finished) {
                (None, _) => Some(now),
                (Some(_), None) => None,
                (Some(_), Some(finished)) => Some(add(finished, *gap)),
            },
        }
    }
}

fn add(at: Timestamp, duration: Duration) -> Timestamp {
    let signed = jiff::SignedDuration::try_from(duration).unwrap_or(jiff::SignedDuration::MAX);
    at.checked_add(signed).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn ticks(schedule: &Schedule, from: &str, until: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = at(from);
        while let Some(next) = schedule.next_cron_after(cursor) {
            if next > at(until) {
                break;
            }
            out.push(next.to_zoned(TimeZone::get("America/New_York").expect("zone")).to_string());
            cursor = next;
        }
        out
    }

    #[test]
    fn spring_forward_runs_a_0230_job_once() {
        let schedule = Schedule::cron("30 2 * * *", Some("America/New_York")).expect("valid");
        let runs = ticks(&schedule, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z");
        assert_eq!(
            runs,
            [
                "2026-03-07T02:30:00-05:00[America/New_York]",
                "2026-03-08T03:00:00-04:00[America/New_York]",
                "2026-03-09T02:30:00-04:00[America/New_York]",
            ]
        );
    }

    #[test]
    fn fall_back_runs_a_0130_job_once() {
        let schedule = Schedule::cron("30 1 * * *", Some("America/New_York")).expect("valid");
        let runs = ticks(&schedule, "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z");
        assert_eq!(
            runs,
            [
                "2026-10-31T01:30:00-04:00[America/New_York]",
                "2026-11-01T01:30:00-04:00[America/New_York]",
                "2026-11-02T01:30:00-05:00[America/New_York]",
            ]
        );
    }

    #[test]
    fn evening_job_in_eastern_time_follows_daylight_saving() {
        let schedule = Schedule::cron("30 20 * * *", Some("America/New_York")).expect("valid");
        assert_eq!(schedule.next_cron_after(at("2026-07-01T12:00:00Z")), Some(at("2026-07-02T00:30:00Z")));
        assert_eq!(schedule.next_cron_after(at("2026-12-01T12:00:00Z")), Some(at("2026-12-02T01:30:00Z")));
    }

    #[test]
    fn bad_expressions_say_why() {
        let error = Schedule::cron("TZ=Europe/Berlin 0 5 * * *", None).expect_err("prefix");
        assert!(error.contains("`TZ=`") && error.contains("timezone:"), "{error}");
        assert!(Schedule::cron("61 * * * *", None).is_err());
        assert!(Schedule::cron("@every 1h", None).expect_err("every").contains("interval"));
        let error = Schedule::cron("0 5 * * *", Some("Mars/Olympus")).expect_err("zone");
        assert!(error.contains("unknown time zone `Mars/Olympus`"), "{error}");
        assert!(Schedule::cron("@daily", Some("Europe/Berlin")).is_ok());
    }

    #[test]
    fn intervals_count_from_the_previous_start_or_finish() {
        let hour = Duration::from_secs(3600);
        let now = at("2026-11-22T10:00:00Z");
        assert_eq!(Schedule::Interval(hour).next_due(Previous::default(), now), Some(now));
        let previous = Previous { started: Some(at("2026-11-22T09:30:00Z")), finished: None };
        assert_eq!(Schedule::Interval(hour).next_due(previous, now), Some(at("2026-11-22T10:30:00Z")));
        assert_eq!(Schedule::MinimumInterval(hour).next_due(previous, now), None);
        let finished = Previous { finished: Some(at("2026-11-22T09:45:00Z")), ..previous };
        assert_eq!(Schedule::MinimumInterval(hour).next_due(finished, now), Some(at("2026-11-22T10:45:00Z")));
    }
}
