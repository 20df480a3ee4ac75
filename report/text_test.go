package report

import (
	"strings"
	"testing"
	"time"
)

func TestTextWriter(t *testing.T) {
	found := NewObject("t/bad.txt", StatusFound)
	found.Detections = []Detection{{Name: "A.UNOFFICIAL"}, {Name: "B.UNOFFICIAL"}}
	limit := NewObject("big", StatusOK)
	limit.SetLimit(LimitMaxFileSize, false)
	alert := NewObject("big", StatusOK)
	alert.SetLimit(LimitMaxFileSize, true)
	errObj := func(c Code, msg string) *Object {
		o := NewObject("p", StatusOK)
		o.SetError(c, msg)
		return o
	}
	excl := func(c Code) *Object {
		o := NewObject("p", StatusExcluded)
		o.Code = c
		return o
	}
	special := NewObject("t/fifo", StatusSkipped)
	special.Code = CodeSpecial

	for _, tc := range []struct {
		name          string
		w             TextWriter
		o             *Object
		out, err, log string
	}{
		{"ok", TextWriter{}, NewObject("t/good.txt", StatusOK), "t/good.txt: OK\n", "", ""},
		{"ok -i", TextWriter{Infected: true}, NewObject("t/good.txt", StatusOK), "", "", ""},
		{"ok -o", TextWriter{SuppressOK: true}, NewObject("t/good.txt", StatusOK), "", "", ""},
		{"ok -v", TextWriter{Verbose: true}, NewObject("f", StatusOK), "Scanning f\nf: OK\n", "", ""},
		{"found", TextWriter{}, found, "t/bad.txt: A.UNOFFICIAL FOUND\nt/bad.txt: B.UNOFFICIAL FOUND\n", "", "t/bad.txt: A.UNOFFICIAL FOUND\nt/bad.txt: B.UNOFFICIAL FOUND\n"},
		{"found quiet", TextWriter{Quiet: true}, found, "", "", "t/bad.txt: A.UNOFFICIAL FOUND\nt/bad.txt: B.UNOFFICIAL FOUND\n"},
		{"limit is OK", TextWriter{}, limit, "big: OK\n", "", ""},
		{"limit alert", TextWriter{}, alert, "big: Heuristics.Limits.Exceeded.MaxFileSize FOUND\n", "", "big: Heuristics.Limits.Exceeded.MaxFileSize FOUND\n"},
		{"empty", TextWriter{}, NewObject("e", StatusEmpty), "e: Empty file\n", "", "e: Empty file\n"},
		{"empty -i", TextWriter{Infected: true}, NewObject("e", StatusEmpty), "", "", ""},
		{"symlink", TextWriter{}, NewObject("l", StatusSymlink), "l: Symbolic link\n", "", "l: Symbolic link\n"},
		{"excluded", TextWriter{}, excl(CodePattern), "p: Excluded\n", "", "p: Excluded\n"},
		{"proc", TextWriter{}, excl(CodeProc), "p: Excluded (/proc)\n", "", "p: Excluded (/proc)\n"},
		{"missing", TextWriter{}, errObj(CodeCantAccess, "No such file or directory"), "", "p: No such file or directory\nWARNING: p: Can't access file\n", "WARNING: p: Can't access file\n"},
		{"missing --stdout", TextWriter{WarningsToOut: true}, errObj(CodeCantAccess, "No such file or directory"), "WARNING: p: Can't access file\n", "p: No such file or directory\n", "WARNING: p: Can't access file\n"},
		{"missing quiet", TextWriter{Quiet: true}, errObj(CodeCantAccess, "No such file or directory"), "", "p: No such file or directory\n", "WARNING: p: Can't access file\n"},
		{"unsupported", TextWriter{}, errObj(CodeUnsupported, "x"), "", "WARNING: p: Not supported file type\n", "WARNING: p: Not supported file type\n"},
		{"denied", TextWriter{}, errObj(CodeAccessDenied, "Permission denied"), "p: Access denied\n", "", "p: Access denied\n"},
		{"denied -i", TextWriter{Infected: true}, errObj(CodeAccessDenied, "Permission denied"), "", "", ""},
		{"open dir", TextWriter{}, errObj(CodeOpenDir, "Permission denied"), "p: Can't open directory.\n", "", "p: Can't open directory.\n"},
		{"engine", TextWriter{}, errObj(CodeEngine, "boom"), "p: boom ERROR\n", "", "p: boom ERROR\n"},
		{"special silent", TextWriter{}, special, "", "", ""},
		{"raw path", TextWriter{}, NewObject("caf\xe9", StatusOK), "caf\xe9: OK\n", "", ""},
	} {
		var out, errw, log strings.Builder
		w := tc.w
		w.Out, w.Err, w.Log = &out, &errw, &log
		if err := w.Object(tc.o); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.out || errw.String() != tc.err || log.String() != tc.log {
			t.Errorf("%s:\nout %q want %q\nerr %q want %q\nlog %q want %q", tc.name, out.String(), tc.out, errw.String(), tc.err, log.String(), tc.log)
		}
	}
}

func TestFormatSummary(t *testing.T) {
	start := time.Date(2026, 11, 29, 17, 33, 35, 0, time.Local)
	s := &Summary{
		KnownViruses: 1, EngineVersion: "0.1.0", Directories: 1, Files: 44, Infected: 44,
		ScannedBytes: 10747904, ReadBytes: 6511656,
		Start: start, End: start.Add(62311 * time.Millisecond),
	}
	want := `
----------- SCAN SUMMARY -----------
Known viruses: 1
Engine version: 0.1.0
Scanned directories: 1
Scanned files: 44
Infected files: 44
Data scanned: 10.25 MB
Data read: 6.21 MB (ratio 1.65:1)
Time: 62.311 sec (1 m 2 s)
Start Date: 2026:11:29 17:33:35
End Date:   2026:11:29 17:34:37
`
	if got := FormatSummary(s); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	s.Errors, s.SkippedLimits = 2, 3
	s.ScannedBytes, s.ReadBytes = 100, 100
	got := FormatSummary(s)
	for _, line := range []string{"Infected files: 44\nTotal errors: 2\nData scanned", "Data read: 0.00 MB (ratio 0.00:1)\n", "End Date:   2026:11:29 17:34:37\nSkipped for limits: 3\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("summary lacks %q:\n%s", line, got)
		}
	}
}

func TestSummaryFlags(t *testing.T) {
	s := &Summary{Start: time.Now(), End: time.Now()}
	var out, log strings.Builder
	w := TextWriter{Out: &out, Log: &log, Quiet: true}
	w.Summary(s)
	if out.Len() != 0 || !strings.Contains(log.String(), "SCAN SUMMARY") {
		t.Errorf("quiet: out %q log %q", out.String(), log.String())
	}
	out.Reset()
	log.Reset()
	w = TextWriter{Out: &out, Log: &log, NoSummary: true}
	w.Summary(s)
	if out.Len()+log.Len() != 0 {
		t.Errorf("--no-summary wrote %q %q", out.String(), log.String())
	}
}
