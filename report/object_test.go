package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSetPathRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		raw, path string
		b64       bool
	}{
		{"t/bad.txt", "t/bad.txt", false},
		{"dir/caf\u00e9", "dir/caf\u00e9", false},
		{"dir/caf\xe9", `dir/caf\xe9`, true},
		{"\xff\xfe", `\xff\xfe`, true},
		{"a\\x41\x80", `a\x41\x80`, true}, // a literal \x41 stays; only b64 is exact
		{"", "", false},
	} {
		o := NewObject(tc.raw, StatusOK)
		if o.Path != tc.path || (o.PathB64 != "") != tc.b64 {
			t.Errorf("SetPath(%q): path %q b64 %q, want path %q b64 %v", tc.raw, o.Path, o.PathB64, tc.path, tc.b64)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(b) || bytes.Contains(b, []byte(`\ufffd`)) {
			t.Errorf("JSON for %q is lossy: %s", tc.raw, b)
		}
		var back Object
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.RawPath()
		if err != nil || got != tc.raw {
			t.Errorf("round trip of %q: got %q, %v", tc.raw, got, err)
		}
	}
}

func TestRawPathBadBase64(t *testing.T) {
	o := &Object{Path: "x", PathB64: "!!"}
	if _, err := o.RawPath(); err == nil {
		t.Fatal("RawPath accepted bad base64")
	}
}

// FuzzPathRoundTrip checks that any byte string survives the JSON schema.
func FuzzPathRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "\xff", "caf\xc3\xa9", "\xc3", `\x41`, "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o := NewObject(raw, StatusFound)
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back Object
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.RawPath()
		if err != nil || got != raw {
			t.Fatalf("round trip of %q: got %q, %v", raw, got, err)
		}
		if !utf8.ValidString(back.Path) {
			t.Fatalf("path %q not UTF-8", back.Path)
		}
	})
}

func TestJSONSchema(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONWriter(&buf)
	o := NewObject("d/\xffx", StatusOK)
	o.Size = 30
	o.Scanned = 30
	o.Type = "CL_TYPE_TEXT_ASCII"
	o.Status = StatusFound
	o.Detections = []Detection{{Name: "Test.Sig.UNOFFICIAL", Database: "db.ndb", Line: 2, Kind: "body"}}
	o.Hashes = &Hashes{MD5: "00112233445566778899aabbccddeeff"}
	if err := w.Object(o); err != nil {
		t.Fatal(err)
	}
	lim := NewObject("big", StatusOK)
	lim.Size = 200
	lim.SetLimit(LimitMaxFileSize, false)
	w.Object(lim)
	e := NewObject("gone", StatusOK)
	e.SetError(CodeCantAccess, "No such file or directory")
	w.Object(e)
	want := `{"record":"object","path":"d/\\xffx","path_b64":"ZC//eA==","status":"found","detections":[{"name":"Test.Sig.UNOFFICIAL","database":"db.ndb","line":2,"kind":"body"}],"type":"CL_TYPE_TEXT_ASCII","size":30,"scanned":30,"hashes":{"md5":"00112233445566778899aabbccddeeff"}}
{"record":"object","path":"big","status":"skipped","code":"limit","size":200,"limit":"MaxFileSize"}
{"record":"object","path":"gone","status":"error","code":"cant_access","size":0,"error":"No such file or directory"}
`
	if got := buf.String(); got != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("line %s: %v", line, err)
		}
	}
}

func TestSetLimitAlert(t *testing.T) {
	o := NewObject("f", StatusOK)
	o.SetLimit(LimitMaxScanSize, true)
	if o.Status != StatusFound || len(o.Detections) != 1 || o.Detections[0].Name != "Heuristics.Limits.Exceeded.MaxScanSize" || o.Limit != LimitMaxScanSize {
		t.Errorf("SetLimit alert: %+v", o)
	}
}
