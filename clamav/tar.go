package clamav

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bounds what reading one container may cost. Container bodies are
// untrusted: a small gzip stream can claim gigabytes of members.
type Limits struct {
	// MaxTotalSize bounds the sum of all member sizes.
	MaxTotalSize int64
	// MaxMemberSize bounds any one member.
	MaxMemberSize int64
	// MaxMembers bounds the number of members.
	MaxMembers int
}

// DefaultLimits returns the limits ReadContainer uses. The largest official
// database (main.cvd) unpacks to well under a gigabyte and holds a dozen
// members; bytecode.cvd holds about a hundred.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalSize:  2 << 30,
		MaxMemberSize: 2 << 30,
		MaxMembers:    1000,
	}
}

// ErrLimit is returned (wrapped) when a container exceeds its Limits.
var ErrLimit = errors.New("limit exceeded")

// tarGzipMagic starts a gzip stream.
var tarGzipMagic = []byte{0x1f, 0x8b}

// readTarBody reads the members of a container body: a tar archive, gzip-
// compressed or not. ClamAV accepts only regular files with plain names
// (no directories, links, path separators or extension headers), in any
// order; so do we.
func readTarBody(body []byte, lim Limits) ([]ContainerFile, error) {
	var r io.Reader = bytes.NewReader(body)
	if bytes.HasPrefix(body, tarGzipMagic) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var files []ContainerFile
	var total int64
	seen := make(map[string]bool)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			return nil, errors.New("tar: truncated archive")
		}
		if err != nil {
			return nil, fmt.Errorf("tar: %w", err)
		}
		if len(files) >= lim.MaxMembers {
			return nil, fmt.Errorf("more than %d members: %w", lim.MaxMembers, ErrLimit)
		}
		if err := checkMemberName(hdr.Name); err != nil {
			return nil, fmt.Errorf("tar: member %q: %w", hdr.Name, err)
		}
		name := hdr.Name
		switch {
		case hdr.Typeflag != tar.TypeReg:
			return nil, fmt.Errorf("tar: member %s: type %q is not a regular file", name, hdr.Typeflag)
		case len(hdr.PAXRecords) > 0:
			return nil, fmt.Errorf("tar: member %s: extended headers are not allowed", name)
		case seen[name]:
			return nil, fmt.Errorf("tar: member %s appears twice", name)
		case hdr.Size < 0:
			return nil, fmt.Errorf("tar: member %s: negative size", name)
		case hdr.Size > lim.MaxMemberSize:
			return nil, fmt.Errorf("tar: member %s: %d bytes, more than %d: %w", name, hdr.Size, lim.MaxMemberSize, ErrLimit)
		case hdr.Size > lim.MaxTotalSize-total:
			return nil, fmt.Errorf("tar: member %s: members exceed %d bytes: %w", name, lim.MaxTotalSize, ErrLimit)
		}
		seen[name] = true
		data, err := readMember(tr, hdr.Size)
		if err != nil {
			return nil, fmt.Errorf("tar: member %s: %w", name, err)
		}
		total += hdr.Size
		files = append(files, ContainerFile{Name: name, Data: data})
	}
	return files, nil
}

// readMember reads exactly size bytes. It grows the buffer as data arrives
// rather than trusting the header's size up front, so a truncated stream
// that claims a huge member costs only what it really holds.
func readMember(r io.Reader, size int64) ([]byte, error) {
	const chunk = 1 << 20
	if size <= chunk {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, tarTruncated(err)
		}
		return buf, nil
	}
	var b bytes.Buffer
	b.Grow(chunk)
	n, err := io.CopyN(&b, r, size)
	if err != nil || n != size {
		return nil, tarTruncated(err)
	}
	return b.Bytes(), nil
}

func tarTruncated(err error) error {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("truncated")
	}
	return err
}

// maxMemberName is the size of the tar name field ClamAV reads.
const maxMemberName = 100

// checkMemberName accepts the names ClamAV does: non-empty, at most 100
// bytes, no path separators. We also refuse "." and "..", control bytes and
// the ':' that would break .info lines.
func checkMemberName(name string) error {
	switch {
	case name == "":
		return errors.New("empty member name")
	case len(name) > maxMemberName:
		return fmt.Errorf("member name longer than %d bytes", maxMemberName)
	case name == "." || name == "..":
		return fmt.Errorf("member name %q", name)
	case strings.ContainsAny(name, "/\\:"):
		return errors.New("member name contains a path separator or colon")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return errors.New("member name contains a control byte")
		}
	}
	return nil
}
