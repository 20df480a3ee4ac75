package difftest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Sig is one generated signature line.
type Sig struct {
	Ext  string // database extension without the dot: "ndb", "hdb", "ldb", ...
	Name string // signature name as written; clamscan reports Name + ".UNOFFICIAL"
	Line string // the complete database line
	// Path is the file the signature was cut from; "" when it was not cut
	// from one file.
	Path string
	// Want is true when the signature is expected to match Path, false for
	// near-miss negatives (which may still match by accident elsewhere: the
	// differential comparison, not Want, decides).
	Want bool
}

// DB is a generated database: signatures of possibly several formats.
type DB []Sig

// Write writes db into dir as one file per extension, named base.EXT, and
// returns their paths, sorted.
func (db DB) Write(dir, base string) ([]string, error) {
	byExt := map[string]*strings.Builder{}
	for _, s := range db {
		b := byExt[s.Ext]
		if b == nil {
			b = &strings.Builder{}
			byExt[s.Ext] = b
		}
		b.WriteString(s.Line)
		b.WriteByte('\n')
	}
	var paths []string
	for ext, b := range byExt {
		p := filepath.Join(dir, base+"."+ext)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return nil, fmt.Errorf("write database: %w", err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, nil
}

// Paths returns the distinct files the signatures were cut from, sorted.
func (db DB) Paths() []string {
	var ps []string
	for _, s := range db {
		if s.Path != "" {
			ps = append(ps, s.Path)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// Wanted returns the number of signatures expected to match.
func (db DB) Wanted() int {
	n := 0
	for _, s := range db {
		if s.Want {
			n++
		}
	}
	return n
}
