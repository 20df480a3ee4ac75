package unpack

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// zipFixture builds a zip of the payload in a temporary directory with a
// real archiver (build runs in the directory, the payload is "payload")
// and returns the archive's path.
type zipFixture struct {
	name  string
	build func(t *testing.T, dir string)
	// encrypted: the member is reported encrypted, not read.
	encrypted bool
}

var zipFixtures = []zipFixture{
	{"stored", func(t *testing.T, dir string) { runTool(t, dir, "zip", "-q", "-0", "a.zip", "payload") }, false},
	{"deflate", func(t *testing.T, dir string) { runTool(t, dir, "zip", "-q", "-9", "a.zip", "payload") }, false},
	{"bzip2", func(t *testing.T, dir string) { runTool(t, dir, "zip", "-q", "-Z", "bzip2", "a.zip", "payload") }, false},
	{"deflate64", func(t *testing.T, dir string) {
		runTool(t, dir, "7z", "a", "-tzip", "-mm=Deflate64", "a.zip", "payload")
	}, false},
	{"lzma-7z", func(t *testing.T, dir string) { runTool(t, dir, "7z", "a", "-tzip", "-mm=LZMA", "a.zip", "payload") }, false},
	{"lzma-python", func(t *testing.T, dir string) {
		runTool(t, dir, "python3", "-c", "import zipfile; zipfile.ZipFile('a.zip','w',zipfile.ZIP_LZMA).write('payload')")
	}, false},
	{"zip64", func(t *testing.T, dir string) {
		runTool(t, dir, "python3", "-c", "import zipfile\nwith zipfile.ZipFile('a.zip','w',zipfile.ZIP_DEFLATED,allowZip64=True) as z:\n with z.open('payload','w',force_zip64=True) as w: w.write(open('payload','rb').read())")
	}, false},
	{"streamed", func(t *testing.T, dir string) {
		// zip writing to a pipe uses data descriptors after each entry.
		runTool(t, dir, "sh", "-c", "zip -q - payload | cat > a.zip")
	}, false},
	{"sfx", func(t *testing.T, dir string) {
		runTool(t, dir, "zip", "-q", "b.zip", "payload")
		runTool(t, dir, "sh", "-c", "cat /usr/bin/true b.zip > a.zip")
	}, false},
	{"sfx-adjusted", func(t *testing.T, dir string) {
		runTool(t, dir, "zip", "-q", "b.zip", "payload")
		runTool(t, dir, "sh", "-c", "cat /usr/bin/true b.zip > a.zip")
		runTool(t, dir, "zip", "-q", "-A", "a.zip")
	}, false},
	{"nested", func(t *testing.T, dir string) {
		runTool(t, dir, "zip", "-q", "inner.zip", "payload")
		runTool(t, dir, "zip", "-q", "a.zip", "inner.zip", "payload")
	}, false},
	{"encrypted", func(t *testing.T, dir string) { runTool(t, dir, "zip", "-q", "-P", "secret", "a.zip", "payload") }, true},
	{"aes", func(t *testing.T, dir string) {
		runTool(t, dir, "7z", "a", "-tzip", "-psecret", "-mem=AES256", "a.zip", "payload")
	}, true},
}

func buildZip(t *testing.T, fx zipFixture) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	payload := readPayload(t)
	if err := os.WriteFile(filepath.Join(dir, "payload"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	fx.build(t, dir)
	path := filepath.Join(dir, "a.zip")
	return path, readFile(t, path)
}

func TestZip(t *testing.T) {
	payload := readPayload(t)
	for _, fx := range zipFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path, data := buildZip(t, fx)
			ms := unpackOK(t, zipFormat(), data)
			if fx.encrypted {
				if len(ms) != 1 || !ms[0].Encrypted || ms[0].Name != "payload" {
					t.Fatalf("members %+v, want one encrypted \"payload\"", ms)
				}
				return
			}
			m := wantMember(t, ms, "payload", payload)
			if fx.name == "stored" && (m.Offset < 0 || !bytes.Equal(data[m.Offset:m.Offset+int64(len(payload))], payload)) {
				t.Errorf("stored member offset %d does not locate it", m.Offset)
			}
			if fx.name == "nested" {
				inner := wantMember(t, ms, "inner.zip", readFile(t, filepath.Join(filepath.Dir(path), "inner.zip")))
				wantMember(t, unpackOK(t, zipFormat(), inner.Data), "payload", payload)
			}
		})
	}
}

// TestZipClamTestFiles reads the zips of ClamAV's test corpus, which hold
// clam.exe deflated, bzip2ed, deflate64ed and imploded.
func TestZipClamTestFiles(t *testing.T) {
	want := readFile(t, testFile(t, "clam.exe"))
	for name, member := range map[string]string{"clam.zip": "clam.exe", "clam.bz2.zip": "clam.exe", "clam.d64.zip": "clam.exe", "clam.impl.zip": "CLAM.EXE"} {
		t.Run(name, func(t *testing.T) {
			ms := unpackOK(t, zipFormat(), readFile(t, testFile(t, name)))
			wantMember(t, ms, member, want)
		})
	}
}

func TestZipDamaged(t *testing.T) {
	for _, fx := range zipFixtures[:4] {
		t.Run(fx.name, func(t *testing.T) {
			_, data := buildZip(t, fx)
			checkDamaged(t, zipFormat(), data)
		})
	}
}

// TestZipCentralDirectoryLost checks that a zip whose central directory
// is cut off is still read from its local headers, with an error saying so.
func TestZipCentralDirectoryLost(t *testing.T) {
	payload := readPayload(t)
	for _, fx := range []zipFixture{zipFixtures[1], zipFixtures[7]} {
		t.Run(fx.name, func(t *testing.T) {
			_, data := buildZip(t, fx)
			cd := bytes.LastIndex(data, []byte(zipCentralSig))
			ms, err := checkUnpack(t, zipFormat(), data[:cd+10], Limits{})
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a FormatError", err)
			}
			wantMember(t, ms, "payload", payload)
		})
	}
}

func TestZipPeer(t *testing.T) {
	path, _ := buildZip(t, zipFixtures[3]) // deflate64
	clamscanFinds(t, path, readPayload(t))
}

// overlapZip builds the non-recursive zip bomb: one deflated kernel that
// n central directory entries all point to.
func overlapZip(n int, kernel []byte) []byte {
	var buf bytes.Buffer
	le := binary.LittleEndian
	w16 := func(v uint16) { binary.Write(&buf, le, v) }
	w32 := func(v uint32) { binary.Write(&buf, le, v) }
	var packed bytes.Buffer
	fw, _ := flateWriter(&packed)
	fw.Write(kernel)
	fw.Close()
	crc := crc32.ChecksumIEEE(kernel)
	buf.WriteString(zipLocalSig)
	w16(20)
	w16(0)
	w16(8)
	w16(0)
	w16(0)
	w32(crc)
	w32(uint32(packed.Len()))
	w32(uint32(len(kernel)))
	w16(1)
	w16(0)
	buf.WriteString("k")
	buf.Write(packed.Bytes())
	cdOff := buf.Len()
	for i := 0; i < n; i++ {
		name := []byte{'a' + byte(i%26), 'a' + byte(i/26%26), 'a' + byte(i/676%26)}
		buf.WriteString(zipCentralSig)
		w16(20)
		w16(20)
		w16(0)
		w16(8)
		w16(0)
		w16(0)
		w32(crc)
		w32(uint32(packed.Len()))
		w32(uint32(len(kernel)))
		w16(uint16(len(name)))
		w16(0)
		w16(0)
		w16(0)
		w16(0)
		w32(0)
		w32(0)
		buf.Write(name)
	}
	cdSize := buf.Len() - cdOff
	buf.WriteString(zipEndSig)
	w16(0)
	w16(0)
	w16(uint16(n))
	w16(uint16(n))
	w32(uint32(cdSize))
	w32(uint32(cdOff))
	w16(0)
	return buf.Bytes()
}

func TestZipOverlap(t *testing.T) {
	kernel := bytes.Repeat([]byte("A"), 1<<20)
	ms, err := checkUnpack(t, zipFormat(), overlapZip(1000, kernel), Limits{})
	if !errors.Is(err, ErrZipOverlap) {
		t.Fatalf("error %v, want ErrZipOverlap", err)
	}
	if len(ms) != 0 {
		t.Errorf("%d members inflated before the overlap was found", len(ms))
	}
	// A few entries sharing data stay below ClamAV's threshold and read.
	ms, err = checkUnpack(t, zipFormat(), overlapZip(zipMaxOverlaps, kernel), Limits{})
	if err != nil || len(ms) != zipMaxOverlaps || !bytes.Equal(ms[0].Data, kernel) {
		t.Fatalf("%d members, error %v; want %d copies of the kernel", len(ms), err, zipMaxOverlaps)
	}
}

func FuzzUnpackZip(f *testing.F) {
	var seeds [][]byte
	for _, name := range []string{"clam.zip", "clam.bz2.zip", "clam.d64.zip", "clam.impl.zip"} {
		if d, err := os.ReadFile(filepath.Join("/usr/share/clamav-testfiles", name)); err == nil {
			seeds = append(seeds, d)
		}
	}
	seeds = append(seeds, overlapZip(3, []byte("hello hello hello")))
	fuzzFormat(f, zipFormat(), seeds...)
}

func flateWriter(w *bytes.Buffer) (*flate.Writer, error) { return flate.NewWriter(w, 9) }

// TestZipParallel checks that decoding entries side by side emits the
// same members in the same order as decoding them one at a time, and that
// an error from emit stops the decoding.
func TestZipParallel(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := 0; i < 30; i++ {
		n := fmt.Sprintf("f%02d", i)
		names = append(names, n)
		data := bytes.Repeat([]byte(n+" some text to deflate "), 200*(i+1))
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, dir, "zip", append([]string{"-q", "a.zip"}, names...)...)
	data := readFile(t, filepath.Join(dir, "a.zip"))
	unpackWith := func(workers int, stopAt int) ([]Member, error) {
		b := NewBudget(Limits{})
		b.SetWorkers(workers)
		var ms []Member
		err := zipFormat().Unpack(context.Background(), data, b, func(m Member) error {
			ms = append(ms, m)
			if len(ms) == stopAt {
				return errStopTest
			}
			return nil
		})
		return ms, err
	}
	seq, err := unpackWith(1, -1)
	if err != nil || len(seq) != len(names) {
		t.Fatalf("one at a time: %d members, %v", len(seq), err)
	}
	for _, w := range []int{2, 4, 16} {
		par, err := unpackWith(w, -1)
		if err != nil || len(par) != len(seq) {
			t.Fatalf("workers %d: %d members, %v", w, len(par), err)
		}
		for i := range seq {
			if par[i].Name != seq[i].Name || !bytes.Equal(par[i].Data, seq[i].Data) {
				t.Fatalf("workers %d: member %d is %q, want %q", w, i, par[i].Name, seq[i].Name)
			}
		}
		if ms, err := unpackWith(w, 5); !errors.Is(err, errStopTest) || len(ms) != 5 {
			t.Fatalf("workers %d, stopped at 5: %d members, %v", w, len(ms), err)
		}
	}
}

var errStopTest = errors.New("stop")
