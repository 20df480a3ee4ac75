package bundle

import (
	"bytes"
	"testing"
)

func FuzzParseManifest(f *testing.F) {
	_, m, _ := Build(3, testFiles())
	f.Add(m.Format())
	f.Add([]byte("glassav-bundle/v1\nversion 1\n"))
	lim := Limits{MaxFiles: 50, MaxFileSize: 1 << 20, MaxTotalSize: 1 << 22}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b, lim)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Format(), b) {
			t.Fatalf("accepted a non-canonical manifest %q (canonical %q)", b, m.Format())
		}
	})
}

func FuzzRead(f *testing.F) {
	full, m1, _ := Build(1, testFiles())
	f.Add(full)
	v2 := testFiles()
	v2["x.ndb"] = []byte("X:0:*:78797a78797a\n")
	delta, _, _ := BuildDelta(m1, 2, v2)
	f.Add(delta)
	lim := Limits{MaxFiles: 50, MaxFileSize: 1 << 20, MaxTotalSize: 1 << 22}
	f.Fuzz(func(t *testing.T, b []byte) {
		bd, err := Read(bytes.NewReader(b), lim)
		if err != nil {
			return
		}
		for name, data := range bd.Files {
			fm := bd.Manifest.Lookup(name)
			if fm == nil || fileOf(name, data) != *fm {
				t.Fatalf("member %q accepted but does not match the manifest", name)
			}
		}
		if !bd.IsDelta() {
			// A full bundle rebuilds to a canonical one with the same manifest.
			_, m, err := Build(bd.Manifest.Version, bd.Files)
			if err != nil || !bytes.Equal(m.Format(), bd.Manifest.Format()) {
				t.Fatalf("rebuild: %v", err)
			}
		}
	})
}
