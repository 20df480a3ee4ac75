package unpack

// Third-party parsers (7-Zip, RAR, OLE2 libraries) are fuzzed by their
// authors but not hardened against every malformed input: a panic inside
// one is corrupt input, not a crash of the scanner. The guard turns such
// a panic into a *FormatError while letting a panic from emit (the
// engine's code) through unchanged.

// emitPanic carries a panic raised by emit through the guard.
type emitPanic struct{ v any }

// guardEmit wraps emit so that a panic in it is marked as the caller's.
func guardEmit(emit func(Member) error) func(Member) error {
	return func(m Member) error {
		defer func() {
			if r := recover(); r != nil {
				panic(emitPanic{r})
			}
		}()
		return emit(m)
	}
}

// recoverLibrary is deferred by an Unpack that calls a library: it sets
// *err to a FormatError for a panic raised in the library and re-raises
// one raised by emit.
func recoverLibrary(format string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if ep, ok := r.(emitPanic); ok {
		panic(ep.v)
	}
	*err = Corrupt(format, -1, "malformed input crashed the parser: %v", r)
}
