//! Views of test history: grid, flakes, alerts.
