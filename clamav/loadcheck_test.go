package clamav

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
)

// TestLoadCheck loads every file of clamav-unit-tests/load-check.tsv alone
// and compares set.Signatures with the "Known viruses" clamscan 1.4.6
// reported for it.
func TestLoadCheck(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "clamav-unit-tests")
	f, err := os.Open(filepath.Join(dir, "load-check.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	rows := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 {
			continue
		}
		rows++
		want, err := strconv.Atoi(cols[1])
		if err != nil {
			t.Fatalf("bad row %q", sc.Text())
		}
		p := filepath.Join(dir, cols[0])
		t.Run(cols[0], func(t *testing.T) {
			set := ir.NewSet()
			if err := Load(t.Context(), set, []string{p}, Options{}); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if set.Signatures != want {
				t.Errorf("Signatures = %d, clamscan Known viruses = %d (skipped %v, warnings %q)", set.Signatures, want, set.Skipped, set.Warnings)
			}
		})
	}
	if rows < 100 {
		t.Errorf("only %d rows in load-check.tsv", rows)
	}
}
