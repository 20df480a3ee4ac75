package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ManifestName is the name of the manifest member, always first.
const ManifestName = "MANIFEST"

const manifestHeader = "glassav-bundle/v1"

// File is one database file listed in a manifest.
type File struct {
	Name   string
	SHA256 [32]byte
	Size   int64
}

// Manifest lists the files of one version of the databases.
type Manifest struct {
	Version int64
	Files   []File // sorted by name, names unique
}

// Limits bound what reading a bundle or manifest may cost.
type Limits struct {
	MaxFiles     int   // files in a manifest
	MaxFileSize  int64 // any one file
	MaxTotalSize int64 // all files together (and the archive)
}

// DefaultLimits are generous for real feeds (the official ClamAV databases
// are about 400 MB in a dozen files) and still bound memory.
func DefaultLimits() Limits {
	return Limits{MaxFiles: 10000, MaxFileSize: 1 << 30, MaxTotalSize: 2 << 30}
}

// maxManifestSize bounds the manifest text: a line is at most a 64-digit
// hash, a size and a 255-byte name.
func (l Limits) maxManifestSize() int64 { return int64(l.MaxFiles)*360 + 64 }

// MaxNameLen bounds a file name.
const MaxNameLen = 255

// ValidName reports why name cannot name a bundle file, or nil.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("name %q: length %d not in 1..%d", name, len(name), MaxNameLen)
	}
	if name == ManifestName {
		return fmt.Errorf("name %q is reserved", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fmt.Errorf("name %q: byte %#x not allowed", name, c)
		}
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("name %q: empty, \".\" or \"..\" path element", name)
		}
	}
	return nil
}

// Lookup returns the file called name, or nil.
func (m *Manifest) Lookup(name string) *File {
	i, ok := slices.BinarySearchFunc(m.Files, name, func(f File, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return nil
	}
	return &m.Files[i]
}

// TotalSize returns the sum of the file sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Format returns the canonical manifest text. It is what Parse accepts and
// what the bundle's MANIFEST member holds.
func (m *Manifest) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nversion %d\n", manifestHeader, m.Version)
	for _, f := range m.Files {
		fmt.Fprintf(&b, "%s  %d  %s\n", hex.EncodeToString(f.SHA256[:]), f.Size, f.Name)
	}
	return b.Bytes()
}

// check validates a manifest built in memory or parsed.
func (m *Manifest) check(lim Limits) error {
	if m.Version < 1 {
		return fmt.Errorf("version %d: must be positive", m.Version)
	}
	if len(m.Files) > lim.MaxFiles {
		return fmt.Errorf("%d files: more than the limit of %d", len(m.Files), lim.MaxFiles)
	}
	var total int64
	for i, f := range m.Files {
		if err := ValidName(f.Name); err != nil {
			return err
		}
		if i > 0 && m.Files[i-1].Name >= f.Name {
			return fmt.Errorf("file %q: names not sorted or not unique", f.Name)
		}
		if f.Size < 0 || f.Size > lim.MaxFileSize {
			return fmt.Errorf("file %q: size %d not in 0..%d", f.Name, f.Size, lim.MaxFileSize)
		}
		total += f.Size
		if total > lim.MaxTotalSize {
			return fmt.Errorf("files total more than the limit of %d bytes", lim.MaxTotalSize)
		}
	}
	return nil
}

// ParseManifest parses manifest text, which must be canonical: exactly
// what Format produces for the result.
func ParseManifest(b []byte, lim Limits) (*Manifest, error) {
	if int64(len(b)) > lim.maxManifestSize() {
		return nil, fmt.Errorf("manifest: %d bytes, more than %d", len(b), lim.maxManifestSize())
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, errors.New("manifest: does not end with a newline")
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	if len(lines) < 2 || lines[0] != manifestHeader {
		return nil, fmt.Errorf("manifest: first line is not %q", manifestHeader)
	}
	m := &Manifest{}
	v, ok := strings.CutPrefix(lines[1], "version ")
	if !ok {
		return nil, errors.New("manifest line 2: no version")
	}
	var err error
	if m.Version, err = parseDecimal(v); err != nil {
		return nil, fmt.Errorf("manifest line 2: version: %w", err)
	}
	if len(lines)-2 > lim.MaxFiles {
		return nil, fmt.Errorf("manifest: %d files, more than the limit of %d", len(lines)-2, lim.MaxFiles)
	}
	m.Files = make([]File, 0, len(lines)-2)
	for i, line := range lines[2:] {
		f, err := parseFileLine(line)
		if err != nil {
			return nil, fmt.Errorf("manifest line %d: %w", i+3, err)
		}
		m.Files = append(m.Files, f)
	}
	if err := m.check(lim); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

func parseFileLine(line string) (File, error) {
	var f File
	h, rest, ok1 := strings.Cut(line, "  ")
	size, name, ok2 := strings.Cut(rest, "  ")
	if !ok1 || !ok2 {
		return f, errors.New(`not "<sha256>  <size>  <name>"`)
	}
	if len(h) != 64 || strings.ToLower(h) != h {
		return f, fmt.Errorf("hash %q: not 64 lower-case hex digits", h)
	}
	if _, err := hex.Decode(f.SHA256[:], []byte(h)); err != nil {
		return f, fmt.Errorf("hash %q: %w", h, err)
	}
	var err error
	if f.Size, err = parseDecimal(size); err != nil {
		return f, fmt.Errorf("size: %w", err)
	}
	f.Name = name
	return f, nil
}

// parseDecimal parses a canonical non-negative decimal (no sign, no
// leading zeros), so that one value has one spelling.
func parseDecimal(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("%q: not a canonical decimal number", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// fileOf describes data as the manifest entry name.
func fileOf(name string, data []byte) File {
	return File{Name: name, SHA256: sha256.Sum256(data), Size: int64(len(data))}
}

// NewManifest builds the manifest of files (name to content).
func NewManifest(version int64, files map[string][]byte) (*Manifest, error) {
	m := &Manifest{Version: version}
	for name, data := range files {
		m.Files = append(m.Files, fileOf(name, data))
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	if err := m.check(DefaultLimits()); err != nil {
		return nil, err
	}
	return m, nil
}
