package main

import (
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/report"
)

// containerFixture builds archives around files holding the marker:
//
//	c/nested.zip   zip → x.tar.gz → x.tar → bad.txt (deflated text)
//	c/deep.zip     zip → in.zip → bad.txt
//	c/many.zip     three clean files, then bad.txt
//	c/enc.zip      bad.txt encrypted
//	c/clean.tar.gz a clean file
func containerFixture(t *testing.T) string {
	t.Helper()
	d := fixture(t)
	for _, tool := range []string{"zip", "tar", "gzip"} {
		testenv.NeedTool(t, tool)
	}
	script := `set -e
mkdir -p w c
cd w
for i in $(seq 300); do echo "padding line $i of a text that deflates well"; done > bad.txt
echo "hello ` + marker + ` world" >> bad.txt
head -c 200000 /dev/urandom > r1
cp /usr/bin/true t1; cp /usr/bin/false t2
tar cf x.tar bad.txt && gzip -9 x.tar && zip -q -9 ../c/nested.zip x.tar.gz
zip -q -9 in.zip bad.txt && zip -q -9 ../c/deep.zip in.zip
zip -q -9 ../c/many.zip t1 t2 r1 bad.txt
zip -q -P secret ../c/enc.zip bad.txt
tar czf ../c/clean.tar.gz t1
`
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = d
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the containers: %v\n%s", err, out)
	}
	return d
}

// TestContainersLikeClamscan compares glassav's and clamscan's replies on
// archives: the verdict under the top-level name, the limits and their
// alerts, and the container switches.
func TestContainersLikeClamscan(t *testing.T) {
	clamscan := needClamscan(t)
	d := containerFixture(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"containers", []string{"-d", "db.ndb", "c"}},
		{"allmatch", []string{"-d", "db.ndb", "-z", "--no-summary", "c/nested.zip", "c/deep.zip"}},
		{"scan-archive off", []string{"-d", "db.ndb", "--scan-archive=no", "c"}},
		{"max-recursion", []string{"-d", "db.ndb", "--max-recursion=2", "c/deep.zip", "c/nested.zip"}},
		{"max-recursion alert", []string{"-d", "db.ndb", "--max-recursion=2", "--alert-exceeds-max", "c/deep.zip", "c/nested.zip"}},
		{"max-recursion enough", []string{"-d", "db.ndb", "--max-recursion=3", "--alert-exceeds-max", "c/deep.zip"}},
		{"max-files alert", []string{"-d", "db.ndb", "--max-files=4", "--alert-exceeds-max", "c/many.zip"}},
		{"max-files enough", []string{"-d", "db.ndb", "--max-files=5", "--alert-exceeds-max", "c/many.zip"}},
		{"max-scansize alert", []string{"-d", "db.ndb", "--max-scansize=300000", "--alert-exceeds-max", "c/many.zip"}},
		{"encrypted", []string{"-d", "db.ndb", "c/enc.zip"}},
		{"alert-encrypted", []string{"-d", "db.ndb", "--alert-encrypted", "c/enc.zip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := execIn(t, d, "", clamscan, tc.args...)
			got := execIn(t, d, "", glassavBin, append([]string{"scan"}, tc.args...)...)
			compare(t, got, want)
			if want.code != 0 && want.code != 1 {
				t.Errorf("clamscan exit status %d", want.code)
			}
		})
	}
}

// TestContainersJSON checks what the JSON report says of a detection
// inside containers: the member path, the formats that opened them, the
// members scanned, and the limits hit.
func TestContainersJSON(t *testing.T) {
	d := containerFixture(t)
	// With --allmatch: the tar holds bad.txt as it is, so the marker is
	// found in x.tar and again in bad.txt inside it.
	cmd := exec.Command(glassavBin, "scan", "--json", "--allmatch", "-d", "db.ndb", "--max-files=4", "c/nested.zip", "c/many.zip")
	cmd.Dir = d
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	objs := map[string]report.Object{}
	var sum report.Summary
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var rec struct{ Record string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		if rec.Record == "summary" {
			json.Unmarshal([]byte(l), &sum)
			continue
		}
		var o report.Object
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		objs[o.Path] = o
	}
	n := objs["c/nested.zip"]
	if n.Status != report.StatusFound || len(n.Detections) != 2 || n.Members != 3 {
		t.Fatalf("nested.zip: %+v", n)
	}
	for i, want := range []struct{ path, via []string }{
		{[]string{"x.tar.gz", "x.tar"}, []string{"zip", "gzip"}},
		{[]string{"x.tar.gz", "x.tar", "bad.txt"}, []string{"zip", "gzip", "tar"}},
	} {
		det := n.Detections[i]
		if !slices.Equal(det.ContainerPath, want.path) || !slices.Equal(det.ContainerVia, want.via) {
			t.Errorf("detection %d: container path %q via %q, want %q via %q", i, det.ContainerPath, det.ContainerVia, want.path, want.via)
		}
	}
	if n.Scanned <= n.Size {
		t.Errorf("nested.zip: scanned %d bytes, not more than its own %d", n.Scanned, n.Size)
	}
	m := objs["c/many.zip"]
	if m.Status != report.StatusOK || m.Limit != report.LimitMaxFiles || !slices.Equal(m.Limits, []string{"MaxFiles"}) {
		t.Errorf("many.zip: %+v", m)
	}
	if sum.LimitsHit != 1 || sum.Infected != 1 {
		t.Errorf("summary %+v", sum)
	}
	// The text summary says so too.
	cmd = exec.Command(glassavBin, "scan", "-d", "db.ndb", "--max-files=4", "c/many.zip")
	cmd.Dir = d
	text, _ := cmd.Output()
	if !strings.Contains(string(text), "Containers stopped by limits: 1") {
		t.Errorf("text summary:\n%s", text)
	}
}
