package report

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/glassav/glassav/engine"
)

// Status is the outcome for one object.
type Status string

// Statuses. Every Object has exactly one.
const (
	StatusOK       Status = "ok"       // scanned, nothing found
	StatusFound    Status = "found"    // at least one detection
	StatusError    Status = "error"    // could not be scanned; see Code and Error
	StatusSkipped  Status = "skipped"  // deliberately not scanned: a limit, a special file, a broken link
	StatusExcluded Status = "excluded" // excluded by a pattern or as a /proc file
	StatusEmpty    Status = "empty"    // zero bytes, nothing to scan
	StatusSymlink  Status = "symlink"  // a symbolic link that was not followed
)

// Code refines a Status: why an object was skipped, excluded or failed. It
// also decides how the text form shows the object and whether clamscan would
// count it in "Total errors".
type Code string

// Codes.
const (
	// CodeCantAccess: a command-line path that could not be looked up
	// (clamscan: "path: No such file or directory" and "WARNING: path:
	// Can't access file" on stderr). Exit status 2, not in Total errors.
	CodeCantAccess Code = "cant_access"
	// CodeUnsupported: a command-line path that is a FIFO, device or
	// socket ("WARNING: path: Not supported file type"). Exit status 2, not
	// in Total errors.
	CodeUnsupported Code = "unsupported_type"
	// CodeAccessDenied: the file could not be opened for lack of
	// permission ("path: Access denied"). Counted in Total errors.
	CodeAccessDenied Code = "access_denied"
	// CodeOpenDir: a directory could not be listed ("path: Can't open
	// directory."). Counted in Total errors.
	CodeOpenDir Code = "open_dir"
	// CodeRead: the file could not be opened or read for another reason
	// ("path: Can't read file ERROR"). Counted in Total errors.
	CodeRead Code = "read"
	// CodeEngine: the engine failed on the object ("path: <error> ERROR").
	// Counted in Total errors.
	CodeEngine Code = "engine"
	// CodeLimit: not scanned because of a limit; Object.Limit says which.
	CodeLimit Code = "limit"
	// CodeSpecial: a FIFO, device or socket met inside a directory,
	// silently skipped as clamscan does.
	CodeSpecial Code = "special_file"
	// CodeBrokenSymlink: a link that was to be followed points nowhere;
	// silently skipped as clamscan does.
	CodeBrokenSymlink Code = "broken_symlink"
	// CodeSymlinkLoop: a directory reached again through a followed link;
	// not entered twice.
	CodeSymlinkLoop Code = "symlink_loop"
	// CodePattern: excluded by --exclude/--include/--exclude-dir/--include-dir.
	CodePattern Code = "pattern"
	// CodeProc: a file under /proc, never scanned ("path: Excluded (/proc)").
	CodeProc Code = "proc"
)

// Limit names a scan limit, as in clamscan's Heuristics.Limits.Exceeded.<Limit>.
type Limit string

// Limits that can stop a scan.
const (
	LimitMaxFileSize  Limit = "MaxFileSize"
	LimitMaxScanSize  Limit = "MaxScanSize"
	LimitMaxScanTime  Limit = "MaxScanTime"
	LimitMaxRecursion Limit = "MaxRecursion"
	LimitMaxFiles     Limit = "MaxFiles"
)

// Detection returns the name clamscan reports for the limit with
// --alert-exceeds-max.
func (l Limit) Detection() string { return "Heuristics.Limits.Exceeded." + string(l) }

// Detection is one signature match.
type Detection struct {
	Name     string `json:"name"`               // as clamscan prints it, ".UNOFFICIAL" included
	Database string `json:"database,omitempty"` // file the signature came from
	Line     int    `json:"line,omitempty"`     // 1-based line in Database, when known
	Kind     string `json:"kind"`               // hash, body, logical, limit, yara
	PUA      bool   `json:"pua,omitempty"`
	// Meta and Tags are a YARA rule's metadata and tags.
	Meta map[string]any `json:"meta,omitempty"`
	Tags []string       `json:"tags,omitempty"`
	// ContainerPath is the chain of container members leading to the
	// matching object, outermost first; empty for the object itself.
	ContainerPath []string `json:"container_path,omitempty"`
	// ContainerVia names the format that opened each container on
	// ContainerPath ("zip", "gzip", "mail", ...).
	ContainerVia []string `json:"container_via,omitempty"`
}

// Hashes holds the digests computed while scanning, hex-encoded; a digest
// is absent when no signature needed it.
type Hashes struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Object is the result for one path (or stdin, reported as "stdin").
type Object struct {
	Record string `json:"record"` // always "object"
	// Path is the path as given or walked, valid UTF-8. Use SetPath to set
	// it and RawPath to read it back: a name that is not UTF-8 is stored
	// with escapes here and exactly in PathB64.
	Path       string      `json:"path"`
	PathB64    string      `json:"path_b64,omitempty"`
	Status     Status      `json:"status"`
	Code       Code        `json:"code,omitempty"`
	Detections []Detection `json:"detections,omitempty"`
	Type       string      `json:"type,omitempty"`
	Size       int64       `json:"size"`              // bytes in the object (read or stat'ed)
	Scanned    int64       `json:"scanned,omitempty"` // bytes given to the matchers
	Hashes     *Hashes     `json:"hashes,omitempty"`
	Limit      Limit       `json:"limit,omitempty"` // limit hit, with or without a detection
	// Limits are the container unpacking limits hit while scanning the
	// object (engine.Result.Limits); the first is also in Limit.
	Limits []string `json:"limits,omitempty"`
	// Members counts the container members scanned inside the object.
	Members int    `json:"members,omitempty"`
	Error   string `json:"error,omitempty"`
	// Warnings are engine notes about the scan, e.g. signatures that could
	// not be applied to this object.
	Warnings []string `json:"warnings,omitempty"`
}

// NewObject returns an Object for path with the given status.
func NewObject(path string, st Status) *Object {
	o := &Object{Record: "object", Status: st}
	o.SetPath(path)
	return o
}

// SetPath stores p losslessly: as is when it is valid UTF-8, otherwise with
// every invalid byte written \xNN (and a literal backslash kept as is) in
// Path, and the exact bytes in PathB64.
func (o *Object) SetPath(p string) {
	if utf8.ValidString(p) {
		o.Path, o.PathB64 = p, ""
		return
	}
	o.Path = EscapeInvalidUTF8(p)
	o.PathB64 = base64.StdEncoding.EncodeToString([]byte(p))
}

// RawPath returns the path as the file system spells it.
func (o *Object) RawPath() (string, error) {
	if o.PathB64 == "" {
		return o.Path, nil
	}
	b, err := base64.StdEncoding.DecodeString(o.PathB64)
	if err != nil {
		return "", fmt.Errorf("report: path_b64 of %q: %w", o.Path, err)
	}
	return string(b), nil
}

// EscapeInvalidUTF8 returns s with each byte that is not part of a valid
// UTF-8 sequence replaced by \xNN. The result is for display only; it is
// not reversible on its own (a name may contain a literal "\x41").
func EscapeInvalidUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// SetResult fills the detections, type and hashes from an engine result
// and sets the status to found or ok accordingly.
func (o *Object) SetResult(r *engine.Result) {
	if r == nil {
		return
	}
	if r.Type != 0 {
		o.Type = fmt.Sprint(r.Type)
	}
	for _, m := range r.Matches {
		o.Detections = append(o.Detections, DetectionOf(m))
	}
	if len(r.Hashes) > 0 {
		o.Hashes = &Hashes{MD5: r.Hashes["md5"], SHA1: r.Hashes["sha1"], SHA256: r.Hashes["sha256"]}
	}
	o.Warnings = append(o.Warnings, r.Warnings...)
	o.Members = r.Members
	o.Limits = append(o.Limits, r.Limits...)
	if len(r.Limits) > 0 && o.Limit == "" {
		o.Limit = Limit(r.Limits[0])
	}
	if len(o.Detections) > 0 {
		o.Status = StatusFound
	} else {
		o.Status = StatusOK
	}
}

// DetectionOf converts an engine match.
func DetectionOf(m engine.Match) Detection {
	return Detection{
		Name:     m.Name,
		Database: m.Source.File,
		Line:     m.Source.Line,
		Kind:     string(m.Kind),
		PUA:      m.PUA,
		Meta:     m.Meta,
		Tags:     m.Tags,

		ContainerPath: m.Path,
		ContainerVia:  m.Via,
	}
}

// SetLimit records that limit l stopped the scan. With alert set the limit
// is a detection (clamscan's --alert-exceeds-max); otherwise the object is
// skipped, which the text form shows as "OK" as clamscan does.
func (o *Object) SetLimit(l Limit, alert bool) {
	o.Limit = l
	o.Code = CodeLimit
	if alert {
		o.Status = StatusFound
		o.Detections = append(o.Detections, Detection{Name: l.Detection(), Kind: string(engine.KindLimit)})
		return
	}
	o.Status = StatusSkipped
}

// SetError marks the object failed with code c and message msg.
func (o *Object) SetError(c Code, msg string) {
	o.Status, o.Code, o.Error = StatusError, c, msg
}

// countsAsError reports whether clamscan counts the object in "Total
// errors". Failures on command-line arguments (missing paths, special files)
// are only warnings there, though they still make the exit status 2.
func (o *Object) countsAsError() bool {
	if o.Status != StatusError {
		return false
	}
	switch o.Code {
	case CodeCantAccess, CodeUnsupported:
		return false
	}
	return true
}
