//! JUnit XML and Prow artifact directories, read into test results.
