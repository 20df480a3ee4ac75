package difftest

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

// File is one real file with its bytes and, for PE and ELF files, the
// layout facts that executable-relative offsets need.
type File struct {
	Path string
	Data []byte
	Exe  *Exe // nil unless the file parsed as PE or ELF
}

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return int64(len(f.Data)) }

// ListFiles walks roots and returns the regular files (symlinks are not
// followed) whose size lies in [minSize, maxSize], sorted by path so that a
// seeded sample of them is reproducible. Unreadable directories are skipped.
func ListFiles(roots []string, minSize, maxSize int64) ([]string, error) {
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() && p != root {
					return fs.SkipDir
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if s := info.Size(); s >= minSize && s <= maxSize {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", root, err)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// LoadFile reads path and parses its executable layout if it has one.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	f := &File{Path: path, Data: data}
	if e, err := ParseExe(data); err == nil {
		f.Exe = e
	}
	return f, nil
}

// Sample picks n distinct paths at random (without replacement) and loads
// them; files whose contents duplicate an earlier pick are skipped so that a
// hash signature names one content. Fewer than n files come back when the
// list runs out.
func Sample(r *rand.Rand, paths []string, n int, keep func(*File) bool) ([]*File, error) {
	perm := r.Perm(len(paths))
	var out []*File
	seen := map[string]bool{}
	for _, i := range perm {
		if len(out) == n {
			break
		}
		f, err := LoadFile(paths[i])
		if err != nil {
			continue // raced with a package upgrade, or unreadable: not our concern
		}
		if keep != nil && !keep(f) {
			continue
		}
		k := string(sumMD5(f.Data))
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out, nil
}

// IsText reports whether data looks like plain ASCII text: printable bytes,
// tabs and line ends only.
func IsText(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	for _, c := range data {
		if c >= 0x7f || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return false
		}
	}
	return true
}

// IsPlain reports whether a file is not something clamscan treats as a
// container or a normalised type (archives, HTML, mail, PDF, images, ...),
// judged by its first bytes. Executables and scripts are plain. Signatures are
// compared on such files so both scanners see the raw bytes only, whatever
// container support either has.
func IsPlain(data []byte) bool {
	for _, m := range containerMagics {
		if bytes.HasPrefix(data, m) {
			return false
		}
	}
	head := bytes.ToLower(data[:min(len(data), 1024)])
	for _, m := range [][]byte{[]byte("<html"), []byte("<!doctype"), []byte("<script"), []byte("from "), []byte("received:"), []byte("<?xml")} {
		if bytes.Contains(head, m) {
			return false
		}
	}
	return true
}

var containerMagics = [][]byte{
	[]byte("PK\x03\x04"), []byte("\x1f\x8b"), []byte("BZh"), []byte("\xfd7zXZ"), []byte("7z\xbc\xaf"),
	[]byte("Rar!"), []byte("MSCF"), []byte("%PDF"), []byte("\xd0\xcf\x11\xe0"), []byte("\x89PNG"),
	[]byte("\xff\xd8\xff"), []byte("GIF8"), []byte("!<arch>"), []byte("\x28\xb5\x2f\xfd"), []byte("070701"),
	[]byte("070707"), []byte("\xc7\x71"), []byte("ITSF"), []byte("{\\rtf"), []byte("CWS"), []byte("FWS"),
	[]byte("ZWS"), []byte("\xca\xfe\xba\xbe"), []byte("\xcf\xfa\xed\xfe"), []byte("\xce\xfa\xed\xfe"),
	[]byte("\x1f\x9d"), []byte("LZIP"), []byte("\x04\x22\x4d\x18"),
}
