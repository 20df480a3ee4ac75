// Package match is glassav's one multi-pattern byte matcher: every body
// pattern of every rule, whatever its source format, is a syntax tree of Node
// values, and Compile turns all of them into one Matcher that finds every
// match of every pattern in one pass over the data.
//
// # Semantics
//
// A pattern matches at offset Start when some data[Start:End] is in the
// pattern's language. Scan reports, for every pattern, every such Start
// (overlapping matches included, as YARA does) with the smallest End. Empty
// matches count: a pattern whose language holds the empty string matches at
// every offset 0..len(data).
//
// The YARA assertions (AssertBegin, AssertEnd, the word boundaries, line
// start and end) look at the bytes around their position and do not depend
// on the match. The ClamAV assertions (B), (L) and (W) look at one byte
// outside the match: at the start of the match (no byte consumed yet) they
// look at the byte before the position, anywhere else at the byte after it.
// So (B)abc checks the byte before "abc" and abc(B) the byte after.
//
// # How it is fast
//
// Compile splits each pattern at large gaps (ClamAV *, {n-}, {n-m} wider
// than 16) into segments that are found separately and chained afterwards
// under the gap constraints (an exact backward sweep over the sorted
// segment hits, not greedy earliest matching). From each segment it picks
// atoms: up to four consecutive byte positions of small byte classes,
// scored for rarity (lower-case letters count as common, since every text
// is full of them), such that every match of the segment contains one of
// them at a known place; alternations contribute one atom per branch and
// nocase letters or nibbles expand into several. All atoms of all patterns
// go into one prefilter per atom length: for 3 and 4 bytes a bitmap of up
// to 2^21 bits, sized to the number of atoms, indexed by a multiplicative
// hash of the data window, for 1 and 2 bytes a bitmap indexed by the window
// itself, each backed by an exact table of the atoms. 4-byte atoms are
// searched by sampling every other position: any occurrence contains the
// 3-byte window at one of its first two positions, so the hot loop tests
// the 3-byte windows at alternate positions against a bitmap (up to 2^23
// bits) of the atoms' 3-byte prefixes and suffixes (two 8-byte loads serve
// six samples, one multiply and bit test each, no dependency between
// them, one branch per six) and checks the full 4-byte window only around samples that pass.
//
// Each atom occurrence first meets its precheck, kept beside the atom in
// the prefilter's table: eight data bytes near the atom, masked and
// compared with the bytes the atom's run of fixed positions demands
// (precheck.go). It rejects most occurrences of common atoms (x86 code,
// UTF-16 text) without a look at the segment. An occurrence that passes
// is verified: segments of fixed length made only of
// byte classes (ClamAV hex without jumps) by a mask-and-compare over their
// bytes, eight at a time, everything else by a byte-level Thompson NFA
// simulation forward from the atom (shortest end) and backward from it
// (every start). A memo
// of the state sets met per position lets a pass stop where an earlier pass
// of the same segment already explored, so loops like [a-z]*abcd stay
// linear over long runs. Segments of a split pattern whose atoms are poor
// are not searched on their own but only where their neighbours' hits allow
// them, after the search. Segments without any atom are tried at every
// offset (Matcher.Slow reports the patterns that need it). Nothing
// backtracks, so no pattern is exponential.
//
// Patterns equal to an earlier one (public YARA collections copy each
// other's rules) are searched once and share the hits (dedup.go).
//
// Compile allocates little per pattern: elements are flattened into one
// reused buffer, and the small slices segments keep are carved from shared
// slabs, so compiling 100,000 ClamAV bodies takes a fraction of a second.
//
// With several workers and at least 4 MiB of data, the atom search is split
// into one chunk of start offsets per worker; verification always sees the
// whole data, and the hits are merged, so results do not depend on workers.
//
// # Limits
//
// Hits per pattern are capped (Options.MaxHitsPerPattern): the kept hits
// are those with the smallest starts and Truncated reports the cut. Each
// segment of a split pattern has the same cap, so a truncated split pattern
// may miss hits. Repeat counts are at most 65,536 and a segment's NFA at
// most 262,144 states (Compile fails beyond). The pass memo is bounded per
// worker; beyond it, long NFA passes can again cost time proportional to
// the run length per atom hit.
package match
