package report

import "time"

// Summary is the closing record of a scan: the numbers of clamscan's
// "SCAN SUMMARY" block plus what glassav adds.
type Summary struct {
	Record        string `json:"record"` // always "summary"
	KnownViruses  int    `json:"known_viruses"`
	EngineVersion string `json:"engine_version"`
	Directories   int64  `json:"directories"`
	Files         int64  `json:"files"` // scanned, including those stopped by a limit
	Infected      int64  `json:"infected"`
	// Errors is clamscan's "Total errors": objects that failed to open,
	// read or scan.
	Errors int64 `json:"errors"`
	// Warnings counts command-line paths that could not be scanned at all
	// (missing, special files). clamscan leaves them out of Total errors
	// but exits 2 for them.
	Warnings int64 `json:"warnings"`
	// SkippedLimits counts files not scanned because of a limit (without
	// --alert-exceeds-max; with it they are infected).
	SkippedLimits int64 `json:"skipped_limits"`
	// LimitsHit counts files scanned whose containers were not opened
	// whole because a limit stopped the unpacking; with
	// --alert-exceeds-max they are infected.
	LimitsHit int64 `json:"limits_hit,omitempty"`
	// ScannedBytes is what the matchers saw, ReadBytes what was read.
	ScannedBytes int64     `json:"scanned_bytes"`
	ReadBytes    int64     `json:"read_bytes"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	// Interrupted is set when the scan was cancelled before it finished.
	Interrupted bool `json:"interrupted,omitempty"`
}

// NewSummary returns an empty summary.
func NewSummary() *Summary { return &Summary{Record: "summary"} }

// Add counts one object.
func (s *Summary) Add(o *Object) {
	switch o.Status {
	case StatusFound:
		s.Files++
		s.Infected++
	case StatusOK:
		s.Files++
	case StatusSkipped:
		if o.Code == CodeLimit {
			s.Files++
			s.SkippedLimits++
		}
	case StatusError:
		if o.countsAsError() {
			s.Errors++
		} else {
			s.Warnings++
		}
	}
	if len(o.Limits) > 0 && o.Code != CodeLimit {
		s.LimitsHit++
	}
	s.ReadBytes += o.readBytes()
	s.ScannedBytes += o.Scanned
}

// readBytes is the object's contribution to "Data read": the bytes of every
// file that reached the scanner, limits included, as clamscan counts.
func (o *Object) readBytes() int64 {
	switch o.Status {
	case StatusOK, StatusFound:
		return o.Size
	case StatusSkipped:
		if o.Code == CodeLimit {
			return o.Size
		}
	}
	return 0
}

// ExitCode returns clamscan's exit status for the scan: 1 when anything was
// found (a detection beats any error), else 2 when anything failed, else 0.
func (s *Summary) ExitCode() int {
	switch {
	case s.Infected > 0:
		return 1
	case s.Errors > 0 || s.Warnings > 0 || s.Interrupted:
		return 2
	}
	return 0
}

// Elapsed returns the scan's duration.
func (s *Summary) Elapsed() time.Duration { return s.End.Sub(s.Start) }
