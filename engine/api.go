// Package engine is glassav's public scanning API: it compiles rule sources
// (ClamAV databases and YARA rule files, whose strings join the same
// matcher: yara.go) into immutable Rules and scans objects with them.
//
//	rules, err := engine.Load(ctx, engine.LoadOptions{Paths: []string{"/var/lib/clamav"}})
//	res, err := rules.Scan(ctx, &engine.Object{Name: "f", Data: b}, engine.ScanOptions{})
//
// Rules are safe for concurrent use by many goroutines; a reload builds new
// Rules beside the old ones and swaps a pointer.
package engine

import (
	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
)

// Object is one thing to scan: a file, a stream, or (later) a member of a
// container. Data holds all of its bytes.
type Object struct {
	Name string // for reports; inside containers "outer//inner"
	Data []byte
	// Type is the detected file type; zero means "detect it".
	Type filetype.Type
	// Ancestors are the types of the containers holding the object, outermost
	// first; empty for a top-level object.
	Ancestors []filetype.Type
}

// ScanOptions select detection behaviour for one scan.
type ScanOptions struct {
	AllMatch  bool // report every matching signature, not just the first
	DetectPUA bool // report signatures from PUA databases
	// Workers bounds the goroutines used to search one large object; 0 or 1
	// searches it on the calling goroutine.
	Workers int
	// NoPE and NoELF turn off parsing of those executables (clamscan's
	// --scan-pe=no, --scan-elf=no): entry-point and section offsets, section
	// and import hashes then never match on them.
	NoPE, NoELF bool
	// NoNormalise turns off the text view of text files (clamscan's
	// --scan-html=no or --normalize=no): signatures of target 7 then never
	// match, and those of target 0 see raw bytes only.
	NoNormalise bool
	// Containers opens archives, compressed streams, mail and documents
	// and scans their members (recurse.go).
	Containers ContainerOptions
}

func (o ScanOptions) skipExe(t filetype.Type) bool {
	switch t.String() {
	case "CL_TYPE_MSEXE":
		return o.NoPE
	case "CL_TYPE_ELF":
		return o.NoELF
	}
	return false
}

// MatchKind says which mechanism produced a match.
type MatchKind string

// Match kinds.
const (
	KindHash    MatchKind = "hash"
	KindBody    MatchKind = "body"
	KindLogical MatchKind = "logical"
	KindLimit   MatchKind = "limit" // Heuristics.Limits.Exceeded.*
	// KindYARA (yara.go) marks YARA rule detections.
)

// Match is one detection.
type Match struct {
	Name   string    `json:"name"` // as clamscan prints it, ".UNOFFICIAL" included
	Kind   MatchKind `json:"kind"`
	Source ir.Source `json:"source"`
	PUA    bool      `json:"pua,omitempty"`
	// Offset is where the first pattern hit of a body signature starts; -1
	// for hash matches.
	Offset int64 `json:"offset"`
	// Meta and Tags are a YARA rule's metadata (first value of each key)
	// and tags.
	Meta map[string]any `json:"meta,omitempty"`
	Tags []string       `json:"tags,omitempty"`
	// Path names the container members leading to the matching object,
	// outermost first; empty for the scanned object itself. Via names the
	// format (unpack.Format.Name) that opened each of them.
	Path []string `json:"path,omitempty"`
	Via  []string `json:"via,omitempty"`
}

// Result is the outcome of scanning one object.
type Result struct {
	Type    filetype.Type
	Matches []Match
	// Hashes holds the digests computed while scanning (hex), keyed by
	// algorithm name; absent when no signature needed them.
	Hashes map[string]string
	// Skipped notes for the report, e.g. "target HTML needs normalisation".
	Warnings []string
	// Allowed is set when an allow-list (.fp, .sfp) signature matched the
	// object: it is clean whatever it holds, and it is not opened.
	Allowed bool
	// Scanned is the bytes given to the matchers: the object's, and with
	// containers opened every member's.
	Scanned int64
	// Members counts the container members scanned.
	Members int
	// Limits names the unpacking limits hit (unpack.Limit*), each once,
	// whether or not they became detections.
	Limits []string
}
