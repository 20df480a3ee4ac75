package clamav

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/glassav/glassav/ir"
)

// hashFormat describes one of the hash database formats.
type hashFormat struct {
	kind      ir.HashKind
	sizeFirst bool // .mdb .msb: size:hash:name; otherwise hash:size:name
	flags     ir.HashFlags
	pua       bool
}

// hashFormats maps extensions (without the dot) to formats.
var hashFormats = map[string]hashFormat{
	"hdb": {kind: ir.HashFile},
	"hsb": {kind: ir.HashFile},
	"hdu": {kind: ir.HashFile, flags: ir.HashPUA, pua: true},
	"hsu": {kind: ir.HashFile, flags: ir.HashPUA, pua: true},
	"mdb": {kind: ir.HashPESection, sizeFirst: true},
	"msb": {kind: ir.HashPESection, sizeFirst: true},
	"mdu": {kind: ir.HashPESection, sizeFirst: true, flags: ir.HashPUA, pua: true},
	"msu": {kind: ir.HashPESection, sizeFirst: true, flags: ir.HashPUA, pua: true},
	"imp": {kind: ir.HashImport},
	"fp":  {kind: ir.HashFile, flags: ir.HashAllow},
	"sfp": {kind: ir.HashFile, flags: ir.HashAllow},
}

// streamThreshold is the file size above which a hash database is streamed
// from disk in parallel with its names left on disk; smaller files are read
// whole.
const streamThreshold = 4 << 20

// hashLine is one parsed hash signature.
type hashLine struct {
	digest []byte
	size   int64
	name   []byte // aliases the line
	skip   bool   // outside the functionality level: not loaded, not counted
}

// parseHashLine parses one line of a hash database. The error says what is
// wrong; the caller adds file and line.
func parseHashLine(f hashFormat, line []byte, flevel int, buf *[32]byte) (hashLine, error) {
	var h hashLine
	// Split without allocating: this runs millions of times per load.
	var fieldsBuf [5][]byte
	fields := fieldsBuf[:0]
	for rest := line; ; {
		i := bytes.IndexByte(rest, ':')
		if len(fields) == 5 {
			return h, fmt.Errorf("want %s, got more than 5 fields", hashLayout(f))
		}
		if i < 0 {
			fields = append(fields, rest)
			break
		}
		fields = append(fields, rest[:i])
		rest = rest[i+1:]
	}
	if len(fields) < 3 {
		return h, fmt.Errorf("want %s, got %d fields", hashLayout(f), len(fields))
	}
	hashField, sizeField := fields[0], fields[1]
	if f.sizeFirst {
		hashField, sizeField = fields[1], fields[0]
	}
	switch len(hashField) {
	case 32, 40, 64:
	default:
		return h, fmt.Errorf("hash %q: want 32, 40 or 64 hex digits", truncate(hashField))
	}
	n, err := hex.Decode(buf[:], hashField)
	if err != nil {
		return h, fmt.Errorf("hash %q: not hexadecimal", truncate(hashField))
	}
	h.digest = buf[:n]
	minFL, maxFL := 0, 0
	if len(fields) > 3 {
		if minFL, err = atoi(fields[3]); err != nil {
			return h, fmt.Errorf("minimum functionality level %q: %v", truncate(fields[3]), err)
		}
	}
	if len(fields) > 4 {
		if maxFL, err = atoi(fields[4]); err != nil {
			return h, fmt.Errorf("maximum functionality level %q: %v", truncate(fields[4]), err)
		}
	}
	if string(sizeField) == "*" {
		if minFL < 73 {
			return h, fmt.Errorf("size '*' needs a minimum functionality level of at least 73")
		}
		h.size = ir.AnySize
	} else {
		sz, err := atoi(sizeField)
		if err != nil {
			return h, fmt.Errorf("size %q: %v", truncate(sizeField), err)
		}
		h.size = int64(sz)
	}
	name := fields[2]
	if len(name) == 0 {
		return h, errors.New("empty signature name")
	}
	h.name = name
	if (minFL != 0 && minFL > flevel) || (maxFL != 0 && maxFL < flevel) {
		h.skip = true
	}
	return h, nil
}

func hashLayout(f hashFormat) string {
	if f.sizeFirst {
		return "size:hash:name[:minfl[:maxfl]]"
	}
	return "hash:size:name[:minfl[:maxfl]]"
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// atoi parses a non-negative decimal number.
func atoi(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 10 {
		return 0, errors.New("not a number")
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// hashSigFlags returns the table flags of a format under opt.
func hashSigFlags(f hashFormat, opt Options) ir.HashFlags {
	fl := f.flags
	if opt.Official {
		fl |= ir.HashOfficial
	}
	return fl
}

// sigName applies clamscan's naming: ".UNOFFICIAL" unless the signature
// came from a signed container.
func sigName(name string, opt Options) string {
	if opt.Official {
		return name
	}
	return name + ".UNOFFICIAL"
}

// loadHashData parses a hash database held in memory (a small file or a
// container member); names are kept in memory.
func loadHashData(set *ir.Set, name string, data []byte, f hashFormat, opt Options) error {
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s %s: %w", ext, name, errEmptyDatabase)
	}
	flags := hashSigFlags(f, opt)
	var buf [32]byte
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			if len(data) == 0 {
				break // the file's final newline
			}
			return fmt.Errorf("%s %s:%d: %w", ext, name, lineNo, errEmptyLine)
		}
		if line[0] == '#' {
			continue
		}
		h, err := parseHashLine(f, line, flevelOf(opt), &buf)
		if err != nil {
			return fmt.Errorf("%s %s:%d: %w", ext, name, lineNo, err)
		}
		if h.skip {
			set.Skip("functionality level", 1)
			continue
		}
		if ignoredHash(set, h.name, line) {
			set.Skip(skipIgnored, 1)
			continue
		}
		set.Hashes.Add(f.kind, h.digest, h.size, sigName(string(h.name), opt), flags, ir.Source{File: name})
		set.Signatures++
	}
	return nil
}

// loadHashFile streams a large hash database from disk: chunks are parsed
// on all cores and only digests, sizes and line offsets are kept; the names
// are read back from the file when a signature matches. This is what makes
// loading the official feed (millions of section hashes) fast and small.
func loadHashFile(ctx context.Context, set *ir.Set, path string, f hashFormat, opt Options) error {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size >= 1<<32-2 {
		return fmt.Errorf("%s %s: file too large (%d bytes)", ext, path, size)
	}
	nameField := 2
	flags := hashSigFlags(f, opt)
	if !opt.Official {
		flags |= ir.HashUnofficial
	}
	base := set.Hashes.BeginFile(path, path, size, nameField, flags)

	// First pass: count lines so the table grows once.
	lines, digestLen, err := countLines(fh)
	if err != nil {
		return fmt.Errorf("%s %s: %w", ext, path, err)
	}
	set.Hashes.Reserve(f.kind, digestLen, lines)

	type chunk struct {
		data   []byte
		off    int64 // file offset of data[0]
		lineNo int   // line number of the first line in data
	}
	type result struct {
		loaded, skipped, ignored int
		err                      error
		errLine                  int
	}
	const chunkSize = 4 << 20
	chunks := make(chan chunk, 4)
	var mu sync.Mutex
	var firstErr error
	firstErrLine := 0
	total := result{}
	pool := sync.Pool{New: func() any { b := make([]byte, 0, chunkSize+4096); return &b }}

	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]ir.HashRef, 0, 1<<16)
			var buf [32]byte
			for c := range chunks {
				batch = batch[:0]
				var r result
				data := c.data
				lineNo := c.lineNo
				pos := 0
				for pos < len(data) {
					end := bytes.IndexByte(data[pos:], '\n')
					var line []byte
					next := len(data)
					if end >= 0 {
						line = data[pos : pos+end]
						next = pos + end + 1
					} else {
						line = data[pos:]
					}
					lineStart := pos
					pos = next
					line = bytes.TrimRight(line, "\r")
					if len(line) == 0 {
						// Chunks end after a newline, so this is a blank
						// line, which ClamAV refuses.
						r.err, r.errLine = errEmptyLine, lineNo
						break
					}
					if len(line) > 0 && line[0] != '#' {
						h, err := parseHashLine(f, line, flevelOf(opt), &buf)
						if err != nil {
							r.err, r.errLine = err, lineNo
							break
						}
						if h.skip {
							r.skipped++
						} else if ignoredHash(set, h.name, line) {
							r.ignored++
						} else {
							p := ir.HashRef{Len: uint8(len(h.digest)), Size: h.size, Ref: base + uint32(c.off) + uint32(lineStart)}
							copy(p.Digest[:], h.digest)
							batch = append(batch, p)
							r.loaded++
						}
					}
					lineNo++
				}
				bp := c.data[:0]
				set.Hashes.AddRefs(f.kind, batch)
				mu.Lock()
				total.loaded += r.loaded
				total.skipped += r.skipped
				total.ignored += r.ignored
				if r.err != nil && (firstErr == nil || r.errLine < firstErrLine) {
					firstErr, firstErrLine = r.err, r.errLine
				}
				mu.Unlock()
				pool.Put(&bp)
			}
		}()
	}

	// Reader: chunks end at line boundaries.
	readErr := func() error {
		defer close(chunks)
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return err
		}
		var carry []byte
		var off int64
		lineNo := 1
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			bp := pool.Get().(*[]byte)
			buf := append((*bp)[:0], carry...)
			n, err := io.ReadFull(fh, buf[len(buf):chunkSize])
			buf = buf[:len(carry)+n]
			eof := err == io.EOF || err == io.ErrUnexpectedEOF
			if err != nil && !eof {
				return err
			}
			cut := len(buf)
			if !eof {
				if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
					cut = i + 1
				}
			}
			carry = append(carry[:0], buf[cut:]...)
			data := buf[:cut]
			if len(data) > 0 {
				chunks <- chunk{data: data, off: off, lineNo: lineNo}
				lineNo += bytes.Count(data, []byte{'\n'})
				off += int64(len(data))
			}
			if eof {
				return nil
			}
		}
	}()
	wg.Wait()
	if readErr != nil {
		return fmt.Errorf("%s %s: %w", ext, path, readErr)
	}
	if firstErr != nil {
		return fmt.Errorf("%s %s:%d: %w", ext, path, firstErrLine, firstErr)
	}
	set.Signatures += total.loaded
	if total.skipped > 0 {
		set.Skip("functionality level", total.skipped)
	}
	if total.ignored > 0 {
		set.Skip(skipIgnored, total.ignored)
	}
	return nil
}

// countLines counts the lines of r and reports the digest length of the
// first signature line (16 for MD5 when unknown).
func countLines(r io.ReaderAt) (lines, digestLen int, err error) {
	buf := make([]byte, 1<<20)
	digestLen = 16
	first := true
	var off int64
	for {
		n, err := r.ReadAt(buf, off)
		if first && n > 0 {
			first = false
			line := buf[:n]
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			for _, f := range bytes.Split(line, []byte(":")) {
				if l := len(f); l == 32 || l == 40 || l == 64 {
					digestLen = l / 2
					break
				}
			}
		}
		lines += bytes.Count(buf[:n], []byte{'\n'})
		off += int64(n)
		if err == io.EOF {
			return lines + 1, digestLen, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// flevelOf returns the functionality level signatures are checked against.
func flevelOf(opt Options) int {
	if opt.FLevel > 0 {
		return opt.FLevel
	}
	return 216 // ClamAV 1.4's functionality level
}

var errEmptyDatabase = errors.New("empty database file")

// ignoredHash reports whether an .ign/.ign2 entry drops the signature name
// on line, as clamscan does at load time: an entry without a digest drops
// the name, one with a digest only while the line's MD5 is that digest.
func ignoredHash(set *ir.Set, name, line []byte) bool {
	if len(set.Ignored) == 0 {
		return false
	}
	sums, ok := set.Ignored[string(name)]
	if !ok {
		return false
	}
	var sum string
	for _, s := range sums {
		if s == "" {
			return true
		}
		if sum == "" {
			d := md5.Sum(line)
			sum = hex.EncodeToString(d[:])
		}
		if s == sum {
			return true
		}
	}
	return false
}
