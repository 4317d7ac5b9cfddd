//! Artifact storage and version markers.
