// Package ir is the intermediate form every rule source lowers into.
//
// A front end (package clamav for ClamAV databases, package yara for YARA
// source) parses its format and appends to a Set: body patterns (byte-pattern
// syntax trees of package match, each with an optional offset constraint),
// rules (a condition over pattern hits plus object constraints such as file
// type, size and container), and hash signatures (whole object, PE section or
// import table digests keyed by size). The engine compiles all patterns of a
// Set into one matcher and evaluates rule conditions over its hits, so every
// source costs one pass over the bytes.
package ir

import (
	"github.com/glassav/glassav/match"
)

// Source says where a rule or signature was defined, for diagnostics and
// reports.
type Source struct {
	File string // database or rule file (inside a container: "main.cvd/main.ndb")
	Line int    // 1-based
}

// Anchor is the point an Offset counts from.
type Anchor uint8

// Offset anchors. The executable-relative ones resolve against the scanned
// object's entry point and section table; on objects without them a pattern so
// anchored never matches.
const (
	AnchorAny         Anchor = iota // anywhere ('*')
	AnchorStart                     // N bytes from the start of the object
	AnchorEOF                       // N bytes before the end (ClamAV EOF-n: N is n)
	AnchorEntryPoint                // EP+N (N may be negative)
	AnchorSection                   // start of section Section, plus N
	AnchorInSection                 // anywhere inside section Section (ClamAV SEx)
	AnchorLastSection               // start of the last section, plus N
	AnchorVersionInfo               // PE VersionInfo key/value pairs (ClamAV VI)
)

// Offset constrains where a pattern match may start. With Shift > 0 the
// match may start anywhere in [base+N, base+N+Shift] (ClamAV's n,maxshift).
type Offset struct {
	Anchor  Anchor
	N       int64
	Shift   int64
	Section int
}

// Pattern is one body pattern: a syntax tree for the matcher plus the
// constraint on where a hit counts.
type Pattern struct {
	Node   *match.Node
	Offset Offset
	// Macro is the ClamAV macro group (1..31) an .ndb signature with offset
	// $n$ belongs to; 0 otherwise.
	Macro int
}

// Range is an inclusive range of integers; Set is false when unconstrained.
type Range struct {
	Set      bool
	Min, Max int64
}

// Contains reports whether v lies in the range (always true when unset).
func (r Range) Contains(v int64) bool { return !r.Set || (v >= r.Min && v <= r.Max) }

// Target is ClamAV's target type number (0 any, 1 PE, 2 OLE2, 3 HTML, 4 mail,
// 5 graphics, 6 ELF, 7 ASCII, 9 Mach-O, 10 PDF, 11 Flash, 12 Java, ...).
type Target uint8

// Rule is one detection: when its condition holds on an object that meets
// its constraints, the object matches under Name.
type Rule struct {
	Name   string
	Source Source
	// Official rules come from signed ClamAV containers; others are reported
	// with ".UNOFFICIAL" appended, as clamscan does.
	Official bool
	PUA      bool // loaded from a PUA database (.ndu, .ldu, ...)

	Target        Target
	FileSize      Range
	EntryPoint    Range
	NumSections   Range
	Container     string   // CL_TYPE name of the immediate parent; "" any
	Intermediates []string // CL_TYPE names of ancestors, nearest last; "CL_TYPE_ANY" wildcard

	// Subs are indices into Set.Patterns, in subsignature order.
	Subs []int
	// Cond is the condition over Subs; nil means "Subs[0] matched".
	Cond *Expr
}

// ExprOp is the kind of an Expr node.
type ExprOp uint8

// Condition operators.
const (
	ExprSub   ExprOp = iota // the hit count of subsignature Sub (index into Rule.Subs)
	ExprAnd                 // all Args true
	ExprOr                  // any Arg true
	ExprCount               // the counts of Args compared: see Cmp, N, Distinct
)

// Expr is a condition over subsignature hit counts. A node is true when its
// count is non-zero; ExprCount nodes compare the summed count of their single
// argument's subsignatures against N (and the number of distinct matched
// subsignatures against Distinct), as ClamAV's logical expressions do.
type Expr struct {
	Op       ExprOp
	Sub      int
	Args     []*Expr
	Cmp      byte // '=', '>' or '<' for ExprCount
	N        int
	Distinct int // 0: no distinct-subsignature requirement
}

// HashKind says what a hash signature is a digest of.
type HashKind uint8

// Hash signature kinds.
const (
	HashFile      HashKind = iota // the whole object (.hdb .hsb)
	HashPESection                 // one PE section's raw data (.mdb .msb)
	HashImport                    // the PE import table (.imp)
)

// HashAlgo is the digest algorithm, inferred from the digest length.
type HashAlgo uint8

// Digest algorithms.
const (
	MD5 HashAlgo = iota
	SHA1
	SHA256
)

// Size returns the digest length in bytes.
func (a HashAlgo) Size() int {
	switch a {
	case MD5:
		return 16
	case SHA1:
		return 20
	default:
		return 32
	}
}

// String names the algorithm as reports do.
func (a HashAlgo) String() string {
	switch a {
	case MD5:
		return "md5"
	case SHA1:
		return "sha1"
	default:
		return "sha256"
	}
}
