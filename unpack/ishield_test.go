package unpack

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestIShieldClamTestFiles opens the four InstallShield samples of
// clamav-testfiles. The cabinet-based installers hold clam.exe byte for
// byte (in an InstallShield cabinet, or as a plain record); the MSI-based
// ones hold it inside the MSI (an OLE2 file with a cabinet, which other
// formats open) or as a file of the table. clamscan finds the same body
// signature in each.
func TestIShieldClamTestFiles(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	for _, tc := range []struct {
		file    string
		exact   bool   // clam.exe is itself a member
		contain string // else: a member whose name holds this
		minimum int    // members at least
	}{
		{"clam_IScab_int.exe", true, "", 5},
		{"clam_IScab_ext.exe", true, "", 3},
		{"clam_ISmsi_int.exe", false, "clam.msi", 3},
		{"clam_ISmsi_ext.exe", true, "", 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := testFile(t, tc.file)
			data := readFile(t, path)
			fm := ishieldFormat()
			if !fm.Detect(data) {
				t.Fatal("Detect: not recognised as an InstallShield installer")
			}
			ms := unpackOK(t, fm, data)
			var names []string
			found := false
			for _, m := range ms {
				names = append(names, m.Name)
				if tc.exact && bytes.Equal(m.Data, clam) {
					found = true
				}
				if !tc.exact && bytes.Contains([]byte(m.Name), []byte(tc.contain)) && len(m.Data) > len(clam) {
					found = true
				}
			}
			if !found || len(ms) < tc.minimum {
				t.Errorf("%d members %q: clam.exe (or %q) not found, or fewer than %d members", len(ms), names, tc.contain, tc.minimum)
			}
			clamscanFinds(t, path, clam)
		})
	}
}

// TestIShieldNotInstaller checks Detect on executables that are not
// installers: the clam.exe sample and a PE with a text overlay.
func TestIShieldNotInstaller(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	if ishieldFormat().Detect(clam) {
		t.Error("clam.exe detected as an InstallShield installer")
	}
	withOverlay := append(bytes.Clone(clam), []byte("name\x00path\x00ver\x00notanumber\x00data")...)
	if ishieldFormat().Detect(withOverlay) {
		t.Error("an overlay whose size field is not a number was taken for a record")
	}
}

// TestIShieldDamaged truncates and flips the samples: each ends in members
// or a clear error.
func TestIShieldDamaged(t *testing.T) {
	for _, f := range []string{"clam_IScab_int.exe", "clam_ISmsi_ext.exe"} {
		data := readFile(t, testFile(t, f))
		for _, frac := range []int{2, 3, 5} {
			checkUnpack(t, ishieldFormat(), data[:len(data)*(frac-1)/frac], Limits{})
		}
		for _, at := range []int{len(data) / 3, len(data) / 2, len(data) - 100} {
			d := bytes.Clone(data)
			d[at] ^= 0x55
			checkUnpack(t, ishieldFormat(), d, Limits{})
		}
	}
}

// TestIShieldCabinetChunks builds a cabinet stream of three raw-deflate
// chunks (one empty length between them) and reads it back.
func TestIShieldCabinetChunks(t *testing.T) {
	parts := [][]byte{[]byte("first chunk of the file "), bytes.Repeat([]byte("x"), 5000), []byte(" end")}
	var stream []byte
	for i, p := range parts {
		c := deflateRaw(t, p)
		stream = binary.LittleEndian.AppendUint16(stream, uint16(len(c)))
		stream = append(stream, c...)
		if i == 0 {
			stream = append(stream, 0, 0)
		}
	}
	got, err := readAllChunks(&ishieldChunks{in: stream})
	if err != nil || !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(bytes.Join(parts, nil)))
	}
	if _, err := readAllChunks(&ishieldChunks{in: stream[:len(stream)-3]}); err == nil {
		t.Error("a truncated chunk read without error")
	}
}

func FuzzUnpackIShield(f *testing.F) {
	var seeds [][]byte
	if d, err := os.ReadFile(filepath.Join("/usr/share/clamav-testfiles", "clam_ISmsi_ext.exe")); err == nil {
		if i := ishieldMSIAt(d); i >= 0 {
			seeds = append(seeds, d[i-len(ishieldMSIMarker):min(len(d), i+4096)])
		}
	}
	// The older layout: a small 32-bit PE (clam.exe) with records in its
	// overlay, the fuzzer's inputs staying small enough to mutate quickly.
	if clam, err := os.ReadFile(filepath.Join("/usr/share/clamav-testfiles", "clam.exe")); err == nil {
		rec := func(name, body string) string {
			return name + "\x00Disk1\\" + name + "\x000.0.0.0\x00" + strconv.Itoa(len(body)) + "\x00" + body
		}
		seeds = append(seeds, append(bytes.Clone(clam), rec("setup.ini", "[Startup]\r\n")+rec("data1.hdr", "ISc(\x00\x00\x00\x00")+rec("data1.cab", "\x02\x00\x03\x00")...))
	}
	fuzzFormat(f, ishieldFormat(), seeds...)
}

func deflateRaw(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func readAllChunks(r io.Reader) ([]byte, error) { return io.ReadAll(r) }
