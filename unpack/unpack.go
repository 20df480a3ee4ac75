// Package unpack opens containers — archives, compressed streams, mail,
// documents, packed executables — into the objects they hold, so the engine
// scans each member as a new object one level deeper.
//
// Every format is one Format value (one small file per format) in the list
// Formats returns; the engine picks a format by the object's detected
// filetype.Type. Unpacking never trusts sizes from the container: members
// are read through a Budget shared by the whole top-level object, which
// enforces the limits (recursion depth, files, bytes, per-file size,
// compression ratio, time) and reports which one was hit, so a bomb ends in
// a visible LimitError, never in exhausted memory.
package unpack

import (
	"context"
	"errors"
	"fmt"

	"github.com/glassav/glassav/filetype"
)

// Member is one object found inside a container.
type Member struct {
	// Name is the member's path inside its container, as stored ("" when
	// the format has none, e.g. a bare gzip stream without a name field).
	Name string
	// Data is the member's content, fully read and bounded by the Budget.
	Data []byte
	// Type is the member's type when the container knows it better than
	// content detection (zero: detect from Data).
	Type filetype.Type
	// Encrypted marks a member that could not be read because it is
	// encrypted; Data is nil. The engine reports it (clamscan's
	// Heuristics.Encrypted.* with --alert-encrypted).
	Encrypted bool
	// Offset is where the member starts in the container's bytes, when
	// it is stored there verbatim (carved executables, stored zip entries),
	// else -1. For reports only.
	Offset int64
}

// Format unpacks one container format.
type Format struct {
	// Name is short and lower-case: "zip", "gzip", "ole2", "mail", ...
	// It names the parser in reports and JSON ("reached by").
	Name string
	// Types are the detected types this format opens.
	Types []filetype.Type
	// Magic lists byte prefixes that identify the format's content when
	// filetype has no type for it (zstd): For tries them on objects whose
	// type has no format.
	Magic []string
	// Within lists types whose objects may hold this format although
	// another format is registered for the type: packed executables and
	// installers are Windows executables (MSEXE), which the carving of
	// embedded executables opens. For such an object the engine runs,
	// beside the type's own format, every format listed for its type
	// whose Detect reports true.
	Within []filetype.Type
	// Detect reports, cheaply and without allocating much, whether data is
	// this format's (a UPX-packed image, an NSIS installer...). Used with
	// Within.
	Detect func(data []byte) bool
	// Unpack calls emit for every member of data, in container order. It
	// reads every member through b (b.Read / b.Take) and returns a
	// *LimitError when a limit stops it, a *FormatError for corrupt input
	// (after emitting what it could read), or the error emit returned.
	Unpack func(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error
}

// FormatError reports corrupt or unsupported container input.
type FormatError struct {
	Format string // Format.Name
	Offset int64  // where in the container, or -1
	Err    error
}

func (e *FormatError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s: at offset %d: %v", e.Format, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Format, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Corrupt returns a *FormatError for format at off.
func Corrupt(format string, off int64, format2 string, args ...any) error {
	return &FormatError{Format: format, Offset: off, Err: fmt.Errorf(format2, args...)}
}

// ErrEncrypted is wrapped by errors about encrypted content.
var ErrEncrypted = errors.New("encrypted")
