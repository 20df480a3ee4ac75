package clamav

// DefaultFLevel is the functionality level of ClamAV 1.4, the engine glassav
// matches: database lines that need a newer engine are skipped.
const DefaultFLevel = 216

// Options control how databases are loaded.
type Options struct {
	// DetectPUA loads the PUA variants (.hdu .hsu .mdu .msu .ndu .ldu);
	// without it they are skipped, as clamscan does without --detect-pua.
	DetectPUA bool
	// Official says the signatures come from a signed container: their
	// names are kept as written. Other signatures are named with
	// ".UNOFFICIAL" appended, as clamscan reports them.
	Official bool
	// FLevel is the engine functionality level lines are checked against
	// (MinFL/MaxFL fields, ldb Engine ranges); 0 means DefaultFLevel.
	FLevel int
	// SkipYARA leaves .yar and .yara files to the caller (the engine
	// compiles them with package yara); without it they are counted and
	// skipped as an unsupported format.
	SkipYARA bool
}

// flevel returns the functionality level in effect.
func (o Options) flevel() int {
	if o.FLevel > 0 {
		return o.FLevel
	}
	return DefaultFLevel
}

// name returns a signature name as clamscan reports it under o.
func (o Options) name(n string) string {
	if o.Official {
		return n
	}
	return n + ".UNOFFICIAL"
}
