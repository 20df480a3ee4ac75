package yara

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pe43Cases are the upstream (yara 4.3+) test-pe.c cases over members
// marked Since43 that must pass the whole pipeline: compile, scan, match.
var pe43Cases = []string{
	"yara/tests/test-pe.c:292", // is_signed, verified, digests, certificates, signer_info, countersignatures
	"yara/tests/test-pe.c:392", // not is_signed
	"yara/tests/test-pe.c:401", // is_signed
	"yara/tests/test-pe.c:550", // export_details[].rva, forwarders included
	"yara/tests/test-pe.c:606",
	"yara/tests/test-pe.c:628", // rich_signature.version_data
	"yara/tests/test-pe.c:709", // import_details[].functions[].rva
	"yara/tests/test-pe.c:726",
	"yara/tests/test-pe.c:743",
	"yara/tests/test-pe.c:760",
	"yara/tests/test-pe.c:777",
	"yara/tests/test-pe.c:794", // delayed_import_details
	"yara/tests/test-pe.c:811",
	"yara/tests/test-pe.c:828",
}

// TestPE43Upstream scans the upstream cases of the yara 4.3 pe members
// over their data files and asserts each matches as upstream expects.
func TestPE43Upstream(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	dataDir, err := filepath.Abs(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	bySource := make(map[string]scanCase)
	for _, c := range readScanCases(t, filepath.Join(dir, "yara-test-cases-dropped.jsonl")) {
		bySource[c.Source] = c
	}
	for _, src := range pe43Cases {
		c, ok := bySource[src]
		if !ok {
			t.Errorf("%s: not in the corpus", src)
			continue
		}
		if c.Expect != "match" {
			t.Errorf("%s: expects %s; this test assumes match", src, c.Expect)
			continue
		}
		for _, how := range []int{viaScan, viaEvaluate, viaSaved} {
			if bad := c.check(runCase(&c, dataDir, how)); bad != "" {
				t.Errorf("%s (way %d): %s\n%s", src, how, bad, c.Rule)
			}
		}
		// The same rule must fail on data that lacks the members' values:
		// a rule that matches anything would pass the check above.
		if bad := c.check(runCase(&scanCase{corpusCase: c.corpusCase, Data: []byte("MZ not a PE")}, dataDir, viaScan)); bad == "" {
			t.Errorf("%s: matches data that is not a PE", src)
		}
	}
}

// TestPE43HiddenFromModuleData shows the Since43 mechanism on a real PE
// file: the members evaluate, and WriteModuleData prints none of them.
// (TestPEModuleData compares the whole output with yara 4.2.3's -D.)
func TestPE43HiddenFromModuleData(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	data, err := os.ReadFile(filepath.Join(dir, "data", "pe_imports"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := newPEModule().Load(&ScanContext{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	dl := obj.Fields["delayed_import_details"]
	if dl == nil || !dl.Since43 || len(dl.Items) == 0 {
		t.Fatalf("delayed_import_details: %+v", dl)
	}
	var b bytes.Buffer
	WriteModuleData(&b, "pe", obj)
	out := b.String()
	if !strings.Contains(out, "\timport_details") || !strings.Contains(out, "\tnumber_of_delayed_imports = ") {
		t.Fatalf("module data lacks 4.2.3 members:\n%s", out)
	}
	for _, hidden := range []string{"delayed_import_details", "\trva = ", "version_data", "is_signed"} {
		if strings.Contains(out, hidden) {
			t.Errorf("module data prints yara 4.3's %q", hidden)
		}
	}
	// Marking a member Since43 is all that hides it.
	dl.Since43 = false
	b.Reset()
	WriteModuleData(&b, "pe", obj)
	if !strings.Contains(b.String(), "delayed_import_details") {
		t.Errorf("unmarked delayed_import_details not printed")
	}
}
