// Package buildinfo reports the versions a result must carry: the Go
// toolchain, commitbench itself, and the modules that measured it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Module returns the version of the named module linked into this binary,
// or "unknown".
func Module(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range bi.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return "unknown"
}

// Commitbench returns the version of the main module, or its VCS revision
// when built from a checkout.
func Commitbench() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return "devel"
}

// Go returns the Go version the binary was built with.
func Go() string { return runtime.Version() }
