package main

import "runtime/debug"

// baseVersion is glassav's release version, printed as clamscan's
// "Engine version".
const baseVersion = "0.1.0-dev"

// version is the version to show: the module version when the binary was
// built from a tagged module (go install ...@v1.2.3), else baseVersion.
var version = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return baseVersion
}()
