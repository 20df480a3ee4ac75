package match

// isAlnum reports whether b is an ASCII letter or digit.
func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// isWord reports whether b is a YARA word byte, [A-Za-z0-9_].
func isWord(b byte) bool { return b == '_' || isAlnum(b) }

// validAssertion reports whether a is one of the assertions the matcher
// knows.
func validAssertion(a Assertion) bool {
	return a >= AssertBegin && a <= AssertWideNotWordBoundary
}

// sideDependent reports whether a's meaning depends on whether it sits at
// the start of the match (the ClamAV boundaries).
func sideDependent(a Assertion) bool {
	return a == AssertClamBoundary || a == AssertClamLineEnd || a == AssertClamNonAlnum
}

// assertAt evaluates the zero-width assertion a at position p of data.
// atStart says whether p is the start of the match being built; only the
// ClamAV assertions look at it (the byte before p at the start, the byte at
// p elsewhere).
func assertAt(a Assertion, data []byte, p int, atStart bool) bool {
	switch a {
	case AssertBegin:
		return p == 0
	case AssertEnd:
		return p == len(data)
	case AssertWordBoundary, AssertNotWordBoundary:
		before := p > 0 && isWord(data[p-1])
		after := p < len(data) && isWord(data[p])
		return (before != after) == (a == AssertWordBoundary)
	case AssertEdgeWordBoundary, AssertEdgeNotWordBoundary:
		if p <= 0 || p >= len(data) {
			return a == AssertEdgeWordBoundary
		}
		return (isWord(data[p-1]) != isWord(data[p])) == (a == AssertEdgeWordBoundary)
	case AssertWideWordBoundary, AssertWideNotWordBoundary:
		if p < 2 || p >= len(data) {
			return a == AssertWideWordBoundary
		}
		before := isWord(data[p-2]) && data[p-1] == 0
		after := p+1 < len(data) && isWord(data[p]) && data[p+1] == 0
		return (before != after) == (a == AssertWideWordBoundary)
	case AssertLineStart:
		return p == 0 || data[p-1] == '\n'
	case AssertLineEnd:
		return p == len(data) || data[p] == '\n'
	case AssertClamBoundary, AssertClamLineEnd, AssertClamNonAlnum:
		var b byte
		edge := false
		if atStart {
			if p == 0 {
				edge = true
			} else {
				b = data[p-1]
			}
		} else {
			if p >= len(data) {
				edge = true
			} else {
				b = data[p]
			}
		}
		switch a {
		case AssertClamBoundary:
			// ClamAV's boundary characters differ by side (measured with
			// clamscan 1.4.6 --scan-html=no over all 256 byte values; with
			// text normalisation on, clamscan also matches on the
			// normalised text, which blurs them). The data's edge counts.
			if edge {
				return true
			}
			if atStart {
				return clamBoundaryBefore.Has(b)
			}
			return clamBoundaryAfter.Has(b)
		case AssertClamLineEnd:
			// A line feed; after the match also CR LF. A lone CR is not a
			// line end for ClamAV.
			return edge || b == '\n' || (!atStart && b == '\r' && p+1 < len(data) && data[p+1] == '\n')
		default:
			return edge || !isAlnum(b)
		}
	}
	return false
}

// ClamAV's (B): the bytes that may precede a match, and those that may
// follow one.
var (
	clamBoundaryBefore = classOf(" -./<@_")
	clamBoundaryAfter  = classOf("\n\r \"'-/=>_")
)

func classOf(s string) Class {
	var c Class
	for i := 0; i < len(s); i++ {
		c.Add(s[i])
	}
	return c
}
