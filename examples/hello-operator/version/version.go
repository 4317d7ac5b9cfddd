// Package version holds the release version, stamped into the binary.
package version

// Version is the release this source tree is.
var Version = "v0.4.0"
