package unpack

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// pdfScript writes a PDF with Python's zlib and base64 and small LZW and
// RunLength encoders: the payload in six streams, one per filter chain
// (Flate; ASCIIHex then Flate; ASCII85 under an #-escaped name; LZW;
// RunLength; Flate with its /Length in a later object; Flate with PNG and
// with TIFF predictors, padded to whole rows), and a /JS string.
// qpdf decodes every stream of it back to the payload (TestPDFQPDF), which
// checks the encoders independently of glassav's decoders.
const pdfScript = `
import sys, zlib, base64, struct
payload = open(sys.argv[1], 'rb').read()

def lzw(data):
    st = {'acc': 0, 'n': 0}
    buf = bytearray()
    def put(code, width):
        st['acc'] = (st['acc'] << width) | code
        st['n'] += width
        while st['n'] >= 8:
            st['n'] -= 8
            buf.append((st['acc'] >> st['n']) & 0xff)
        st['acc'] &= (1 << st['n']) - 1
    def reset():
        return {bytes([i]): i for i in range(256)}, 258, 9
    table, nxt, width = reset()
    put(256, width)
    w = b''
    for c in data:
        wc = w + bytes([c])
        if wc in table:
            w = wc
            continue
        put(table[w], width)
        table[wc] = nxt
        nxt += 1
        if nxt >= 4095:
            put(256, width)
            table, nxt, width = reset()
        elif nxt + 1 > (1 << width):
            width += 1
        w = bytes([c])
    if w:
        put(table[w], width)
        nxt += 1
        if nxt + 1 > (1 << width) and width < 12:
            width += 1
    put(257, width)
    if st['n']:
        buf.append((st['acc'] << (8 - st['n'])) & 0xff)
    return bytes(buf)

def rle(data):
    out = bytearray()
    i = 0
    while i < len(data):
        j = i
        while j < len(data) and j - i < 128 and data[j] == data[i]:
            j += 1
        if j - i >= 2:
            out += bytes([257 - (j - i), data[i]])
            i = j
            continue
        j = i
        while j < len(data) and j - i < 128 and not (j + 1 < len(data) and data[j] == data[j + 1]):
            j += 1
        j = max(j, i + 1)
        out += bytes([j - i - 1]) + data[i:j]
        i = j
    return bytes(out + b'\x80')

objs = {}
objs[1] = b'<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /Fixture [3 0 R 4 0 R 5 0 R 7 0 R 8 0 R 9 0 R 11 0 R 12 0 R] >>'
objs[2] = b'<< /Type /Pages /Kids [] /Count 0 >>'
def stream(d, data):
    return b'<< ' + d + b' /Length ' + str(len(data)).encode() + b' >>\nstream\n' + data + b'\nendstream'
objs[3] = stream(b'/Filter /FlateDecode', zlib.compress(payload))
objs[4] = stream(b'/Filter [/ASCIIHexDecode /FlateDecode]', zlib.compress(payload).hex().encode() + b'>')
objs[5] = stream(b'/Filter /A#53CII85Decode', base64.a85encode(payload, wrapcol=72) + b'~>')
objs[6] = b'<< /S /JavaScript /JS (app.alert\\(\\"glassav-js\\"\\);\\n) >>'
objs[7] = stream(b'/Filter /LZWDecode', lzw(payload))
objs[8] = stream(b'/Filter /RunLengthDecode', rle(payload))
fl = zlib.compress(payload)
objs[9] = b'<< /Filter /FlateDecode /Length 10 0 R >>\nstream\n' + fl + b'\nendstream'
objs[10] = str(len(fl)).encode()
def png(data, cols, bpp):
    rows = [data[i:i+cols].ljust(cols, b'\0') for i in range(0, len(data), cols)]
    out, prev = bytearray(), bytes(cols)
    for n, row in enumerate(rows):
        ft = n % 5
        enc = bytearray()
        for i, x in enumerate(row):
            a = row[i-bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i-bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = [0, a, b, (a + b) // 2, a if pa <= pb and pa <= pc else (b if pb <= pc else c)][ft]
            enc.append((x - pr) % 256)
        out += bytes([ft]) + enc
        prev = row
    return bytes(out)
def tiff(data, cols, bpp):
    out = bytearray()
    for r in range(0, len(data), cols):
        row = data[r:r+cols]
        out += bytes((row[i] - (row[i-bpp] if i >= bpp else 0)) % 256 for i in range(len(row)))
    return bytes(out)
padded = payload + bytes(-len(payload) % 16)
objs[11] = stream(b'/Filter /FlateDecode /DecodeParms << /Predictor 15 /Columns 8 /Colors 2 >>', zlib.compress(png(padded, 16, 2)))
objs[12] = stream(b'/Filter /FlateDecode /DecodeParms << /Predictor 2 /Columns 4 /Colors 4 >>', zlib.compress(tiff(padded, 16, 4)))
out = bytearray(b'%PDF-1.5\n%\xe2\xe3\xcf\xd3\n')
offs = {}
for n in sorted(objs):
    offs[n] = len(out)
    out += b'%d 0 obj\n' % n + objs[n] + b'\nendobj\n'
x = len(out)
out += b'xref\n0 %d\n' % (len(objs) + 1) + b'0000000000 65535 f \n'
for n in sorted(objs):
    out += b'%010d 00000 n \n' % offs[n]
out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objs) + 1, x)
sys.stdout.buffer.write(out)
`

func buildPDF(t *testing.T, payload []byte) string {
	t.Helper()
	return writeTemp(t, "fixture.pdf", runPython(t, pdfScript, writeTemp(t, "payload", payload)))
}

// pdfPayloads returns the names of the members whose bytes are payload
// (the predictor streams pad it with zeros to whole rows of 16 bytes).
func pdfPayloads(ms []Member, payload []byte) []string {
	var names []string
	for _, m := range ms {
		if pad := len(m.Data) - len(payload); pad >= 0 && pad < 16 && bytes.Equal(m.Data[:len(payload)], payload) && !bytes.ContainsFunc(m.Data[len(payload):], func(r rune) bool { return r != 0 }) {
			names = append(names, m.Name)
		}
	}
	return names
}

func wantJS(t *testing.T, ms []Member) {
	t.Helper()
	for _, m := range ms {
		if strings.HasSuffix(m.Name, " JS") && bytes.Contains(m.Data, []byte(`app.alert("glassav-js");`)) {
			return
		}
	}
	t.Fatalf("no /JS member among %d", len(ms))
}

func TestPDF(t *testing.T) {
	payload := readPayload(t)
	ms := unpackOK(t, pdfFormat(), readFile(t, buildPDF(t, payload)))
	got := strings.Join(pdfPayloads(ms, payload), ",")
	if want := "3 0 obj,4 0 obj,5 0 obj,7 0 obj,8 0 obj,9 0 obj,11 0 obj,12 0 obj"; got != want {
		t.Fatalf("payload members %q, want %q", got, want)
	}
	wantJS(t, ms)
}

// TestPDFQPDF checks the fixture's encoders with qpdf, and opens qpdf's
// rewrite of it with object streams: the /JS object then lives in a
// compressed /ObjStm.
func TestPDFQPDF(t *testing.T) {
	payload := readPayload(t)
	in := buildPDF(t, payload)
	dir := t.TempDir()
	runTool(t, dir, "qpdf", "--stream-data=uncompress", "--decode-level=all", in, "plain.pdf")
	if n := bytes.Count(readFile(t, filepath.Join(dir, "plain.pdf")), payload); n != 8 {
		t.Fatalf("qpdf decodes the payload from %d streams, want 8", n)
	}
	runTool(t, dir, "qpdf", "--object-streams=generate", in, "objstm.pdf")
	data := readFile(t, filepath.Join(dir, "objstm.pdf"))
	if !bytes.Contains(data, []byte("/ObjStm")) || bytes.Contains(data, []byte("glassav-js")) {
		t.Fatal("qpdf did not hide the /JS object in a compressed object stream")
	}
	ms := unpackOK(t, pdfFormat(), data)
	if n := len(pdfPayloads(ms, payload)); n != 8 {
		t.Fatalf("%d payload members, want 8", n)
	}
	wantJS(t, ms)
}

func TestPDFPeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, buildPDF(t, payload), payload)
}

func TestPDFClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, pdfFormat(), readFile(t, testFile(t, "clam.pdf")))
	if len(pdfPayloads(ms, clam)) == 0 {
		t.Fatalf("clam.exe not among %d members", len(ms))
	}
}

func TestPDFEncrypted(t *testing.T) {
	payload := readPayload(t)
	dir := t.TempDir()
	runTool(t, dir, "qpdf", "--encrypt", "user", "owner", "256", "--", buildPDF(t, payload), "enc.pdf")
	ms := unpackOK(t, pdfFormat(), readFile(t, filepath.Join(dir, "enc.pdf")))
	enc := 0
	for _, m := range ms {
		if m.Encrypted {
			enc++
		}
		if bytes.Contains(m.Data, payload[100:200]) {
			t.Fatalf("member %q of an encrypted file holds the payload", m.Name)
		}
	}
	if enc < 6 {
		t.Fatalf("%d encrypted members, want at least 6", enc)
	}
	// The peer cannot read it either: it reports the encryption when asked.
	out, err := exec.Command(testenv.NeedTool(t, "clamscan"), "--no-summary", "--alert-encrypted=yes",
		"-d", writeTemp(t, "p.ndb", []byte("Glassav.Test.Payload:0:*:"+hex.EncodeToString(payload[100:132])+"\n")),
		filepath.Join(dir, "enc.pdf")).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte("Heuristics.Encrypted.PDF FOUND")) {
		t.Fatalf("clamscan: %v, want exit 1 with Heuristics.Encrypted.PDF:\n%s", err, out)
	}
}

// TestPDFDecrypt opens documents qpdf encrypted with an empty user
// password, one per revision of the standard security handler: they open
// in any viewer without a password, so the unpacker decrypts them too.
func TestPDFDecrypt(t *testing.T) {
	payload := readPayload(t)
	in := buildPDF(t, payload)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"rc4-40 R2", []string{"40"}},
		{"rc4-128 R3", []string{"128", "--use-aes=n"}},
		{"aes-128 R4", []string{"128", "--use-aes=y"}},
		{"aes-256 R5", []string{"256", "--force-R5"}},
		{"aes-256 R6", []string{"256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append(append([]string{"--allow-weak-crypto", "--encrypt", "", "owner"}, tc.args...), "--", in, "enc.pdf")
			runTool(t, dir, "qpdf", args...)
			data := readFile(t, filepath.Join(dir, "enc.pdf"))
			if bytes.Contains(data, []byte("glassav-js")) {
				t.Fatal("qpdf left the /JS string in clear")
			}
			ms := unpackOK(t, pdfFormat(), data)
			if n := len(pdfPayloads(ms, payload)); n != 8 {
				t.Fatalf("%d payload members, want 8", n)
			}
			wantJS(t, ms)
			clamscanFinds(t, filepath.Join(dir, "enc.pdf"), payload)
		})
	}
}

func TestPDFBomb(t *testing.T) {
	// A 64 MiB run of zeros in a small Flate stream: the ratio limit stops
	// it without decoding it all into the member.
	bomb := runPython(t, `
import sys, zlib
z = zlib.compress(b'\0' * (64 << 20), 9)
sys.stdout.buffer.write(b'%PDF-1.4\n1 0 obj\n<< /Filter /FlateDecode /Length ' + str(len(z)).encode() + b' >>\nstream\n' + z + b'\nendstream\nendobj\n%%EOF\n')
`)
	_, err := checkUnpack(t, pdfFormat(), bomb, Limits{MaxRatio: 100})
	if le, ok := IsLimit(err); !ok || (le.Limit != LimitRatio && le.Limit != LimitFileSize) {
		t.Fatalf("bomb: %v, want the ratio or file size limit", err)
	}
}

func TestPDFDamaged(t *testing.T) {
	checkDamaged(t, pdfFormat(), readFile(t, buildPDF(t, readPayload(t))))
}

func FuzzUnpackPDF(f *testing.F) {
	seeds := [][]byte{
		[]byte("%PDF-1.4\n1 0 obj\n<< /Filter [/AHx /RL] /Length 9 >>\nstream\n02414243>\nendstream\nendobj\n2 0 obj\n<< /JS (x\\(\\)) /N [1 2 R] >>\nendobj\n%%EOF\n"),
		[]byte("%PDF-1.5\n4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length 20 >>\nstream\n5 0 << /JS <41> >>\nendstream\nendobj\n"),
		[]byte("%PDF-1.4\n1 0 obj\n<< /Filter /LZW >>\nstream\n\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01\nendstream\n"),
		[]byte("%PDF-1.4\n1 0 obj\n<< /Length 4 >>\nstream\nabcd\nendstream\nendobj\n2 0 obj\n<< /Filter /Standard /V 4 /R 4 /Length 128 /StmF /StdCF /CF << /StdCF << /CFM /AESV2 >> >> /O <00> /U <00> /P -4 >>\nendobj\ntrailer\n<< /Encrypt 2 0 R /ID [<0011> <0011>] >>\n%%EOF\n"),
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.pdf"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, pdfFormat(), seeds...)
}
