//! The Boskos conformance checklist (`reference/boskos.md` section 5.2), item by item, against
//! a running server over HTTP, on SQLite and on PostgreSQL.

mod conformance;
mod harness;
mod sync;
