package unpack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/internal/testenv"
)

// runPython runs a Python 3 script with args and returns its standard
// output; fixtures for the text formats are built with Python's standard
// library (email, mailbox, zlib, struct), an encoder independent of ours.
func runPython(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	py := testenv.NeedTool(t, "python3")
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// writeTemp writes data to a file called name in a new temporary
// directory and returns its path.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mailScript builds a message with Python's email package: a text part,
// the payload as base64, quoted-printable (bare CRs made NULs, as
// quoted-printable cannot carry them) and uuencode attachments, an
// HTML part inside a nested multipart/alternative, and an attached
// message/rfc822 that carries the payload again.
const mailScript = `
import sys, email.message, email.policy, email.encoders, email.mime.application, email.mime.multipart, email.mime.text, email.mime.message, email.mime.base, binascii, email.generator, io
payload = open(sys.argv[1], 'rb').read()
outer = email.mime.multipart.MIMEMultipart('mixed')
outer['Subject'] = 'fixture'
outer['From'] = 'a@example.com'
outer['To'] = 'b@example.com'
alt = email.mime.multipart.MIMEMultipart('alternative')
alt.attach(email.mime.text.MIMEText('plain body\n', 'plain'))
alt.attach(email.mime.text.MIMEText('<html><body>html body</body></html>\n', 'html'))
outer.attach(alt)
b64 = email.mime.application.MIMEApplication(payload, 'octet-stream')
b64.add_header('Content-Disposition', 'attachment', filename='b64.exe')
outer.attach(b64)
qp = email.mime.base.MIMEBase('application', 'octet-stream')
qp.set_payload(payload.replace(b'\r', b'\0'))  # QP line breaks fold a bare CR
email.encoders.encode_quopri(qp)
qp.add_header('Content-Disposition', 'attachment', filename='qp.exe')
outer.attach(qp)
uu = email.mime.base.MIMEBase('application', 'octet-stream')
lines = ['begin 644 uu.exe']
for i in range(0, len(payload), 45):
    lines.append(binascii.b2a_uu(payload[i:i+45]).decode().rstrip('\n'))
lines += [chr(96), 'end', '']
uu.set_payload('\n'.join(lines))
uu['Content-Transfer-Encoding'] = 'x-uuencode'
uu.add_header('Content-Disposition', 'attachment', filename='uu.exe')
outer.attach(uu)
inner = email.mime.multipart.MIMEMultipart('mixed')
inner['Subject'] = 'inner'
ia = email.mime.application.MIMEApplication(payload, 'octet-stream')
ia.add_header('Content-Disposition', 'attachment', filename='inner.exe')
inner.attach(ia)
outer.attach(email.mime.message.MIMEMessage(inner))
buf = io.BytesIO()
email.generator.BytesGenerator(buf, mangle_from_=False).flatten(outer)
sys.stdout.buffer.write(buf.getvalue())
`

// mboxScript writes an mbox of two messages, each with the payload
// attached under a different name, with Python's mailbox module.
const mboxScript = `
import sys, mailbox, email.mime.multipart, email.mime.application, email.mime.text, os
payload = open(sys.argv[1], 'rb').read()
box = mailbox.mbox(sys.argv[2])
for name in ('first.exe', 'second.exe'):
    m = email.mime.multipart.MIMEMultipart()
    m['From'] = 'x@example.com'
    m['Subject'] = name
    m.attach(email.mime.text.MIMEText('From the start of a line\n'))
    a = email.mime.application.MIMEApplication(payload)
    a.add_header('Content-Disposition', 'attachment', filename=name)
    m.attach(a)
    box.add(m)
box.flush()
box.close()
`

func buildMail(t *testing.T, payload []byte) []byte {
	t.Helper()
	return runPython(t, mailScript, writeTemp(t, "payload", payload))
}

func TestMail(t *testing.T) {
	payload := readPayload(t)
	msg := buildMail(t, payload)
	ms := unpackOK(t, mailFormat(), msg)
	for _, name := range []string{"b64.exe", "uu.exe", "inner.exe"} {
		wantMember(t, ms, name, payload)
	}
	wantMember(t, ms, "qp.exe", bytes.ReplaceAll(payload, []byte("\r"), []byte{0}))
	var html, plain bool
	for _, m := range ms {
		if m.Type == filetype.HTML && bytes.Contains(m.Data, []byte("html body")) {
			html = true
		}
		if bytes.Contains(m.Data, []byte("plain body")) {
			plain = true
		}
	}
	if !html || !plain {
		t.Fatalf("text parts missing: html %v plain %v", html, plain)
	}
	// Members come in message order.
	var order []string
	for _, m := range ms {
		if strings.HasSuffix(m.Name, ".exe") {
			order = append(order, m.Name)
		}
	}
	if got := strings.Join(order, ","); got != "b64.exe,qp.exe,uu.exe,inner.exe" {
		t.Fatalf("attachment order %s", got)
	}
}

func TestMailPeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, writeTemp(t, "fixture.eml", buildMail(t, payload)), payload)
}

func TestMbox(t *testing.T) {
	payload := readPayload(t)
	box := filepath.Join(t.TempDir(), "box.mbox")
	runPython(t, mboxScript, writeTemp(t, "payload", payload), box)
	data := readFile(t, box)
	if !bytes.HasPrefix(data, []byte("From ")) {
		t.Fatalf("mailbox does not start with a From line: %q", data[:min(40, len(data))])
	}
	ms := unpackOK(t, mailFormat(), data)
	wantMember(t, ms, "first.exe", payload)
	wantMember(t, ms, "second.exe", payload)
	clamscanFinds(t, box, payload)
}

// TestMailInline checks the uuencoded, BinHex and yEnc files old mailers
// put in a plain text body, encoded by sharutils' uuencode, macutils'
// binhex and a Python yEnc encoder.
func TestMailInline(t *testing.T) {
	payload := readPayload(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "inline.exe")
	if err := os.WriteFile(p, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	uu := toolOutput(t, dir, "uuencode", "inline.exe", "inline.exe")
	hqx := toolOutput(t, dir, "binhex", "-d", "inline.exe")
	yenc := runPython(t, yencScript, p)
	msg := "From: a@example.com\nSubject: old style\n\nHere it is:\n\n" + string(uu) + "\nand again:\n\n" + string(hqx) + "\nyEnc:\n" + string(yenc)
	ms := unpackOK(t, mailFormat(), []byte(msg))
	var n int
	for _, m := range ms {
		if m.Name == "inline.exe" {
			if !bytes.Equal(m.Data, payload) {
				t.Fatalf("inline member of %d bytes differs from the payload", len(m.Data))
			}
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d inline members, want 3 (uuencode, BinHex, yEnc)", n)
	}
}

// yencScript encodes a file as yEnc 1.3 in Python: each byte plus 42,
// with NUL, LF, CR and "=" escaped as "=" and the byte plus 64, lines of
// 128 characters.
const yencScript = `
import sys, os, zlib
data = open(sys.argv[1], 'rb').read()
out, line = [], bytearray()
for b in data:
    c = (b + 42) % 256
    if c in (0, 10, 13, 61):
        line += bytes([61, (c + 64) % 256])
    else:
        line.append(c)
    if len(line) >= 128:
        out.append(bytes(line)); line = bytearray()
if line:
    out.append(bytes(line))
name = os.path.basename(sys.argv[1])
sys.stdout.buffer.write(b'=ybegin line=128 size=%d name=%s\r\n' % (len(data), name.encode()) + b'\r\n'.join(out) + b'\r\n=yend size=%d crc32=%08x\r\n' % (len(data), zlib.crc32(data)))
`

// toolOutput runs a tool in dir and returns its standard output.
func toolOutput(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(testenv.NeedTool(t, name), args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func TestMailClamTestFiles(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	for _, f := range []string{"clam.mail", "clam.exe.mbox.base64", "clam.exe.mbox.uu"} {
		t.Run(f, func(t *testing.T) {
			ms := unpackOK(t, mailFormat(), readFile(t, testFile(t, f)))
			wantMember(t, ms, "clam.exe", clam)
		})
	}
}

func TestMailLimits(t *testing.T) {
	// Nesting deeper than MaxRecursion stops with the recursion limit.
	var b strings.Builder
	for i := 0; i < 50; i++ {
		bd := fmt.Sprintf("B%03d", i)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"" + bd + "\"\n\n--" + bd + "\n")
	}
	b.WriteString("\nleaf\n")
	_, err := checkUnpack(t, mailFormat(), []byte(b.String()), Limits{MaxRecursion: 10})
	if le, ok := IsLimit(err); !ok || le.Limit != LimitRecursion {
		t.Fatalf("deep nesting: %v, want the recursion limit", err)
	}
	// Many parts stop at MaxFiles.
	b.Reset()
	b.WriteString("Content-Type: multipart/mixed; boundary=B\n\n")
	for i := 0; i < 100; i++ {
		b.WriteString("--B\n\npart\n")
	}
	_, err = checkUnpack(t, mailFormat(), []byte(b.String()), Limits{MaxFiles: 20})
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFiles {
		t.Fatalf("many parts: %v, want the files limit", err)
	}
}

func TestMailDamaged(t *testing.T) {
	payload := readPayload(t)
	msg := buildMail(t, payload)
	// A message cut in its last attachment still yields the first ones,
	// then reports the missing closing boundary.
	cut := msg[:len(msg)*3/4]
	ms, err := checkUnpack(t, mailFormat(), cut, Limits{})
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("truncated mail: %v, want a FormatError", err)
	}
	wantMember(t, ms, "b64.exe", payload)
	for _, at := range []int{len(msg) / 7, len(msg) / 3, len(msg) / 2} {
		d := bytes.Clone(msg)
		d[at] ^= 0x55
		checkUnpack(t, mailFormat(), d, Limits{})
	}
}

func FuzzUnpackMail(f *testing.F) {
	seeds := [][]byte{
		[]byte("From: a\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: base64\n\nTVpQ\n--x\nContent-Transfer-Encoding: quoted-printable\n\n=4D=5A=\n--x--\n"),
		[]byte("From a@b Thu Jan 1 00:00:00 2000\nSubject: s\n\nbegin 644 a\n#86)C\n\x60\nend\n\nFrom b@c Thu\n\nx\n"),
		[]byte("Subject: y\n\n=ybegin line=128 size=3 name=a.bin\r\n\x8b\x8c=}\r\n=yend size=3\r\n\n(This file must be converted with BinHex 4.0)\n:!!:\n"),
	}
	for _, name := range []string{"clam.mail", "clam.exe.mbox.base64", "clam.exe.mbox.uu"} {
		if data, err := os.ReadFile("/usr/share/clamav-testfiles/" + name); err == nil {
			seeds = append(seeds, data)
		}
	}
	fuzzFormat(f, mailFormat(), seeds...)
}
