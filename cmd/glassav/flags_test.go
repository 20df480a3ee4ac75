package main

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		operands []string
		check    func(c *scanConfig) bool
		err      string
	}{
		{"long with =", []string{"--max-filesize=10M", "x"}, []string{"x"}, func(c *scanConfig) bool { return c.maxFileSize == 10<<20 }, ""},
		{"long with separate value", []string{"--max-scansize", "2K", "x"}, []string{"x"}, func(c *scanConfig) bool { return c.maxScanSize == 2048 }, ""},
		{"repeated -d", []string{"-d", "a", "-d", "b", "--database=c"}, nil, func(c *scanConfig) bool { return reflect.DeepEqual(c.databases, []string{"a", "b", "c"}) }, ""},
		{"attached short value", []string{"-dx.ndb"}, nil, func(c *scanConfig) bool { return reflect.DeepEqual(c.databases, []string{"x.ndb"}) }, ""},
		{"bundled booleans", []string{"-rio", "p"}, []string{"p"}, func(c *scanConfig) bool { return c.recursive && c.infected && c.suppressOK }, ""},
		{"bundle ending in value option", []string{"-rzj", "3"}, nil, func(c *scanConfig) bool { return c.recursive && c.allMatch && c.jobs == 3 }, ""},
		{"boolean =no", []string{"--detect-pua=yes", "--recursive=no"}, nil, func(c *scanConfig) bool { return c.detectPUA && !c.recursive }, ""},
		{"stdin operand and --", []string{"-", "--", "-i"}, []string{"-", "-i"}, func(c *scanConfig) bool { return !c.infected }, ""},
		{"mixed operands", []string{"a", "-i", "b", "--no-summary"}, []string{"a", "b"}, func(c *scanConfig) bool { return c.infected && c.noSummary }, ""},
		{"follow modes", []string{"--follow-dir-symlinks=2", "--follow-file-symlinks", "0"}, nil, func(c *scanConfig) bool { return c.followDir == 2 && c.followFile == 0 }, ""},
		{"scantime ms", []string{"--max-scantime=1500"}, nil, func(c *scanConfig) bool { return c.maxScanTime == 1500 }, ""},
		{"unknown long", []string{"--bogus"}, nil, nil, "unknown option --bogus"},
		{"unknown short", []string{"-Q"}, nil, nil, "unknown option -Q"},
		{"missing value", []string{"-d"}, nil, nil, "option -d needs a value"},
		{"missing long value", []string{"x", "--log"}, nil, nil, "option --log needs a value"},
		{"bad size", []string{"--max-filesize=abc"}, nil, nil, `--max-filesize: bad size "abc"`},
		{"bad follow", []string{"--follow-dir-symlinks=3"}, nil, nil, "--follow-dir-symlinks: 3 is more than the maximum 2"},
		{"bad bool", []string{"--infected=maybe"}, nil, nil, `--infected: want yes or no, not "maybe"`},
		{"negative", []string{"--max-files=-1"}, nil, nil, `--max-files: bad number "-1"`},
	} {
		c := defaultScanConfig()
		ops, err := c.options().parse(tc.args)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(ops, tc.operands) {
			t.Errorf("%s: operands %q, want %q", tc.name, ops, tc.operands)
		}
		if !tc.check(&c) {
			t.Errorf("%s: config %+v", tc.name, c)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"100", 100, true}, {"10k", 10240, true}, {"10K", 10240, true},
		{"100M", 100 << 20, true}, {"2g", 2 << 30, true}, {"", 0, false}, {"M", 0, false},
		{"1.5M", 0, false}, {"-1", 0, false}, {"10T", 0, false}, {"9223372036854775807M", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUsageListsEveryOption(t *testing.T) {
	c := defaultScanConfig()
	u := c.options().usage()
	for _, o := range c.options() {
		if !strings.Contains(u, "--"+o.long) {
			t.Errorf("usage lacks --%s", o.long)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("-d\x00x\x00--max-filesize=10M\x00-rio\x00-")
	f.Add("--\x00-j")
	f.Fuzz(func(t *testing.T, s string) {
		c := defaultScanConfig()
		c.options().parse(strings.Split(s, "\x00")) // must not panic
	})
}

func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(t.TempDir() + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		w    io.Writer
	}{{"null device", null}, {"pipe", w}, {"file", f}, {"buffer", &strings.Builder{}}} {
		if isTerminal(tc.w) {
			t.Errorf("%s taken for a terminal: the progress line would pollute it", tc.name)
		}
	}
}

func TestPrintLoadWarnings(t *testing.T) {
	var ws []string
	for i := range 12 {
		ws = append(ws, fmt.Sprintf("w%d", i))
	}
	var b strings.Builder
	printLoadWarnings(&b, ws, false)
	if got := strings.Count(b.String(), "\n"); got != maxLoadWarnings+1 || !strings.HasSuffix(b.String(), "WARNING: 2 more database warnings (-v shows them)\n") {
		t.Errorf("got:\n%s", b.String())
	}
	b.Reset()
	printLoadWarnings(&b, ws, true)
	if got := strings.Count(b.String(), "\n"); got != 12 {
		t.Errorf("verbose printed %d lines, want 12", got)
	}
}
