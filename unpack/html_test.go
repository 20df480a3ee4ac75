package unpack

import (
	"bytes"
	"os"
	"testing"
)

// htmlScript writes a page with Python's base64 and urllib: the payload
// as a base64 data: URI in a link, percent-encoded in an image source,
// unquoted in a CSS url(), and as %uXXXX escapes passed to unescape() in
// a script. With "utf16" it writes the page as UTF-16LE with a BOM.
const htmlScript = `
import sys, base64, urllib.parse
p = open(sys.argv[1], 'rb').read()
b64 = base64.b64encode(p).decode()
pct = urllib.parse.quote_from_bytes(p, safe='')
even = p if len(p) % 2 == 0 else p + b'\0'
u = ''.join('%%u%02X%02X' % (even[i+1], even[i]) for i in range(0, len(even), 2))
page = '<html><head><style>body { background: url(data:application/x-msdownload;base64,' + b64 + ') }</style></head><body>\n'
page += '<a href="data:application/octet-stream;base64,' + b64[:40] + '\n' + b64[40:] + '">x</a>\n'
page += "<img src='data:image/x;foo=bar," + pct + "'>\n"
page += '<script>var s = unescape("' + u + '"); document.write(s.length);</script>\n</body></html>\n'
if len(sys.argv) > 2:
    sys.stdout.buffer.write(b'\xff\xfe' + page.encode('utf-16-le'))
else:
    sys.stdout.buffer.write(page.encode())
`

func buildHTML(t *testing.T, payload []byte, utf16 bool) []byte {
	t.Helper()
	args := []string{writeTemp(t, "payload", payload)}
	if utf16 {
		args = append(args, "utf16")
	}
	return runPython(t, htmlScript, args...)
}

func TestHTML(t *testing.T) {
	payload := readPayload(t)
	even := payload
	if len(even)%2 == 1 {
		even = append(bytes.Clone(payload), 0)
	}
	for _, utf16 := range []bool{false, true} {
		ms := unpackOK(t, htmlFormat(), buildHTML(t, payload, utf16))
		var names []string
		for _, m := range ms {
			names = append(names, m.Name)
			want := payload
			if m.Name == "script:unescape" {
				want = even
			}
			if !bytes.Equal(m.Data, want) {
				t.Errorf("utf16 %v: member %q of %d bytes is not the payload", utf16, m.Name, len(m.Data))
			}
		}
		want := "data:application/x-msdownload data:application/octet-stream data:image/x;foo=bar script:unescape"
		if got := joinNames(names); got != want {
			t.Fatalf("utf16 %v: members %q, want %q", utf16, got, want)
		}
	}
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n)
	}
	return b.String()
}

func TestHTMLPeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, writeTemp(t, "page.html", buildHTML(t, payload, false)), payload)
}

func TestHTMLClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, htmlFormat(), readFile(t, testFile(t, "clam.exe.html")))
	wantMember(t, ms, "octet-stream", clam) // compared after the last "/"
}

// TestHTMLDamaged: HTML has no structure to find broken, so a cut page is
// not an error; the cut data: URI still yields the bytes before the cut.
func TestHTMLDamaged(t *testing.T) {
	payload := readPayload(t)
	page := buildHTML(t, payload, false)
	cut := page[:bytes.Index(page, []byte("base64,"))+7+4000]
	ms, err := checkUnpack(t, htmlFormat(), cut, Limits{})
	if err != nil || len(ms) != 1 || !bytes.Equal(ms[0].Data, payload[:3000]) {
		t.Fatalf("cut page: %d members, error %v; want the first 3000 payload bytes", len(ms), err)
	}
	for _, at := range []int{len(page) / 7, len(page) / 3, len(page) / 2} {
		d := bytes.Clone(page)
		d[at] ^= 0x55
		checkUnpack(t, htmlFormat(), d, Limits{})
	}
}

func FuzzUnpackHTML(f *testing.F) {
	seeds := [][]byte{
		[]byte(`<a href="data:;base64,TVqQ">x</a><img src=data:,%4D%5A><script>unescape('%u5A4D%90')</script>`),
		{0xff, 0xfe, '<', 0, 'a', 0, ' ', 0, 'd', 0, 'a', 0, 't', 0, 'a', 0, ':', 0, ',', 0, 'x', 0},
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe.html"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, htmlFormat(), seeds...)
}
