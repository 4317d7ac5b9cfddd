//! Progress of long work, reported by library code and shown (or not) by the binary.

/// Progress of long work, for a terminal.
pub trait Progress: Sync {
    /// Work of `total` steps begins.
    fn begin(&self, total: u64, what: &str);
    /// One step is done.
    fn advance(&self, item: &str);
    /// The work is over.
    fn end(&self);
}

/// Progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn begin(&self, _total: u64, _what: &str) {}
    fn advance(&self, _item: &str) {}
    fn end(&self) {}
}
