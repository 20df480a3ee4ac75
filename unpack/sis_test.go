package unpack

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/filetype"
)

func TestSISClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.sis")
	data := readFile(t, path)
	if typ := filetype.NewDetector().Detect(data); typ != filetype.SIS || For(typ, data).Name != "sis" {
		t.Fatalf("clam.sis typed %v, want SIS opened by sis", typ)
	}
	ms := unpackOK(t, sisFormat(), data)
	m := wantMember(t, ms, "clam.exe", clam)
	if m.Name != `C:\Users\zolw\AppData\Local\Temp\MKS0\clam.exe` {
		t.Errorf("member named %q, want the source name stored in the package", m.Name)
	}
	// ClamAV extracts the same bytes, as sis00.
	peer := clamscanExtracts(t, path, "sis-tmp")
	if len(ms) != 1 || len(peer) != 1 || !bytes.Equal(peer["sis00"], ms[0].Data) {
		t.Errorf("%d members, clamscan extracted %d files: want the same one", len(ms), len(peer))
	}
	clamscanFinds(t, path, clam)
}

// sisStored rewrites clam.sis with its file stored, not compressed: the
// flags' bit 3 set, the data replaced by clam.exe, its length updated.
func sisStored(t testing.TB) []byte {
	t.Helper()
	d := readFile(t, testFile(t, "clam.sis"))
	clam := readFile(t, testFile(t, "clam.exe"))
	le := binary.LittleEndian
	out := bytes.Clone(d)
	le.PutUint16(out[36:], le.Uint16(out[36:])|0x0008)
	pfiles := le.Uint32(out[52:])
	lenAt := pfiles + 4*7 // record type, 6 words
	ptr := le.Uint32(out[lenAt+4:])
	if int(ptr)+int(le.Uint32(out[lenAt:])) != len(d) {
		t.Fatalf("clam.sis: its file's data is not at its end")
	}
	le.PutUint32(out[lenAt:], uint32(len(clam)))
	return append(out[:ptr], clam...)
}

func TestSISStored(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	data := sisStored(t)
	ms := unpackOK(t, sisFormat(), data)
	m := wantMember(t, ms, "clam.exe", clam)
	if m.Offset != int64(len(data)-len(clam)) {
		t.Errorf("offset %d, want %d", m.Offset, len(data)-len(clam))
	}
	path := filepath.Join(t.TempDir(), "stored.sis")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	clamscanFinds(t, path, clam)
}

// sisLangFixture builds an original-format package of two languages
// holding one language file record: a version of the file per language,
// stored.
func sisLangFixture(en, fr []byte) []byte {
	le := binary.LittleEndian
	name := []byte("e\x00.\x00x\x00e\x00") // "e.xe", UTF-16
	d := make([]byte, sisHeader)
	le.PutUint32(d[8:], sisOldUID)
	le.PutUint16(d[18:], 2)      // languages
	le.PutUint16(d[20:], 1)      // file records
	le.PutUint16(d[36:], 0x0008) // not compressed
	le.PutUint32(d[48:], uint32(len(d)))
	d = append(d, 1, 0, 2, 0) // UK English, French
	le.PutUint32(d[52:], uint32(len(d)))
	rec := len(d)
	d = append(d, make([]byte, 4*(7+3*2+2))...)
	w := func(i int, v int) { le.PutUint32(d[rec+4*i:], uint32(v)) }
	w(0, sisRecLangFile)
	w(3, len(name))
	w(4, len(d))
	d = append(d, name...)
	w(7, len(en))
	w(8, len(fr))
	w(9, len(d))
	d = append(d, en...)
	w(10, len(d))
	d = append(d, fr...)
	w(11, len(en))
	w(12, len(fr))
	return d
}

func TestSISLanguages(t *testing.T) {
	en, fr := readPayload(t), readFile(t, "/usr/bin/false")
	ms := unpackOK(t, sisFormat(), sisLangFixture(en, fr))
	if len(ms) != 2 || ms[0].Name != "e.xe" || !bytes.Equal(ms[0].Data, en) || !bytes.Equal(ms[1].Data, fr) {
		t.Errorf("members %q, want both languages' versions of e.xe", memberNames(ms))
	}
}

// sis9Fixture builds a Symbian OS 9 package holding files: Contents with
// a (dummy) controller and Data → DataUnit → FileData, zlib-compressed
// when zip is set.
func sis9Fixture(t testing.TB, zip bool, files ...[]byte) []byte {
	t.Helper()
	le := binary.LittleEndian
	pad := func(b []byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	field := func(typ uint32, body []byte) []byte {
		h := le.AppendUint32(le.AppendUint32(nil, typ), uint32(len(body)))
		return pad(append(h, body...))
	}
	array := func(typ uint32, elems ...[]byte) []byte {
		body := le.AppendUint32(nil, typ)
		for _, e := range elems {
			body = pad(append(le.AppendUint32(body, uint32(len(e))), e...))
		}
		return field(sis9Array, body)
	}
	var fds [][]byte
	for _, f := range files {
		body := le.AppendUint32(nil, 0)
		if zip {
			body = le.AppendUint32(nil, 1)
		}
		body = le.AppendUint64(body, uint64(len(f)))
		if zip {
			var z bytes.Buffer
			w := zlib.NewWriter(&z)
			w.Write(f)
			w.Close()
			body = append(body, z.Bytes()...)
		} else {
			body = append(body, f...)
		}
		fds = append(fds, field(sis9Compressed, body))
	}
	unit := array(sis9FileData, fds...)
	data := field(sis9Data, array(sis9DataUnit, unit))
	controller := field(sis9Compressed, append(le.AppendUint64(le.AppendUint32(nil, 0), 4), "ctrl"...))
	contents := field(sis9Contents, append(controller, data...))
	uids := []byte(sis9UID + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	return append(uids, contents...)
}

func TestSIS9(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	payload := readPayload(t)
	for _, zip := range []bool{false, true} {
		data := sis9Fixture(t, zip, clam, payload)
		// Stored, clam.exe makes filetype see an executable in the
		// package (as ClamAV's type scan does), which embedpe carves.
		if typ := filetype.NewDetector().Detect(data); zip && (For(typ, data) == nil || For(typ, data).Name != "sis") {
			t.Fatalf("a version 9 package (typed %v) is not opened by sis", typ)
		}
		ms := unpackOK(t, sisFormat(), data)
		if len(ms) != 2 {
			t.Fatalf("zip %v: members %v, want 2", zip, memberNames(ms))
		}
		wantMember(t, ms, "sis9x00", clam)
		wantMember(t, ms, "sis9x01", payload)
	}
}

func TestSISDamaged(t *testing.T) {
	checkDamaged(t, sisFormat(), readFile(t, testFile(t, "clam.sis")))
	checkDamaged(t, sisFormat(), sisStored(t))
	checkDamaged(t, sisFormat(), sisLangFixture(readPayload(t), readPayload(t)[:1000]))
	checkDamaged(t, sisFormat(), sis9Fixture(t, true, readPayload(t)))
	for _, bad := range [][]byte{
		[]byte("\x00\x00\x00\x01\x12\x3a\x00\x10\x19\x04\x00\x10"),
		[]byte(sis9UID + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00\xff\xff\xff\x7f"),
	} {
		if _, err := checkUnpack(t, sisFormat(), bad, Limits{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzUnpackSIS(f *testing.F) {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.sis"); err == nil {
		seeds = append(seeds, data, data[:len(data)/2])
	}
	seeds = append(seeds, sis9Fixture(f, true, []byte("glassav sis fuzz seed")), sis9Fixture(f, false, []byte("stored")),
		sisLangFixture([]byte("english"), []byte("french")))
	fuzzFormat(f, sisFormat(), seeds...)
}
