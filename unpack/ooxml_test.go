package unpack

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/filetype"
)

// OOXML documents are zips (the zip format opens them, registered for
// the OOXML types); these tests check the path a macro-enabled Word
// document takes: typed by content as OOXML, its parts named as stored,
// word/vbaProject.bin opened as OLE2 and the macro source decompressed.

// buildDocm writes a minimal macro-enabled Word document whose
// word/vbaProject.bin holds a VBA project, with the payload as an
// embedded part; it returns the path.
func buildDocm(t *testing.T) string {
	t.Helper()
	vba := readFile(t, buildOLE2With(t, "", nil))
	parts := []struct {
		name string
		data []byte
	}{
		{"[Content_Types].xml", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>`)},
		{"_rels/.rels", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`)},
		{"word/document.xml", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>glassav</w:t></w:r></w:p></w:body></w:document>`)},
		{"word/_rels/document.xml.rels", []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>`)},
		{"word/vbaProject.bin", vba},
		{"word/embeddings/payload.bin", readPayload(t)},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "macro.docm")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOOXMLMacros(t *testing.T) {
	det := filetype.NewDetector()
	data := readFile(t, buildDocm(t))
	typ := det.Detect(data)
	if typ != filetype.OOXMLWord {
		t.Fatalf("detected %v, want %v", typ, filetype.OOXMLWord)
	}
	fm := For(typ, data)
	if fm == nil {
		t.Fatalf("no format opens %v", typ)
	}
	ms := unpackOK(t, fm, data)
	wantMember(t, ms, "payload.bin", readPayload(t))
	for _, m := range ms {
		if m.Name == "" {
			t.Errorf("%s member of %d bytes without a name", fm.Name, len(m.Data))
		}
	}
	vba := wantMember(t, ms, "vbaProject.bin", nil2(ms, "word/vbaProject.bin"))
	if vt := det.Detect(vba.Data); vt != filetype.MSOLE2 {
		t.Fatalf("vbaProject.bin detected as %v", vt)
	}
	inner := For(filetype.MSOLE2, vba.Data)
	if inner == nil || inner.Name != "ole2" {
		t.Fatalf("format for OLE2: %v", inner)
	}
	src := wantMember(t, unpackOK(t, inner, vba.Data), "Module1"+vbaSourceSuffix, []byte(vbaSource))
	if src.Name != "VBA/Module1"+vbaSourceSuffix {
		t.Errorf("source named %q", src.Name)
	}
	t.Logf("chain: %s (%s) // word/vbaProject.bin (%s) // %s", typ, fm.Name, inner.Name, src.Name)
}

// TestOOXMLMacrosPeer: clamscan finds the macro marker in the same
// document only by the same three steps.
func TestOOXMLMacrosPeer(t *testing.T) {
	path := buildDocm(t)
	if bytes.Contains(readFile(t, path), []byte(vbaMarkerText)) {
		t.Fatal("the marker is visible in the document's bytes")
	}
	clamscanFindsSig(t, path, []byte(vbaMarkerText))
}
