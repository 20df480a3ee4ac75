package yara

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// machoFiles returns real Mach-O files, thin and fat: yara's test files,
// the corpus' inline Mach-O data and Go's debug/macho testdata.
func machoFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(sharedDir(t, "testdata/yara"), "data")
	files := []string{filepath.Join(data, "tiny-macho"), filepath.Join(data, "tiny-universal")}
	files = append(files, writeFiles(t, dir, "corpus", corpusBlobs(t, "macho"))...)
	return append(files, goTestdata(t, dir, "macho", "*.base64")...)
}

// TestMachoModuleData compares every value of the macho module with
// yara's over real Mach-O files.
func TestMachoModuleData(t *testing.T) {
	dataDiffAll(t, newMachoModule(), machoFiles(t), 15, 4000)
}

// TestMachoModuleMutants compares the macho module with yara over
// malformed Mach-O files made from real ones, thin and fat.
func TestMachoModuleMutants(t *testing.T) {
	mutantDiff(t, newMachoModule(), readAll(t, machoFiles(t)), 20)
}

// TestMachoFunctions compares file_index_for_arch and
// entry_point_for_arch with yara for every CPU type and subtype of the
// files (and some absent ones), on fat and thin files.
func TestMachoFunctions(t *testing.T) {
	m := newMachoModule()
	total := 0
	for _, file := range machoFiles(t) {
		data := readAll(t, []string{file})[0]
		obj, err := m.Load(&ScanContext{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		types := map[int64]bool{7: true, 0x01000007: true, 18: true, 12: true, 0: true}
		subs := map[int64]bool{3: true, 0x80000003: true, 0: true}
		for _, a := range obj.Fields["fat_arch"].Items {
			types[a.Fields["cputype"].Int] = true
			subs[a.Fields["cpusubtype"].Int] = true
		}
		var calls []modCall
		for ty := range types {
			iv := Value{Int: ty}
			calls = append(calls,
				modCall{mod: "macho", fn: "file_index_for_arch", sig: "i", args: []Value{iv}},
				modCall{mod: "macho", fn: "entry_point_for_arch", sig: "i", args: []Value{iv}})
			for sub := range subs {
				sv := Value{Int: sub}
				calls = append(calls,
					modCall{mod: "macho", fn: "file_index_for_arch", sig: "ii", args: []Value{iv, sv}},
					modCall{mod: "macho", fn: "entry_point_for_arch", sig: "ii", args: []Value{iv, sv}})
			}
		}
		total += peerAgrees(t, file, "", evalAll(t, m, data, nil, calls))
	}
	t.Logf("macho functions: yara agreed on %d calls", total)
	if total < 100 {
		t.Fatalf("only %d calls compared", total)
	}
}

// TestFormatModuleRules checks the elf, macho and dex trees through
// rules: for every value of a few files a rule `path == value` (or `not
// defined path`, also one item past each array) must match in yara 4.2.3
// and in glassav, which reads the same paths through its compiler and
// evaluator.
func TestFormatModuleRules(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(sharedDir(t, "testdata/yara"), "data")
	dexBuilt := writeFiles(t, dir, "dex", builtDexFiles()[3:4])
	cases := []struct {
		m     Module
		files []string
	}{
		{newElfModule(), append([]string{filepath.Join(data, "elf_with_imports")}, writeFiles(t, dir, "elf", corpusBlobs(t, "elf")[4:5])...)},
		{newMachoModule(), []string{filepath.Join(data, "tiny-universal"), filepath.Join(data, "tiny-macho")}},
		{newDexModule(), append(writeFiles(t, dir, "dexc", corpusBlobs(t, "dex")), dexBuilt...)},
	}
	total := 0
	for _, c := range cases {
		for _, file := range c.files {
			b := readAll(t, []string{file})[0]
			o, err := c.m.Load(&ScanContext{Data: b})
			if err != nil {
				t.Fatal(err)
			}
			conds := treeConds(c.m.Name(), o)
			var src strings.Builder
			fmt.Fprintf(&src, "import %q\n", c.m.Name())
			for i, cond := range conds {
				fmt.Fprintf(&src, "rule t%d { condition: %s }\n", i, cond)
			}
			got := yaraMatches(t, src.String(), file, "")
			sameRules(t, file, src.String(), glassavMatches(t, src.String(), b, nil, nil), got)
			for i, cond := range conds {
				if !got[fmt.Sprintf("t%d", i)] {
					t.Errorf("%s: yara 4.2.3 disagrees: %s", file, cond)
				}
			}
			total += len(got)
		}
	}
	t.Logf("yara and glassav matched %d value rules", total)
	if total < 3000 {
		t.Fatalf("only %d value rules matched", total)
	}
}
