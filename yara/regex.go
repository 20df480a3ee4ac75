package yara

// Regex is a compiled YARA regular expression used outside string
// patterns: the right operand of `matches` and regular-expression
// arguments of module functions. It works on raw bytes.
type Regex struct {
	// filled by the regex helper
}

// CompileRegex compiles src (the text between the slashes) with its flags.
func CompileRegex(src RegexpSource) (*Regex, error) {
	panic("unimplemented: regex helper")
}

// Find returns the leftmost match of re in b, with yara's priority
// semantics for its end.
func (re *Regex) Find(b []byte) (start, end int, ok bool) {
	panic("unimplemented: regex helper")
}
