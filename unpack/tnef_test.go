package unpack

import (
	"bytes"
	"os"
	"testing"
)

// tnefScript writes a TNEF stream with Python's struct module: message
// attributes, then two attachments carrying the payload — the first with
// its title before the data, the second after it (as Outlook writes).
const tnefScript = `
import sys, struct
payload = open(sys.argv[1], 'rb').read()
def attr(level, aid, atype, data):
    return struct.pack('<BII', level, aid | (atype << 16), len(data)) + data + struct.pack('<H', sum(data) & 0xffff)
out = struct.pack('<IH', 0x223E9F78, 0x1234)
out += attr(1, 0x9006, 0x0008, struct.pack('<I', 0x00010000))
out += attr(1, 0x8008, 0x0007, b'IPM.Microsoft Mail.Note\0')
out += attr(1, 0x8004, 0x0001, b'subject\0')
out += attr(2, 0x9002, 0x0006, b'\x01\x00\xff\xff\xff\xff' + b'\0' * 8)
out += attr(2, 0x8010, 0x0001, b'first.exe\0')
out += attr(2, 0x800F, 0x0006, payload)
out += attr(2, 0x9002, 0x0006, b'\x01\x00\xff\xff\xff\xff' + b'\0' * 8)
out += attr(2, 0x800F, 0x0006, payload[::-1])
out += attr(2, 0x8010, 0x0001, b'second.bin\0')
sys.stdout.buffer.write(out)
`

func buildTNEF(t *testing.T, payload []byte) []byte {
	t.Helper()
	return runPython(t, tnefScript, writeTemp(t, "payload", payload))
}

func reversed(b []byte) []byte {
	r := bytes.Clone(b)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return r
}

func TestTNEF(t *testing.T) {
	payload := readPayload(t)
	ms := unpackOK(t, tnefFormat(), buildTNEF(t, payload))
	if len(ms) != 2 {
		t.Fatalf("%d members, want 2", len(ms))
	}
	wantMember(t, ms, "first.exe", payload)
	wantMember(t, ms, "second.bin", reversed(payload))
	if ms[0].Name != "first.exe" || ms[0].Offset < 0 || !bytes.Equal(buildTNEF(t, payload)[ms[0].Offset:][:16], payload[:16]) {
		t.Fatalf("first member %q at offset %d", ms[0].Name, ms[0].Offset)
	}
}

func TestTNEFPeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, writeTemp(t, "winmail.dat", buildTNEF(t, payload)), payload)
}

func TestTNEFClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, tnefFormat(), readFile(t, testFile(t, "clam.tnef")))
	wantMember(t, ms, "clam.exe", clam)
}

func TestTNEFDamaged(t *testing.T) {
	checkDamaged(t, tnefFormat(), buildTNEF(t, readPayload(t)))
}

func FuzzUnpackTNEF(f *testing.F) {
	seeds := [][]byte{
		{0x78, 0x9f, 0x3e, 0x22, 0, 0, 2, 0x0f, 0x80, 6, 0, 3, 0, 0, 0, 'M', 'Z', 0, 0, 0},
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.tnef"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, tnefFormat(), seeds...)
}
