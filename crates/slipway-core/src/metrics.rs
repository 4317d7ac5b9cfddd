//! Prometheus's text exposition format: histograms and label escaping, shared by slipway's
//! servers.

use std::fmt::Write;

/// Buckets for request durations, fine enough to see milliseconds (seconds).
pub const REQUEST_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0];

/// A histogram's counts (cumulative buckets, as Prometheus writes them).
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Counts `value` into the buckets bounded by `bounds`.
    pub fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        for (bucket, bound) in self.buckets.iter_mut().zip(bounds) {
            if value <= *bound {
                *bucket += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    /// Writes the histogram's lines: `labels` are already `name="value"` pairs, escaped.
    pub fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let separator = if labels.is_empty() { "" } else { "," };
        for (count, bound) in self.buckets.iter().zip(bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// A label value escaped as the exposition format requires.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_labels_escaped() {
        let mut histogram = Histogram::default();
        for value in [0.0004, 0.003, 2.0, 9.0] {
            histogram.observe(&REQUEST_BUCKETS, value);
        }
        let mut out = String::new();
        histogram.write(&mut out, "h", &format!("path=\"{}\"", escape("/a\"b")), &REQUEST_BUCKETS);
        assert!(out.contains("h_bucket{path=\"/a\\\"b\",le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{path=\"/a\\\"b\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{path=\"/a\\\"b\",le=\"5\"} 3\n"), "{out}");
        assert!(out.contains("h_bucket{path=\"/a\\\"b\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("h_count{path=\"/a\\\"b\"} 4\n"), "{out}");
    }
}
