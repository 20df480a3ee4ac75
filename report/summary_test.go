package report

import "testing"

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Summary
		want int
	}{
		{"clean", Summary{Files: 3}, 0},
		{"found", Summary{Files: 3, Infected: 1}, 1},
		{"error", Summary{Errors: 1}, 2},
		{"missing argument", Summary{Warnings: 1}, 2},
		{"found beats error", Summary{Infected: 1, Errors: 4, Warnings: 2}, 1},
		{"interrupted", Summary{Interrupted: true}, 2},
		{"limits only", Summary{Files: 1, SkippedLimits: 1}, 0},
	} {
		if got := tc.s.ExitCode(); got != tc.want {
			t.Errorf("%s: ExitCode = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSummaryAdd(t *testing.T) {
	s := NewSummary()
	add := func(st Status, code Code, size int64) {
		o := NewObject("x", st)
		o.Code, o.Size = code, size
		if st == StatusOK || st == StatusFound {
			o.Scanned = size
		}
		s.Add(o)
	}
	add(StatusOK, "", 10)
	add(StatusFound, "", 20)
	add(StatusSkipped, CodeLimit, 1000)
	add(StatusSkipped, CodeSpecial, 0)
	add(StatusEmpty, "", 0)
	add(StatusSymlink, "", 0)
	add(StatusExcluded, CodeProc, 0)
	add(StatusError, CodeAccessDenied, 0)
	add(StatusError, CodeOpenDir, 0)
	add(StatusError, CodeCantAccess, 0)
	add(StatusError, CodeUnsupported, 0)
	want := Summary{Record: "summary", Files: 3, Infected: 1, Errors: 2, Warnings: 2, SkippedLimits: 1, ScannedBytes: 30, ReadBytes: 1030}
	if *s != want {
		t.Errorf("summary %+v\nwant    %+v", *s, want)
	}
}
