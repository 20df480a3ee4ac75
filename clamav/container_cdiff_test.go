package clamav

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestCDiff(t *testing.T, n int) (string, []byte) {
	t.Helper()
	name := fmt.Sprintf("test-%d.cdiff", n)
	b, err := os.ReadFile(filepath.Join(containerTestdata(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return name, b
}

// TestApplyCDiffChain applies test-2..6.cdiff in turn, starting from
// test-1.cvd, and checks each result against the matching test-N.cvd.
func TestApplyCDiffChain(t *testing.T) {
	name, data := readTestCVD(t, 1)
	cur, err := ReadContainer(name, data)
	if err != nil {
		t.Fatal(err)
	}
	for n := 2; n <= 6; n++ {
		dname, diff := readTestCDiff(t, n)
		next, err := ApplyCDiff(cur, dname, diff)
		if err != nil {
			t.Fatalf("%s: %v", dname, err)
		}
		wname, wdata := readTestCVD(t, n)
		want, err := ReadContainer(wname, wdata)
		if err != nil {
			t.Fatal(err)
		}
		if next.Name != "test-1.cld" || !next.Official || next.Header.Version != n || next.Header.Signatures != want.Header.Signatures {
			t.Errorf("%s: name=%s official=%v header=%+v", dname, next.Name, next.Official, next.Header)
		}
		if len(next.Files) != len(want.Files) {
			t.Errorf("%s: %d members, %s has %d", dname, len(next.Files), wname, len(want.Files))
		}
		for _, f := range want.Files {
			if g := next.File(f.Name); g == nil || !bytes.Equal(g.Data, f.Data) {
				t.Errorf("%s: member %s differs from %s", dname, f.Name, wname)
			}
		}
		cur = next
	}
}

func TestApplyCDiffRefuses(t *testing.T) {
	name, data := readTestCVD(t, 2)
	c2, err := ReadContainer(name, data)
	if err != nil {
		t.Fatal(err)
	}
	_, diff3 := readTestCDiff(t, 3)
	_, diff4 := readTestCDiff(t, 4)
	unofficial := *c2
	unofficial.Official = false
	tests := []struct {
		name    string
		c       *Container
		diff    []byte
		wantErr error
		wantMsg string
	}{
		{"wrong version", c2, diff4, nil, "does not apply to version 2"},
		{"flipped script byte", c2, cvdFlipByte(diff3, 40), ErrBadSignature, ""},
		{"flipped dsig", c2, []byte(strings.Replace(string(diff3), ":pYTSbR9V", ":pYTSbR9W", 1)), ErrBadSignature, ""},
		{"no dsig", c2, diff3[:bytes.LastIndexByte(diff3, ':')+1], nil, "no digital signature"},
		{"not a cdiff", c2, []byte("hello"), nil, "no ClamAV-Diff: magic"},
		{"unofficial base", &unofficial, diff3, nil, "only to official"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ApplyCDiff(tt.c, "test-3.cdiff", tt.diff)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	// A correctly signed update applied to altered members: the script's
	// XCHG/DEL checks or the new manifest catch it.
	altered := *c2
	altered.Files = containerReplace(c2.Files, "test.info", func(b []byte) []byte {
		return bytes.Replace(b, []byte("ClamAV-VDB:22"), []byte("ClamAV-VDB:23"), 1)
	})
	if _, err := ApplyCDiff(&altered, "test-3.cdiff", diff3); err == nil || !strings.Contains(err.Error(), "line does not match") {
		t.Errorf("altered base: err = %v", err)
	}
}

func TestRunCDiff(t *testing.T) {
	base := []ContainerFile{
		{"a.ndb", []byte("a1\na2\na3\na4\n")},
		{"b.ndb", []byte("b1\r\nb2")},
	}
	tests := []struct {
		name   string
		script string
		want   map[string]string // nil value: member absent
		msg    string
	}{
		{"add", "OPEN a.ndb\nADD a5\nADD a6 with spaces\nCLOSE\n", map[string]string{"a.ndb": "a1\na2\na3\na4\na5\na6 with spaces\n"}, ""},
		{"create", "OPEN c.ndb\nADD c1\nCLOSE\n", map[string]string{"c.ndb": "c1\n"}, ""},
		{"del", "OPEN a.ndb\nDEL 3 a3\nDEL 1 a\nCLOSE\n", map[string]string{"a.ndb": "a2\na4\n"}, ""},
		{"xchg", "OPEN a.ndb\nXCHG 2 a2 x y z\nXCHG 4 a4 w\nCLOSE\n", map[string]string{"a.ndb": "a1\nx y z\na3\nw\n"}, ""},
		{"rewrite normalizes", "OPEN b.ndb\nXCHG 1 b1 B1\nCLOSE\n", map[string]string{"b.ndb": "B1\nb2\n"}, ""},
		{"del add", "OPEN a.ndb\nDEL 4 a4\nADD a9\nCLOSE\n", map[string]string{"a.ndb": "a1\na2\na3\na9\n"}, ""},
		{"unlink", "OPEN b.ndb\nUNLINK\nCLOSE\n", map[string]string{"b.ndb": ""}, ""},
		{"move", "MOVE a.ndb b.ndb 2 a2 3 a3\n", map[string]string{"a.ndb": "a1\na4\n", "b.ndb": "b1\r\nb2a2\na3\n"}, ""},
		{"comment", "# 16384\nOPEN a.ndb\nCLOSE\n", map[string]string{"a.ndb": "a1\na2\na3\na4\n"}, ""},
		{"del mismatch", "OPEN a.ndb\nDEL 2 a3\nCLOSE\n", nil, "line 3: DEL a.ndb line 2: line does not match"},
		{"del past end", "OPEN a.ndb\nDEL 9 a9\nCLOSE\n", nil, "not every DEL or XCHG"},
		{"xchg out of order", "OPEN a.ndb\nXCHG 3 a3 x\nXCHG 1 a1 y\nCLOSE\n", nil, "not every DEL or XCHG"},
		{"del and xchg same line", "OPEN a.ndb\nDEL 1 a1\nXCHG 1 a1 y\nCLOSE\n", nil, "not every DEL or XCHG"},
		{"edit missing", "OPEN z.ndb\nDEL 1 z\nCLOSE\n", nil, "no such member"},
		{"no open", "ADD x\n", nil, "ADD with no open member"},
		{"double open", "OPEN a.ndb\nOPEN b.ndb\n", nil, "while a.ndb is open"},
		{"left open", "OPEN a.ndb\nADD x\n", nil, "ends with a.ndb open"},
		{"bad name", "OPEN ../x\n", nil, "path separator"},
		{"unknown", "PATCH a.ndb\n", nil, "unknown command"},
		{"empty line", "\n", nil, "unknown command"},
		{"bad line no", "OPEN a.ndb\nDEL x a1\n", nil, "bad line number"},
		{"zero line no", "OPEN a.ndb\nDEL 0 a1\n", nil, "bad line number"},
		{"move open", "OPEN a.ndb\nMOVE a.ndb b.ndb 1 a1 2 a2\n", nil, "MOVE while a.ndb is open"},
		{"move mismatch", "MOVE a.ndb b.ndb 1 a1 2 zz\n", nil, "line does not match"},
		{"move range", "MOVE a.ndb b.ndb 3 a3 9 a9\n", nil, "not found"},
		{"move missing", "MOVE a.ndb z.ndb 1 a1 2 a2\n", nil, "no such member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runCDiff(base, []byte(tt.script), DefaultLimits())
			if tt.msg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, f := range got {
				m[f.Name] = string(f.Data)
			}
			for name, want := range tt.want {
				g, ok := m[name]
				if want == "" {
					if ok {
						t.Errorf("%s still present", name)
					}
					continue
				}
				if g != want {
					t.Errorf("%s = %q, want %q", name, g, want)
				}
			}
		})
	}
	if string(base[0].Data) != "a1\na2\na3\na4\n" || string(base[1].Data) != "b1\r\nb2" {
		t.Error("runCDiff modified its input")
	}
}

func TestOpenCDiffScriptLimit(t *testing.T) {
	_, diff := readTestCDiff(t, 3)
	lim := DefaultLimits()
	lim.MaxTotalSize = 100
	if _, _, err := openCDiff(diff, lim); !errors.Is(err, ErrLimit) {
		t.Errorf("err = %v, want %v", err, ErrLimit)
	}
}

func FuzzRunCDiff(f *testing.F) {
	f.Add([]byte("OPEN a.ndb\nDEL 2 a2\nXCHG 3 a3 x\nADD y\nCLOSE\nMOVE a.ndb b.ndb 1 a1 2 x\nOPEN b.ndb\nUNLINK\nCLOSE\n"))
	f.Add([]byte("OPEN c.ndb\nADD q\nCLOSE\n"))
	f.Fuzz(func(t *testing.T, script []byte) {
		base := []ContainerFile{{"a.ndb", []byte("a1\na2\na3\n")}, {"b.ndb", []byte("b1\n")}}
		lim := Limits{MaxTotalSize: 1 << 16, MaxMemberSize: 1 << 16, MaxMembers: 10}
		got, err := runCDiff(base, script, lim)
		if err != nil {
			return
		}
		var total int64
		for _, f := range got {
			total += int64(len(f.Data))
		}
		if total > lim.MaxTotalSize || len(got) > lim.MaxMembers {
			t.Fatalf("limits exceeded: %d bytes, %d members", total, len(got))
		}
	})
}

// TestMarshalCLD writes the result of the update chain as a .cld, reads it
// back, and checks that ClamAV loads it like test-6.cvd.
func TestMarshalCLD(t *testing.T) {
	name, data := readTestCVD(t, 5)
	c5, err := ReadContainer(name, data)
	if err != nil {
		t.Fatal(err)
	}
	dname, diff := readTestCDiff(t, 6)
	c6, err := ApplyCDiff(c5, dname, diff)
	if err != nil {
		t.Fatal(err)
	}
	for _, withCopying := range []bool{true, false} {
		c := *c6
		if !withCopying {
			c.Files = containerDrop(c6.Files, "COPYING")
		}
		cld, err := c.MarshalCLD()
		if err != nil {
			t.Fatal(err)
		}
		if gz := bytes.HasPrefix(cld[HeaderSize:], []byte{0x1f, 0x8b}); gz == withCopying {
			t.Errorf("COPYING=%v: gzip=%v", withCopying, gz)
		}
		back, err := ReadContainer("test.cld", cld)
		if err != nil {
			t.Fatalf("COPYING=%v: %v", withCopying, err)
		}
		if back.Header != c6.Header || len(back.Files) != len(c.Files) {
			t.Errorf("COPYING=%v: read back %+v, %d members", withCopying, back.Header, len(back.Files))
		}
		if !withCopying {
			continue
		}
		clamscan := containerTool(t, "clamscan")
		dir := t.TempDir()
		db := filepath.Join(dir, "test.cld")
		if err := os.WriteFile(db, cld, 0o644); err != nil {
			t.Fatal(err)
		}
		want := clamscanKnownViruses(t, clamscan, filepath.Join(containerTestdataAbs(t), "test-6.cvd"))
		if got := clamscanKnownViruses(t, clamscan, db); got != want || got <= 0 {
			t.Errorf("clamscan loaded %d signatures from our .cld, %d from test-6.cvd", got, want)
		}
	}
}
