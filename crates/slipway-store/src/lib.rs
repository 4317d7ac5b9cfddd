//! The SQL store.
