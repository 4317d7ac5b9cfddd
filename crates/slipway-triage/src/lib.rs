//! Failure clustering, compatible with Triage.
