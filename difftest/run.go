package difftest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// Detection is one reported (file, signature name) pair.
type Detection struct {
	Path string
	Name string
}

func (d Detection) String() string { return d.Path + ": " + d.Name }

// Outcome is what one scanner run reported.
type Outcome struct {
	Hits   []Detection // sorted, distinct
	OK     []string    // paths reported "OK"
	Exit   int
	Stderr string
}

// clamscanArgs are the options that make clamscan look at the bytes of each
// file as given: no container extraction or normalising parsers, but PE and
// ELF parsing on (the EP and section offsets need them). glassav does not get
// them: it scans the files' bytes as given by default.
var clamscanArgs = []string{
	"--no-summary", "--scan-archive=no", "--scan-mail=no", "--scan-ole2=no", "--scan-pdf=no",
	"--scan-html=no", "--scan-swf=no", "--scan-xmldocs=no", "--scan-hwp3=no", "--scan-onenote=no",
	"--scan-image=no", "--scan-elf=yes", "--scan-pe=yes",
}

// ClamscanArgs returns clamscan's argument list for databases dbs and files:
// the options above, each "--opt=value" of override replacing the default of
// the same option (or added).
func ClamscanArgs(dbs, files []string, allmatch bool, override ...string) []string {
	args := slices.Clone(clamscanArgs)
	for _, o := range override {
		key, _, _ := strings.Cut(o, "=")
		i := slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, key+"=") })
		if i >= 0 {
			args[i] = o
		} else {
			args = append(args, o)
		}
	}
	return withDBs(args, dbs, files, allmatch)
}

// GlassavArgs returns `glassav scan`'s argument list for the same run:
// glassav takes clamscan's options, so it gets exactly clamscan's.
func GlassavArgs(dbs, files []string, allmatch bool, override ...string) []string {
	args := append([]string{"scan"}, ClamscanArgs(dbs, files, allmatch, override...)...)
	return args
}

func withDBs(args, dbs, files []string, allmatch bool) []string {
	if allmatch {
		args = append(args, "--allmatch")
	}
	for _, d := range dbs {
		args = append(args, "-d", d)
	}
	return append(append(args, "--"), files...)
}

// Run runs a scanner binary and parses its report. Exit codes 0, 1 and 2
// are outcomes, not errors; anything else (a crash, a signal) is an error.
func Run(ctx context.Context, bin string, args []string) (Outcome, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := Outcome{Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0 && ee.ExitCode() <= 2:
		o.Exit = ee.ExitCode()
	default:
		return o, fmt.Errorf("run %s: %w (stderr: %s)", bin, err, firstLines(o.Stderr, 5))
	}
	o.Hits, o.OK = ParseReport(stdout.Bytes())
	return o, nil
}

// ParseReport reads clamscan-style lines "PATH: NAME FOUND" and "PATH: OK".
// Names are taken without a trailing ".UNOFFICIAL" only if both scanners
// agree to print it, so the suffix is kept as printed.
func ParseReport(out []byte) (hits []Detection, ok []string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasSuffix(line, " FOUND"):
			body := strings.TrimSuffix(line, " FOUND")
			i := strings.LastIndex(body, ": ")
			if i < 0 {
				continue
			}
			hits = append(hits, Detection{Path: body[:i], Name: body[i+2:]})
		case strings.HasSuffix(line, ": OK"):
			ok = append(ok, strings.TrimSuffix(line, ": OK"))
		}
	}
	slices.SortFunc(hits, func(a, b Detection) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return slices.Compact(hits), ok
}

// Diff returns the detections only in a and only in b; both inputs sorted.
func Diff(a, b []Detection) (onlyA, onlyB []Detection) {
	in := func(s []Detection, d Detection) bool { return slices.Contains(s, d) }
	for _, d := range a {
		if !in(b, d) {
			onlyA = append(onlyA, d)
		}
	}
	for _, d := range b {
		if !in(a, d) {
			onlyB = append(onlyB, d)
		}
	}
	return onlyA, onlyB
}

// HitsOf counts the wanted signatures of db that out reports on their own
// file.
func HitsOf(db DB, out Outcome) int {
	n := 0
	for _, s := range db {
		if s.Want && slices.Contains(out.Hits, Detection{s.Path, s.Name + ".UNOFFICIAL"}) {
			n++
		}
	}
	return n
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
