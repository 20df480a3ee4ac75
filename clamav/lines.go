package clamav

import (
	"bytes"
	"errors"
	"fmt"
)

// maxLineLen bounds one database line.
const maxLineLen = 1 << 20

// errEmptyDB is ClamAV's "Empty database file": a file with no lines at all
// fails the load.
var errEmptyDB = errors.New("empty database file")

// errEmptyLine: ClamAV rejects blank lines in signature databases.
var errEmptyLine = errors.New("empty line")

// eachLine calls fn for every line of data that is not a comment, with
// its 1-based number, CR/LF stripped. Blank lines are passed on: most
// formats reject them, as ClamAV does.
func eachLine(data []byte, fn func(lineNo int, line string) error) error {
	if len(data) == 0 {
		return errEmptyDB
	}
	for n := 1; len(data) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) > 0 && line[0] == '#' {
			continue
		}
		if len(line) > maxLineLen {
			return &lineError{n, fmt.Errorf("line longer than %d bytes", maxLineLen)}
		}
		if err := fn(n, string(line)); err != nil {
			return &lineError{n, err}
		}
	}
	return nil
}

// lineError carries the line number of a parse error up to the loader,
// which names the file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// wrapFileErr formats a load error as "ext file:line: reason".
func wrapFileErr(ext, file string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return fmt.Errorf("%s %s:%d: %w", ext, file, le.line, le.err)
	}
	return fmt.Errorf("%s %s: %w", ext, file, err)
}
