package ir

import "github.com/glassav/glassav/filetype"

// Set is everything the front ends loaded: the input of engine compilation.
type Set struct {
	Patterns []Pattern
	Rules    []Rule
	Hashes   *HashTable // detections and allow-list entries (HashAllow)

	// FileTypes are file-type magic entries from .ftm databases, which
	// extend or override the built-in type detection.
	FileTypes []filetype.Magic

	// Ignored holds signature names whose detections are dropped (.ign,
	// .ign2); a value other than "" is the MD5 of the database line the
	// ignore entry was written for.
	Ignored map[string][]string

	// Warnings are the load's non-fatal diagnostics (skipped formats,
	// signatures above the functionality level, ...), one line each.
	Warnings []string
	// Skipped counts signatures not loaded, by reason.
	Skipped map[string]int
	// Signatures counts what clamscan reports as "Known viruses".
	Signatures int
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{Hashes: NewHashTable(), Ignored: map[string][]string{}, Skipped: map[string]int{}}
}

// AddPattern appends p and returns its index.
func (s *Set) AddPattern(p Pattern) int {
	s.Patterns = append(s.Patterns, p)
	return len(s.Patterns) - 1
}

// Skip records n signatures not loaded for reason.
func (s *Set) Skip(reason string, n int) { s.Skipped[reason] += n }

// Merge appends everything of o to s, renumbering o's pattern references;
// o must not be used afterwards. Front ends parse files in parallel into
// separate Sets and merge them in file order, so results do not depend on
// scheduling.
func (s *Set) Merge(o *Set) {
	base := len(s.Patterns)
	s.Patterns = append(s.Patterns, o.Patterns...)
	for _, r := range o.Rules {
		subs := make([]int, len(r.Subs))
		for i, p := range r.Subs {
			subs[i] = p + base
		}
		r.Subs = subs
		s.Rules = append(s.Rules, r)
	}
	s.Hashes.Merge(o.Hashes)
	for k, v := range o.Ignored {
		s.Ignored[k] = append(s.Ignored[k], v...)
	}
	s.Warnings = append(s.Warnings, o.Warnings...)
	for k, v := range o.Skipped {
		s.Skipped[k] += v
	}
	s.Signatures += o.Signatures
}
