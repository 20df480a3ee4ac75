package engine

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/unpack"
)

// TestPackedImageIsExecutable checks that an unpacked, rebuilt program is
// scanned as an executable: signatures anchored at its entry point and at
// its sections (EP+0, S1+0) match in clam-upx.exe through the "upx"
// format, as they do in clamscan, which rebuilds the same image; anchored
// one byte off, they match in neither.
func TestPackedImageIsExecutable(t *testing.T) {
	file := clamTestFile(t, "clam-upx.exe")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rebuilt []byte
	b := unpack.NewBudget(unpack.Limits{})
	if err := unpack.ByName("upx").Unpack(context.Background(), data, b, func(m unpack.Member) error {
		rebuilt = m.Data
		return nil
	}); err != nil || rebuilt == nil {
		t.Fatalf("upx: %v (member: %v)", err, rebuilt != nil)
	}
	info, err := exe.Parse(rebuilt)
	if err != nil || len(info.Sections) < 2 {
		t.Fatalf("rebuilt image: %v", err)
	}
	ep := hex.EncodeToString(rebuilt[info.EntryPoint : info.EntryPoint+16])
	// The first bytes of section 1 that are not zero, and where they are.
	sec := rebuilt[info.Sections[1].Offset : info.Sections[1].Offset+info.Sections[1].Size]
	k := slices.IndexFunc(sec, func(c byte) bool { return c != 0 })
	if k < 0 || k+16 > len(sec) {
		t.Fatal("section 1 of the rebuilt image is empty")
	}
	s1 := hex.EncodeToString(sec[k : k+16])
	at := func(d int) string { return strconv.Itoa(k + d) }
	for _, tc := range []struct {
		db   string
		want []string
	}{
		{"Packed.EP:1:EP+0:" + ep + "\nPacked.S1:1:S1+" + at(0) + ":" + s1 + "\n", []string{"Packed.EP.UNOFFICIAL", "Packed.S1.UNOFFICIAL"}},
		{"Packed.EP:1:EP+1:" + ep + "\nPacked.S1:1:S1+" + at(1) + ":" + s1 + "\n", nil},
	} {
		r, dir := loadDB(t, map[string]string{"p.ndb": tc.db})
		opt := deep(1)
		opt.AllMatch = true
		res := scanFile(t, r, file, opt)
		var got []string
		for _, m := range res.Matches {
			got = append(got, m.Name)
			if !slices.Contains(m.Via, "upx") {
				t.Errorf("%s reached by %v, want through upx", m.Name, m.Via)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("glassav matched %v, want %v (db %q)", got, tc.want, tc.db)
		}

		clamscan := testenv.NeedTool(t, "clamscan")
		out, err := exec.Command(clamscan, "--no-summary", "--allmatch", "-d", filepath.Join(dir, "p.ndb"), file).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		wantCode := 0
		if len(tc.want) > 0 {
			wantCode = 1
		}
		if code != wantCode {
			t.Errorf("clamscan exit status %d, want %d:\n%s", code, wantCode, out)
		}
		for _, name := range tc.want {
			if !strings.Contains(string(out), name+" FOUND") {
				t.Errorf("clamscan did not report %s:\n%s", name, out)
			}
		}
	}
}
