package scan

import (
	"context"
	"io"
	"runtime"
	"time"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/unpack"
)

// Engine is the part of *engine.Rules a scan needs.
type Engine interface {
	Scan(ctx context.Context, o *engine.Object, opt engine.ScanOptions) (*engine.Result, error)
}

// Follow says when a symbolic link is followed (clamscan's
// --follow-dir-symlinks and --follow-file-symlinks).
type Follow int

// Follow modes.
const (
	FollowNever  Follow = 0 // never: report "Symbolic link"
	FollowArgs   Follow = 1 // only links named as arguments (the default)
	FollowAlways Follow = 2 // also links met while walking
)

// Options control a scan. Start from DefaultOptions: in the zero value
// MaxDirRecursion 0 enters no directory, as clamscan's does.
type Options struct {
	// Jobs is the number of files scanned at once; 0 means runtime.NumCPU().
	Jobs int
	// MaxDirRecursion bounds how deep directories are entered: a directory
	// named as an argument is level 1. Deeper ones are skipped silently.
	MaxDirRecursion int

	Filter Filter

	FollowDirSymlinks  Follow
	FollowFileSymlinks Follow

	// MaxFileSize and MaxScanSize skip files larger than them (0: no limit).
	// Without containers to unpack, the scan size of a file is its size.
	MaxFileSize int64
	MaxScanSize int64
	// MaxScanTime bounds the scan of one file (0: no limit).
	MaxScanTime time.Duration
	// AlertExceedsMax turns a limit hit into a detection named
	// Heuristics.Limits.Exceeded.<Limit>.
	AlertExceedsMax bool

	// Containers opens archives, compressed streams, mail and documents
	// and scans their members, as clamscan does by default; the file size,
	// scan size and scan time limits then apply to the members too, with
	// MaxRecursion (nesting, 0: 17) and MaxFiles (members, 0: 10,000).
	// SkipFormats names formats not to open (engine.Switches.Skip).
	Containers     bool
	MaxRecursion   int
	MaxFiles       int
	SkipFormats    map[string]bool
	AlertEncrypted bool

	AllMatch  bool
	DetectPUA bool
	// NoPE and NoELF are clamscan's --scan-pe=no and --scan-elf=no.
	NoPE, NoELF bool
	// NoNormalise is clamscan's --scan-html=no / --normalize=no.
	NoNormalise bool

	// LargeObject is the size from which one file's pattern search is
	// split over Jobs goroutines (engine.ScanOptions.Workers); 0 means
	// 16 MiB.
	LargeObject int64

	// Stdin is read for the path "-".
	Stdin io.Reader

	// Progress, when set, is called every ProgressInterval (default
	// 200ms) from the goroutine that emits objects, with the files and
	// bytes scanned so far.
	Progress         func(files, bytes int64, elapsed time.Duration)
	ProgressInterval time.Duration
}

// Defaults of clamscan 1.4.6.
const (
	DefaultMaxFileSize     = 100 << 20
	DefaultMaxScanSize     = 400 << 20
	DefaultMaxScanTime     = 120 * time.Second
	DefaultMaxDirRecursion = 15
)

// DefaultOptions returns clamscan's defaults with one job per CPU.
func DefaultOptions() Options {
	return Options{
		Jobs:               runtime.NumCPU(),
		MaxDirRecursion:    DefaultMaxDirRecursion,
		FollowDirSymlinks:  FollowArgs,
		FollowFileSymlinks: FollowArgs,
		MaxFileSize:        DefaultMaxFileSize,
		MaxScanSize:        DefaultMaxScanSize,
		MaxScanTime:        DefaultMaxScanTime,
	}
}

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return runtime.NumCPU()
}

func (o *Options) largeObject() int64 {
	if o.LargeObject > 0 {
		return o.LargeObject
	}
	return 16 << 20
}

// containerOptions are the engine's container options for o: its limits
// (0, no limit, becomes a bound no scan reaches) and the members of one
// file scanned on Jobs goroutines.
func (o *Options) containerOptions() engine.ContainerOptions {
	const unlimited = 1 << 62
	or := func(v int64) int64 {
		if v <= 0 {
			return unlimited
		}
		return v
	}
	l := unpack.Limits{
		MaxRecursion: o.MaxRecursion,
		MaxFiles:     o.MaxFiles,
		MaxFileSize:  or(o.MaxFileSize),
		MaxScanSize:  or(o.MaxScanSize),
		MaxScanTime:  time.Duration(or(int64(o.MaxScanTime))),
	}
	return engine.ContainerOptions{
		Enabled:         true,
		Limits:          l,
		AlertExceedsMax: o.AlertExceedsMax,
		AlertEncrypted:  o.AlertEncrypted,
		Workers:         o.jobs(),
		Skip:            o.SkipFormats,
	}
}
