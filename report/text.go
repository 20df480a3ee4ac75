package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// LogSeparator starts every session appended to a --log file, as clamscan
// writes it.
const LogSeparator = "\n-------------------------------------------------------------------------------\n\n"

// TextWriter writes objects and the summary as clamscan 1.4.6 does. Its
// methods are not safe for concurrent use; the scan calls them from one
// goroutine, which keeps every line whole.
type TextWriter struct {
	Out io.Writer // results and the summary (stdout)
	Err io.Writer // diagnostics (stderr)
	// Log, when set, receives what clamscan writes to its --log file:
	// everything but OK lines and the stderr-only error lines.
	Log io.Writer

	Infected   bool // -i: print only detections
	SuppressOK bool // -o: leave out OK lines
	Quiet      bool // --quiet: only errors, on Err
	Verbose    bool // -v: "Scanning path" before each scanned file
	// WarningsToOut sends WARNING lines to Out (--stdout).
	WarningsToOut bool
	NoSummary     bool

	err error // first write error
}

// Object writes the lines for one object.
func (w *TextWriter) Object(o *Object) error {
	p := o.Path
	if raw, err := o.RawPath(); err == nil {
		p = raw
	}
	if w.Verbose && (o.Status == StatusOK || o.Status == StatusFound || o.Code == CodeLimit) {
		w.info(false, "Scanning "+p)
	}
	switch o.Status {
	case StatusOK:
		if !w.Infected && !w.SuppressOK {
			w.info(false, p+": OK")
		}
	case StatusFound:
		for _, d := range o.Detections {
			w.info(true, p+": "+d.Name+" FOUND")
		}
	case StatusSkipped:
		// clamscan does not say that a limit stopped the scan; the file
		// counts as scanned and clean.
		if o.Code == CodeLimit && !w.Infected && !w.SuppressOK {
			w.info(false, p+": OK")
		}
	case StatusEmpty:
		w.unlessInfected(p + ": Empty file")
	case StatusSymlink:
		w.unlessInfected(p + ": Symbolic link")
	case StatusExcluded:
		if o.Code == CodeProc {
			w.unlessInfected(p + ": Excluded (/proc)")
		} else {
			w.unlessInfected(p + ": Excluded")
		}
	case StatusError:
		w.error(p, o)
	}
	return w.err
}

func (w *TextWriter) error(p string, o *Object) {
	switch o.Code {
	case CodeCantAccess:
		w.line(w.Err, p+": "+o.Error)
		w.warning(p + ": Can't access file")
	case CodeUnsupported:
		w.warning(p + ": Not supported file type")
	case CodeAccessDenied:
		w.unlessInfected(p + ": Access denied")
	case CodeOpenDir:
		w.unlessInfected(p + ": Can't open directory.")
	default:
		w.unlessInfected(p + ": " + o.Error + " ERROR")
	}
}

// unlessInfected writes an informational result line that -i hides.
func (w *TextWriter) unlessInfected(s string) {
	if !w.Infected {
		w.info(true, s)
	}
}

// info writes a result line to Out (unless quiet) and, when logged, to Log.
func (w *TextWriter) info(logged bool, s string) {
	if !w.Quiet {
		w.line(w.Out, s)
	}
	if logged && w.Log != nil {
		w.line(w.Log, s)
	}
}

// warning writes a "WARNING:" line.
func (w *TextWriter) warning(s string) {
	s = "WARNING: " + s
	if !w.Quiet {
		if w.WarningsToOut {
			w.line(w.Out, s)
		} else {
			w.line(w.Err, s)
		}
	}
	if w.Log != nil {
		w.line(w.Log, s)
	}
}

func (w *TextWriter) line(out io.Writer, s string) {
	if out == nil {
		return
	}
	if _, err := io.WriteString(out, s+"\n"); err != nil && w.err == nil {
		w.err = err
	}
}

// Summary writes clamscan's summary block, followed by glassav's extra
// lines when they are not zero.
func (w *TextWriter) Summary(s *Summary) error {
	if w.NoSummary {
		return w.err
	}
	block := FormatSummary(s)
	if !w.Quiet && w.Out != nil {
		if _, err := io.WriteString(w.Out, block); err != nil && w.err == nil {
			w.err = err
		}
	}
	if w.Log != nil {
		if _, err := io.WriteString(w.Log, block); err != nil && w.err == nil {
			w.err = err
		}
	}
	return w.err
}

// FormatSummary returns the summary block as clamscan 1.4.6 prints it, with
// a leading blank line. Byte counts are exact (clamscan rounds each file
// down to 4 KiB blocks first, so it shows 0.00 MB for many small files);
// lines glassav adds come after the block.
func FormatSummary(s *Summary) string {
	var b strings.Builder
	b.WriteString("\n----------- SCAN SUMMARY -----------\n")
	fmt.Fprintf(&b, "Known viruses: %d\n", s.KnownViruses)
	fmt.Fprintf(&b, "Engine version: %s\n", s.EngineVersion)
	fmt.Fprintf(&b, "Scanned directories: %d\n", s.Directories)
	fmt.Fprintf(&b, "Scanned files: %d\n", s.Files)
	fmt.Fprintf(&b, "Infected files: %d\n", s.Infected)
	if s.Errors > 0 {
		fmt.Fprintf(&b, "Total errors: %d\n", s.Errors)
	}
	scanned, read := mib(s.ScannedBytes), mib(s.ReadBytes)
	// clamscan shows ratio 0.00 when nothing measurable was read; so do
	// we, rather than a ratio of two numbers both shown as 0.00.
	ratio := 0.0
	if read >= 0.005 {
		ratio = scanned / read
	}
	fmt.Fprintf(&b, "Data scanned: %2.2f MB\n", scanned)
	fmt.Fprintf(&b, "Data read: %2.2f MB (ratio %.2f:1)\n", read, ratio)
	ms := s.Elapsed().Milliseconds()
	if ms < 0 {
		ms = 0
	}
	sec := ms / 1000
	fmt.Fprintf(&b, "Time: %d.%03d sec (%d m %d s)\n", sec, ms%1000, sec/60, sec%60)
	fmt.Fprintf(&b, "Start Date: %s\n", s.Start.Format(dateLayout))
	fmt.Fprintf(&b, "End Date:   %s\n", s.End.Format(dateLayout))
	if s.SkippedLimits > 0 {
		fmt.Fprintf(&b, "Skipped for limits: %d\n", s.SkippedLimits)
	}
	if s.LimitsHit > 0 {
		fmt.Fprintf(&b, "Containers stopped by limits: %d\n", s.LimitsHit)
	}
	if s.Interrupted {
		b.WriteString("Interrupted: yes\n")
	}
	return b.String()
}

// dateLayout is clamscan's strftime("%Y:%m:%d %H:%M:%S") in local time.
const dateLayout = "2006:01:02 15:04:05"

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// FormatRate formats a byte count per duration for progress displays.
func FormatRate(n int64, d time.Duration) string {
	if d <= 0 {
		return "0.0 MiB/s"
	}
	return fmt.Sprintf("%.1f MiB/s", mib(n)/d.Seconds())
}
