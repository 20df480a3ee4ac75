package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/report"
	"github.com/glassav/glassav/scan"
)

// scanConfig holds the scan command's options.
type scanConfig struct {
	databases                                []string
	recursive                                bool
	infected, suppressOK, noSummary          bool
	quiet, toStdout, verbose, json           bool
	logFile, fileList                        string
	exclude, include, excludeDir, includeDir []string
	maxFileSize, maxScanSize                 int64
	maxScanTime                              int // milliseconds
	maxRecursion, maxFiles, maxDirRecursion  int
	allMatch, detectPUA, alertExceedsMax     bool
	followDir, followFile                    int
	jobs                                     int
	help, version                            bool
	scanPE, scanELF                          bool
	scanHTML, normalize                      bool
	// The container switches (--scan-archive ...) and --alert-encrypted*.
	scanArchive, scanMail, scanOLE2, scanPDF bool
	alertEncrypted, alertEncArchive          bool
	alertEncDoc                              bool
	// accepted holds clamscan switches glassav takes for compatibility but
	// that change nothing yet (container and normaliser switches).
	accepted map[string]*bool
}

// acceptedSwitches are clamscan's yes/no detection switches that have no
// effect in glassav yet: the parsers they turn off do not exist here, and
// HTML signatures are skipped with a load warning whatever --scan-html says.
var acceptedSwitches = []string{
	"scan-swf", "scan-xmldocs",
	"scan-hwp3", "scan-onenote", "scan-image", "scan-image-fuzzy-hash",
	"heuristic-alerts", "heuristic-scan-precedence", "phishing-sigs",
	"phishing-scan-urls", "alert-broken", "alert-broken-media",
	"alert-macros", "alert-phishing-ssl",
	"alert-phishing-cloak", "alert-partition-intersection", "cross-fs", "nocerts",
	"bytecode", "bytecode-unsigned", "official-db-only", "disable-cache",
}

func defaultScanConfig() scanConfig {
	return scanConfig{
		maxFileSize:     scan.DefaultMaxFileSize,
		maxScanSize:     scan.DefaultMaxScanSize,
		maxScanTime:     int(scan.DefaultMaxScanTime / time.Millisecond),
		maxRecursion:    17,
		maxFiles:        10000,
		maxDirRecursion: scan.DefaultMaxDirRecursion,
		followDir:       1,
		followFile:      1,
		jobs:            runtime.NumCPU(),
		scanPE:          true,
		scanELF:         true,
		scanHTML:        true,
		normalize:       true,
		scanArchive:     true,
		scanMail:        true,
		scanOLE2:        true,
		scanPDF:         true,
	}
}

// scanOptions returns the option table bound to c. Names, short letters
// and value forms are clamscan's.
func (c *scanConfig) options() options {
	opts := options{
		{long: "help", short: 'h', flag: &c.help, help: "show this help"},
		{long: "version", short: 'V', flag: &c.version, help: "print the version"},
		{long: "database", short: 'd', arg: "FILE|DIR", set: listVar(&c.databases), help: "load signatures from FILE or DIR (repeatable; replaces the default databases)"},
		{long: "recursive", short: 'r', flag: &c.recursive, help: "accepted for clamscan compatibility: glassav always scans subdirectories"},
		{long: "infected", short: 'i', flag: &c.infected, help: "print only infected files"},
		{long: "suppress-ok-results", short: 'o', flag: &c.suppressOK, help: "leave out OK lines"},
		{long: "no-summary", flag: &c.noSummary, help: "do not print the summary"},
		{long: "quiet", flag: &c.quiet, help: "print only error messages"},
		{long: "stdout", flag: &c.toStdout, help: "write warnings to standard output"},
		{long: "verbose", short: 'v', flag: &c.verbose, help: "say which file is being scanned"},
		{long: "log", short: 'l', arg: "FILE", set: stringVar(&c.logFile), help: "append the report to FILE"},
		{long: "file-list", short: 'f', arg: "FILE", set: stringVar(&c.fileList), help: "scan the paths listed in FILE, one per line (instead of the arguments)"},
		{long: "exclude", arg: "REGEX", set: listVar(&c.exclude), help: "skip files whose real path matches REGEX"},
		{long: "include", arg: "REGEX", set: listVar(&c.include), help: "scan only files whose real path matches REGEX"},
		{long: "exclude-dir", arg: "REGEX", set: listVar(&c.excludeDir), help: "skip directories whose path matches REGEX"},
		{long: "include-dir", arg: "REGEX", set: listVar(&c.includeDir), help: "enter only directories whose path matches REGEX"},
		{long: "max-filesize", arg: "SIZE", set: sizeVar(&c.maxFileSize), help: "skip files larger than SIZE (default 100M; K and M suffixes; 0: no limit)"},
		{long: "max-scansize", arg: "SIZE", set: sizeVar(&c.maxScanSize), help: "skip files whose scan would pass SIZE bytes (default 400M)"},
		{long: "max-scantime", arg: "MS", set: countVar(&c.maxScanTime, 1<<31-1), help: "stop scanning a file after MS milliseconds (default 120000; 0: no limit)"},
		{long: "max-recursion", arg: "N", set: countVar(&c.maxRecursion, 100), help: "container nesting limit (default 17)"},
		{long: "max-files", arg: "N", set: countVar(&c.maxFiles, 1<<31-1), help: "container members scanned per file (default 10000)"},
		{long: "max-dir-recursion", arg: "N", set: countVar(&c.maxDirRecursion, 1<<16), help: "directory levels to enter (default 15)"},
		{long: "allmatch", short: 'z', flag: &c.allMatch, help: "report every matching signature"},
		{long: "detect-pua", flag: &c.detectPUA, help: "detect possibly unwanted applications"},
		{long: "alert-exceeds-max", flag: &c.alertExceedsMax, help: "report files stopped by a limit as Heuristics.Limits.Exceeded.*"},
		{long: "alert-encrypted", flag: &c.alertEncrypted, help: "report encrypted archive members and documents as Heuristics.Encrypted.*"},
		{long: "alert-encrypted-archive", flag: &c.alertEncArchive, help: "report encrypted archive members as Heuristics.Encrypted.*"},
		{long: "alert-encrypted-doc", flag: &c.alertEncDoc, help: "report encrypted documents as Heuristics.Encrypted.*"},
		{long: "scan-archive", flag: &c.scanArchive, help: "open archives and compressed files (default yes)"},
		{long: "scan-mail", flag: &c.scanMail, help: "open mail: attachments, uuencoded, BinHex, TNEF (default yes)"},
		{long: "scan-ole2", flag: &c.scanOLE2, help: "open OLE2 documents and their macros (default yes)"},
		{long: "scan-pdf", flag: &c.scanPDF, help: "open PDF streams (default yes)"},
		{long: "follow-dir-symlinks", arg: "0|1|2", set: countVar(&c.followDir, 2), help: "follow directory links: 0 never, 1 named ones (default), 2 always"},
		{long: "follow-file-symlinks", arg: "0|1|2", set: countVar(&c.followFile, 2), help: "follow file links: 0 never, 1 named ones (default), 2 always"},
		{long: "jobs", short: 'j', arg: "N", set: countVar(&c.jobs, 1<<12), help: "files scanned at once (default: number of CPUs)"},
		{long: "json", flag: &c.json, help: "write JSON lines: one record per object (errors included), then a summary record"},
		{long: "scan-pe", flag: &c.scanPE, help: "parse PE files: entry-point and section offsets, section and import hashes (default yes)"},
		{long: "scan-elf", flag: &c.scanELF, help: "parse ELF files: entry-point and section offsets (default yes)"},
		{long: "scan-html", flag: &c.scanHTML, help: "also match text files lower-cased with whitespace squeezed, as clamscan does (default yes)"},
		{long: "normalize", flag: &c.normalize, help: "the same switch as --scan-html for text files (default yes)"},
	}
	if c.accepted == nil {
		c.accepted = map[string]*bool{}
	}
	for _, name := range acceptedSwitches {
		b := new(bool)
		c.accepted[name] = b
		opts = append(opts, option{long: name, flag: b, help: "accepted for clamscan compatibility; no effect yet"})
	}
	return opts
}

const scanUsage = `Usage: glassav scan [options] [PATH...]

Scans files and directories (subdirectories included) like clamscan and
prints one line per file. PATH "-" reads standard input; no PATH scans the
current directory. Exit status: 0 nothing found, 1 something found, 2 errors.
Results are printed in walk order (names sorted) whatever the number of jobs.

Options:
`

// runScan is the scan command. It returns the exit status.
func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := defaultScanConfig()
	opts := c.options()
	paths, err := opts.parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "glassav scan: %v\nRun 'glassav scan --help' for the options.\n", err)
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, scanUsage+opts.usage())
		return 0
	}
	if c.version {
		fmt.Fprintf(stdout, "glassav %s\n", version)
		return 0
	}
	sopt, err := c.scanOptions()
	if err != nil {
		fmt.Fprintf(stderr, "glassav scan: %v\n", err)
		return 2
	}
	sopt.Stdin = stdin

	if c.fileList != "" {
		if len(paths) > 0 {
			fmt.Fprintln(stderr, "WARNING: Only scanning files from --file-list (files passed at cmdline are ignored)")
		}
		if paths, err = readFileList(c.fileList); err != nil {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 2
		}
	} else if len(paths) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 2
		}
		// clamscan names the directory as getcwd(3) does: links resolved.
		if real, err := filepath.EvalSymlinks(wd); err == nil {
			wd = real
		}
		paths = []string{wd}
	}

	tw := &report.TextWriter{
		Out: stdout, Err: stderr,
		Infected: c.infected, SuppressOK: c.suppressOK, Quiet: c.quiet,
		Verbose: c.verbose, WarningsToOut: c.toStdout, NoSummary: c.noSummary,
	}
	if c.logFile != "" {
		f, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "ERROR: Failed to open log file %s: %v\n", c.logFile, err)
			return 2
		}
		defer f.Close()
		lw := bufio.NewWriter(f)
		defer lw.Flush()
		lw.WriteString(report.LogSeparator)
		tw.Log = lw
	}

	rules, err := engine.Load(ctx, engine.LoadOptions{Paths: c.databases, DetectPUA: c.detectPUA})
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 2
	}
	if !c.quiet {
		printLoadWarnings(stderr, rules.Warnings(), c.verbose)
	}

	// A live progress line on stderr when it is a terminal. Whatever is
	// written to that terminal first erases the line; the next tick
	// redraws it. Redirected output never sees it.
	interactive := isTerminal(stdout)
	if !c.quiet && isTerminal(stderr) {
		prog := &report.Progress{W: stderr}
		stderr = clearing{stderr, prog}
		if interactive {
			stdout = clearing{stdout, prog}
		}
		defer prog.Clear()
		sopt.Progress = func(files, bytes int64, d time.Duration) { prog.Update(files, bytes, d) }
	}
	out := newOutput(&c, tw, stdout, stderr, interactive)
	sum, err := scan.Run(ctx, rules, paths, sopt, out.object)
	sum.KnownViruses = rules.Signatures()
	sum.EngineVersion = version
	if err != nil && !sum.Interrupted {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 2
	}
	if err := out.summary(sum); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 2
	}
	if sum.Interrupted {
		fmt.Fprintln(stderr, "glassav scan: interrupted")
	}
	return sum.ExitCode()
}

// output sends objects and the summary to the text or JSON writer and the
// log file.
type output struct {
	c           *scanConfig
	buf         *bufio.Writer // stdout
	text        *report.TextWriter
	json        *report.JSONWriter // nil: text mode
	logOnly     report.TextWriter  // in JSON mode the --log file still gets clamscan's text
	interactive bool               // stdout is a terminal: write line by line
}

func newOutput(c *scanConfig, tw *report.TextWriter, stdout, stderr io.Writer, interactive bool) *output {
	o := &output{c: c, buf: bufio.NewWriterSize(stdout, 64<<10), text: tw, interactive: interactive}
	tw.Out, tw.Err = o.buf, stderr
	o.logOnly = *tw
	o.logOnly.Out, o.logOnly.Err = nil, nil
	if c.json {
		o.json = report.NewJSONWriter(o.buf)
	}
	return o
}

func (w *output) object(o *report.Object) error {
	if o.Status == report.StatusError {
		// Its line may go to stderr: put the stdout lines before it first.
		if err := w.buf.Flush(); err != nil {
			return err
		}
	}
	var err error
	if w.json == nil {
		err = w.text.Object(o)
	} else {
		if w.logOnly.Log != nil {
			w.logOnly.Object(o)
		}
		if w.c.infected && o.Status != report.StatusFound || w.c.suppressOK && o.Status == report.StatusOK {
			return nil
		}
		err = w.json.Object(o)
	}
	if err == nil && w.interactive {
		err = w.buf.Flush()
	}
	return err
}

func (w *output) summary(s *report.Summary) error {
	var err error
	if w.json == nil {
		err = w.text.Summary(s)
	} else {
		if !w.c.noSummary {
			err = w.json.Summary(s)
		}
		if lerr := w.logOnly.Summary(s); err == nil {
			err = lerr
		}
	}
	if ferr := w.buf.Flush(); err == nil {
		err = ferr
	}
	return err
}

// maxLoadWarnings is how many database warnings are shown without -v: a
// full database can have thousands, which would bury the scan's results.
const maxLoadWarnings = 10

// printLoadWarnings prints the database load warnings, the first few only
// unless verbose.
func printLoadWarnings(w io.Writer, warnings []string, verbose bool) {
	for i, s := range warnings {
		if i == maxLoadWarnings && !verbose {
			fmt.Fprintf(w, "WARNING: %d more database warnings (-v shows them)\n", len(warnings)-i)
			return
		}
		fmt.Fprintf(w, "WARNING: %s\n", s)
	}
}

// scanOptions converts the command line into scan options.
func (c *scanConfig) scanOptions() (scan.Options, error) {
	o := scan.DefaultOptions()
	o.Jobs = c.jobs
	o.MaxDirRecursion = c.maxDirRecursion
	o.FollowDirSymlinks = scan.Follow(c.followDir)
	o.FollowFileSymlinks = scan.Follow(c.followFile)
	o.MaxFileSize = c.maxFileSize
	o.MaxScanSize = c.maxScanSize
	o.MaxScanTime = time.Duration(c.maxScanTime) * time.Millisecond
	o.AlertExceedsMax = c.alertExceedsMax
	o.AllMatch = c.allMatch
	o.DetectPUA = c.detectPUA
	o.NoPE = !c.scanPE
	o.NoELF = !c.scanELF
	o.NoNormalise = !c.scanHTML || !c.normalize
	o.Containers = true
	o.MaxRecursion = c.maxRecursion
	o.MaxFiles = c.maxFiles
	o.AlertEncrypted = c.alertEncrypted || c.alertEncArchive || c.alertEncDoc
	o.SkipFormats = engine.Switches{Archive: c.scanArchive, Mail: c.scanMail, OLE2: c.scanOLE2, PDF: c.scanPDF, HTML: c.scanHTML}.Skip()
	for _, l := range []struct {
		name string
		src  []string
		dst  *[]*regexp.Regexp
	}{
		{"exclude", c.exclude, &o.Filter.Exclude},
		{"include", c.include, &o.Filter.Include},
		{"exclude-dir", c.excludeDir, &o.Filter.ExcludeDir},
		{"include-dir", c.includeDir, &o.Filter.IncludeDir},
	} {
		for _, s := range l.src {
			re, err := regexp.Compile(s)
			if err != nil {
				return o, fmt.Errorf("--%s: %w", l.name, err)
			}
			*l.dst = append(*l.dst, re)
		}
	}
	return o, nil
}

// readFileList reads --file-list: one path per line. Empty lines are
// skipped (clamscan tries to open them and reports an error).
func readFileList(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--file-list: %w", err)
	}
	var paths []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l != "" {
			paths = append(paths, l)
		}
	}
	return paths, nil
}

// clearing erases the progress line before anything is written to the
// terminal it is on.
type clearing struct {
	w io.Writer
	p *report.Progress
}

func (c clearing) Write(b []byte) (int, error) {
	c.p.Clear()
	return c.w.Write(b)
}

// isTerminal reports whether w is a character device other than
// /dev/null: a terminal, in practice, without a system-specific ioctl.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}
