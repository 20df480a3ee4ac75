package engine

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/glassav/glassav/clamav"
	"github.com/glassav/glassav/ir"
)

// LoadOptions say which rule sources to load.
type LoadOptions struct {
	// Paths are database files or directories (clamscan's -d). Empty means
	// the defaults: the built-in set, DefaultDatabaseDir and ClamAVDatabaseDir.
	// As in clamscan, naming paths replaces the defaults.
	Paths []string
	// DetectPUA loads the PUA variants of the databases (.hdu .ndu ...).
	DetectPUA bool
}

// ClamAVDatabaseDir is where Debian's ClamAV keeps its databases; glassav
// reads them too when no database is named.
const ClamAVDatabaseDir = "/var/lib/clamav"

// DefaultDatabaseDir returns glassav's own database directory. When it
// holds a "current" entry (the versioned layout installed by updates), that
// is the directory read.
func DefaultDatabaseDir() string {
	if d := os.Getenv("GLASSAV_DATABASE_DIR"); d != "" {
		return d
	}
	return "/var/lib/glassav"
}

//go:embed builtin/*
var builtinFS embed.FS

// Load reads the rule sources and compiles them. A malformed signature fails
// the whole load with an error naming file, line and reason, as in clamscan.
func Load(ctx context.Context, opt LoadOptions) (*Rules, error) {
	set := ir.NewSet()
	copt := clamavOptions(opt.DetectPUA)
	paths := opt.Paths
	if len(paths) == 0 {
		if err := loadBuiltin(set, copt); err != nil {
			return nil, err
		}
		for _, d := range []string{defaultDir(), ClamAVDatabaseDir} {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				paths = append(paths, d)
			}
		}
	}
	var yparts []*yaraPart
	if len(paths) > 0 {
		if err := clamav.Load(ctx, set, paths, copt); err != nil {
			return nil, err
		}
		files, err := yaraFiles(paths)
		if err != nil {
			return nil, err
		}
		if yparts, err = loadYARA(ctx, set, files); err != nil {
			return nil, err
		}
	}
	r, err := Compile(set)
	if err != nil {
		return nil, err
	}
	r.yara = yparts
	return r, nil
}

// defaultDir resolves the versioned layout: DIR/current when present.
func defaultDir() string {
	d := DefaultDatabaseDir()
	cur := filepath.Join(d, "current")
	if fi, err := os.Stat(cur); err == nil && fi.IsDir() {
		return cur
	}
	return d
}

// loadBuiltin loads the signatures compiled into the binary: the EICAR test
// file and glassav's own test signatures. They are glassav's official set,
// so their names carry no ".UNOFFICIAL".
func loadBuiltin(set *ir.Set, opt clamav.Options) error {
	opt.Official = true
	return fs.WalkDir(builtinFS, "builtin", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtinFS.ReadFile(p)
		if err != nil {
			return err
		}
		if err := clamav.LoadFile(set, "builtin:"+path.Base(p), b, opt); err != nil {
			return fmt.Errorf("built-in signatures: %w", err)
		}
		return nil
	})
}

// clamavOptions leaves YARA files to loadYARA.
func clamavOptions(pua bool) clamav.Options { return clamav.Options{DetectPUA: pua, SkipYARA: true} }
