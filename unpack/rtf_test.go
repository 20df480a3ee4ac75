package unpack

import (
	"bytes"
	"os"
	"testing"
)

// rtfScript writes an RTF document with Python: the payload embedded three
// ways — an Object Packager ("Package") OLE1 object, an object of another
// class whose native data is the payload, and the same with the native
// data in a \bin run, the hex split by line breaks and an inserted group.
const rtfScript = `
import sys, struct
payload = open(sys.argv[1], 'rb').read()
def lstr(s):
    return struct.pack('<I', len(s) + 1) + s + b'\0'
def ole1(cls, native):
    return struct.pack('<II', 0x0501, 2) + lstr(cls) + struct.pack('<II', 0, 0) + struct.pack('<I', len(native)) + native
tmp = b'C:\\Temp\\dropped.exe\0'
pkg = b'\x02\x00' + b'dropped.exe\0' + b'C:\\Users\\x\\dropped.exe\0' + b'\x00\x00\x03\x00' + struct.pack('<I', len(tmp)) + tmp + struct.pack('<I', len(payload)) + payload
def hexlines(b):
    h = b.hex()
    return '\r\n'.join(h[i:i+128] for i in range(0, len(h), 128))
doc = '{\\rtf1\\ansi{\\fonttbl{\\f0 Times;}}\\pard text\\par\n'
doc += '{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata ' + hexlines(ole1(b'Package', pkg)) + '}}\n'
obj = hexlines(ole1(b'Word.Document.8', payload))
mid = len(obj) // 2 - (len(obj) // 2) % 2
doc += '{\\object\\objemb{\\*\\objdata ' + obj[:mid] + '{\\*\\junk ab}' + obj[mid:] + '}}\n'
raw = ole1(b'Other.Class', payload)
out = doc.encode() + b'{\\object{\\*\\objdata \\bin' + str(len(raw)).encode() + b' ' + raw + b'}}\n}'
sys.stdout.buffer.write(out)
`

func buildRTF(t *testing.T, payload []byte) []byte {
	t.Helper()
	return runPython(t, rtfScript, writeTemp(t, "payload", payload))
}

func TestRTF(t *testing.T) {
	payload := readPayload(t)
	ms := unpackOK(t, rtfFormat(), buildRTF(t, payload))
	if len(ms) != 3 {
		t.Fatalf("%d members, want 3", len(ms))
	}
	wantMember(t, ms, "dropped.exe", payload)
	wantMember(t, ms, "Word.Document.8", payload)
	wantMember(t, ms, "Other.Class", payload)
}

func TestRTFPeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, writeTemp(t, "doc.rtf", buildRTF(t, payload)), payload)
}

func TestRTFClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, rtfFormat(), readFile(t, testFile(t, "clam.exe.rtf")))
	wantMember(t, ms, "Clam.exe", clam)
}

func TestRTFDamaged(t *testing.T) {
	data := buildRTF(t, readPayload(t))
	// An object cut short is still emitted, and the cut reported.
	i := bytes.Index(data, []byte(`\objdata`))
	ms, err := checkUnpack(t, rtfFormat(), data[:i+4000], Limits{})
	if err == nil || len(ms) != 1 {
		t.Fatalf("truncated object: %d members, error %v; want 1 and an error", len(ms), err)
	}
	checkDamaged(t, rtfFormat(), data)
}

func FuzzUnpackRTF(f *testing.F) {
	seeds := [][]byte{
		[]byte(`{\rtf1{\object{\*\objdata 01050000020000000800000050616368616765000000000000000000040000004d5a9000}}}`),
		[]byte(`{\rtf1{\object{\*\objdata \bin4 MZ` + "\x90\x00" + `}}}`),
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe.rtf"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, rtfFormat(), seeds...)
}
