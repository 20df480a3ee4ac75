package report

import (
	"fmt"
	"io"
	"time"
)

// Progress draws a one-line live status (files, bytes, rate) on a
// terminal, rewriting it in place. Callers must Clear it before writing
// anything else to the same terminal and only use it when the writer is a
// terminal, so redirected output never sees it.
type Progress struct {
	W     io.Writer
	shown bool
}

// Update redraws the line.
func (p *Progress) Update(files, bytes int64, elapsed time.Duration) {
	fmt.Fprintf(p.W, "\r\x1b[K%d files, %.1f MiB, %s, %s", files, mib(bytes), FormatRate(bytes, elapsed), elapsed.Truncate(time.Second))
	p.shown = true
}

// Clear erases the line if it is shown.
func (p *Progress) Clear() {
	if p.shown {
		io.WriteString(p.W, "\r\x1b[K")
		p.shown = false
	}
}
