package unpack

import (
	"context"
	"testing"
)

// TestLibraryGuard: a panic in emit is the engine's and passes through
// the guard unchanged; a panic in the library becomes corrupt input
// (testdata/fuzz/FuzzUnpackSevenZip holds one the fuzzer found).
func TestLibraryGuard(t *testing.T) {
	data := readFile(t, build7z(t, "-m0=lzma2"))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the emit panic", r)
			}
		}()
		unpackSevenZip(context.Background(), data, NewBudget(Limits{}), func(Member) error { panic("boom") })
		t.Fatal("no panic")
	}()
}
