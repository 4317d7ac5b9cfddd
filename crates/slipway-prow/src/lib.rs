//! Prow job configuration: read, lint, import.
