//go:build !unix

package update

// lock is a no-op where flock is not available; run one updater per
// state directory there.
func lock(name string) (unlock func(), err error) { return func() {}, nil }
