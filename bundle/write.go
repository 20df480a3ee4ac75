package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
	"time"
)

// Build returns the full bundle of files (name to content) as version, and
// its manifest. The bytes depend only on version and files.
func Build(version int64, files map[string][]byte) ([]byte, *Manifest, error) {
	m, err := NewManifest(version, files)
	if err != nil {
		return nil, nil, err
	}
	b, err := write(m, files, func(File) bool { return true })
	return b, m, err
}

// BuildDelta returns a delta bundle that turns the installed version old
// into version with files: the new MANIFEST and the files that are new or
// whose content differs from old's.
func BuildDelta(old *Manifest, version int64, files map[string][]byte) ([]byte, *Manifest, error) {
	if version <= old.Version {
		return nil, nil, fmt.Errorf("delta from version %d to %d: versions must increase", old.Version, version)
	}
	m, err := NewManifest(version, files)
	if err != nil {
		return nil, nil, err
	}
	b, err := write(m, files, func(f File) bool {
		o := old.Lookup(f.Name)
		return o == nil || o.SHA256 != f.SHA256 || o.Size != f.Size
	})
	return b, m, err
}

// write writes the archive: MANIFEST, then the files include selects, in
// name order, with fixed metadata.
func write(m *Manifest, files map[string][]byte, include func(File) bool) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Size:     int64(len(data)),
			Mode:     0o644,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			// Only a name too long for ustar's prefix/name split gets here.
			hdr.Format = tar.FormatPAX
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("bundle member %q: %w", name, err)
			}
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(ManifestName, m.Format()); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if include(f) {
			if err := add(f.Name, files[f.Name]); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
