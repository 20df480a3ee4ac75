package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/yara"
)

// yaraUsage is yara's usage line, with glassav's command name.
const yaraUsage = "Usage: glassav yara [OPTION]... [NAMESPACE:]RULES_FILE... FILE | DIR | PID"

// yaraMaxThreads is YR_MAX_THREADS, the most -p accepts.
const yaraMaxThreads = 32

// yaraConfig holds the options of glassav yara, named as yara names them.
type yaraConfig struct {
	atomTable                      string
	compiled, count, fast          bool
	failOnWarnings, help, version  bool
	negate, noFollow, noWarnings   bool
	printMeta, printModuleData     bool
	printNamespace, printStats     bool
	printStrings, printLength      bool
	printTags, recursive, scanList bool
	defines, identifiers, tags     []string
	moduleData                     []string
	maxProcChunk, maxRules         int64
	maxStrings, skipLarger         int64
	stackSize, threads, timeout    int64
}

func (c *yaraConfig) options() yopts {
	return yopts{
		{long: "atom-quality-table", arg: "FILE", str: &c.atomTable, help: "path to a file with the atom quality table (accepted; glassav chooses atoms itself)"},
		{short: 'C', long: "compiled-rules", flag: &c.compiled, help: "load compiled rules"},
		{short: 'c', long: "count", flag: &c.count, help: "print only number of matches"},
		{short: 'd', long: "define", arg: "VAR=VALUE", list: &c.defines, help: "define external variable"},
		{long: "fail-on-warnings", flag: &c.failOnWarnings, help: "fail on warnings"},
		{short: 'f', long: "fast-scan", flag: &c.fast, help: "fast matching mode"},
		{short: 'h', long: "help", flag: &c.help, help: "show this help and exit"},
		{short: 'i', long: "identifier", arg: "IDENTIFIER", list: &c.identifiers, help: "print only rules named IDENTIFIER"},
		{long: "max-process-memory-chunk", arg: "NUMBER", num: &c.maxProcChunk, help: "set maximum chunk size while reading process memory (accepted; processes are not scanned)"},
		{short: 'l', long: "max-rules", arg: "NUMBER", num: &c.maxRules, help: "abort scanning after matching a NUMBER of rules"},
		{long: "max-strings-per-rule", arg: "NUMBER", num: &c.maxStrings, help: "set maximum number of strings per rule (default=10000)"},
		{short: 'x', long: "module-data", arg: "MODULE=FILE", list: &c.moduleData, help: "pass FILE's content as extra data to MODULE"},
		{short: 'n', long: "negate", flag: &c.negate, help: "print only not satisfied rules (negate)"},
		{short: 'N', long: "no-follow-symlinks", flag: &c.noFollow, help: "do not follow symlinks when scanning"},
		{short: 'w', long: "no-warnings", flag: &c.noWarnings, help: "disable warnings"},
		{short: 'm', long: "print-meta", flag: &c.printMeta, help: "print metadata"},
		{short: 'D', long: "print-module-data", flag: &c.printModuleData, help: "print module data"},
		{short: 'e', long: "print-namespace", flag: &c.printNamespace, help: "print rules' namespace"},
		{short: 'S', long: "print-stats", flag: &c.printStats, help: "print rules' statistics (number of rules and strings)"},
		{short: 's', long: "print-strings", flag: &c.printStrings, help: "print matching strings"},
		{short: 'L', long: "print-string-length", flag: &c.printLength, help: "print length of matched strings"},
		{short: 'g', long: "print-tags", flag: &c.printTags, help: "print tags"},
		{short: 'r', long: "recursive", flag: &c.recursive, help: "recursively search directories"},
		{long: "scan-list", flag: &c.scanList, help: "scan files listed in FILE, one per line"},
		{short: 'z', long: "skip-larger", arg: "NUMBER", num: &c.skipLarger, help: "skip files larger than the given size when scanning a directory"},
		{short: 'k', long: "stack-size", arg: "SLOTS", num: &c.stackSize, help: "set maximum stack size (accepted; glassav's evaluator has no stack limit)"},
		{short: 't', long: "tag", arg: "TAG", list: &c.tags, help: "print only rules tagged as TAG"},
		{short: 'p', long: "threads", arg: "NUMBER", num: &c.threads, help: "use the specified NUMBER of threads to scan a directory"},
		{short: 'a', long: "timeout", arg: "SECONDS", num: &c.timeout, help: "abort scanning after the given number of SECONDS"},
		{short: 'v', long: "version", flag: &c.version, help: "show version information"},
	}
}

// runYara is glassav yara: yara 4.2.3's command line, output and exit
// status (0 when the scan ran, whatever matched; 1 on any error that stops
// it), on glassav's YARA engine.
func runYara(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &yaraConfig{maxProcChunk: 1 << 30, maxStrings: 10000, stackSize: 16384, threads: -1, timeout: 1000000}
	opts := c.options()
	operands, err := opts.parse(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if c.version {
		fmt.Fprintf(stdout, "4.2.3 (glassav %s)\n", version)
		return 0
	}
	if c.help {
		fmt.Fprintf(stdout, "glassav yara: YARA 4.2.3's command line on glassav's engine.\n%s\n\n"+
			"Mandatory arguments to long options are mandatory for short options too.\n\n", yaraUsage)
		fmt.Fprint(stdout, opts.usage(43))
		return 0
	}
	if c.threads > yaraMaxThreads {
		fmt.Fprintf(stderr, "maximum number of threads is %d\n", yaraMaxThreads)
		return 1
	}
	if len(operands) < 2 {
		fmt.Fprintf(stderr, "yara: wrong number of arguments\n%s\n\nTry `--help` for more options\n", yaraUsage)
		return 1
	}
	modData, ok := loadModuleData(c.moduleData, stderr)
	if !ok {
		return 1
	}
	externals := parseDefines(c.defines, stderr)

	var rules *yara.Rules
	var imports []string
	ruleArgs, target := operands[:len(operands)-1], operands[len(operands)-1]
	if c.compiled {
		if len(ruleArgs) != 1 {
			fmt.Fprintln(stderr, "error: can't accept multiple rules files if one of them is in compiled form.")
			return 1
		}
		rules, ok = loadCompiled(ruleArgs[0], stderr)
		if !ok {
			return 1
		}
	} else {
		cc := &yaraCompile{externals: externals, maxStrings: int(c.maxStrings), noWarnings: c.noWarnings, stdin: stdin, stderr: stderr}
		rules, ok = cc.compile(ruleArgs)
		if !ok || c.failOnWarnings && cc.warnings > 0 {
			return 1
		}
		imports = cc.imports
	}
	if c.printStats {
		printYaraStats(stdout, rules)
	}

	threads := int(c.threads)
	if threads <= 0 {
		threads = min(runtime.NumCPU(), yaraMaxThreads)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.timeout)*time.Second)
	defer cancel()
	s := &yaraScan{
		c:       c,
		rules:   rules,
		imports: imports,
		out:     bufio.NewWriterSize(stdout, 64<<10),
		err:     stderr,
		opt: yara.ScanOptions{
			Externals:  externals,
			ModuleData: modData,
			FastMode:   c.fast,
			// yara's -p spreads files over threads; one file is searched
			// on one goroutine unless it is the only target.
			Workers: 1,
		},
	}
	defer s.out.Flush()

	fi, statErr := os.Stat(target)
	isDir := statErr == nil && fi.IsDir()
	switch {
	case c.scanList && isDir:
		fmt.Fprintln(stderr, "error: cannot use a directory as scan list.")
		return 1
	case c.scanList || isDir:
		return s.many(ctx, target, isDir, threads)
	}
	s.opt.Workers = threads
	var rd []byte
	n, err := s.file(ctx, target, &rd)
	if err != nil {
		s.out.Flush()
		fmt.Fprintf(stderr, "error scanning %s: %s\n", target, yaraErrorText(err))
		return 1
	}
	if c.count {
		fmt.Fprintf(s.out, "%d\n", n)
	}
	return 0
}

// loadModuleData reads the files of -x MODULE=FILE.
func loadModuleData(specs []string, stderr io.Writer) (map[string][]byte, bool) {
	if len(specs) == 0 {
		return nil, true
	}
	m := map[string][]byte{}
	for _, s := range specs {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			fmt.Fprintln(stderr, "error: wrong syntax for `-x` option.")
			return nil, false
		}
		b, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "error: could not open file \"%s\".\n", file)
			return nil, false
		}
		// yara keeps the last -x given for a module first in its list, so
		// the first one given wins.
		if _, dup := m[name]; !dup {
			m[name] = b
		}
	}
	return m, true
}

// parseDefines turns -d VAR=VALUE into external values typed as yara types
// them: a float if the value has digits and one dot, an integer if only
// digits (read with C's atoi, so 32 bits), true/false, else a string. A
// definition without '=' is reported and ends the processing of -d, and
// the run goes on, as in yara.
func parseDefines(defs []string, stderr io.Writer) map[string]any {
	if len(defs) == 0 {
		return nil
	}
	ext := map[string]any{}
	for _, d := range defs {
		id, v, ok := strings.Cut(d, "=")
		if !ok {
			fmt.Fprintln(stderr, "error: wrong syntax for `-d` option.")
			break
		}
		switch {
		case isCFloat(v):
			f, _ := strconv.ParseFloat(strings.TrimSuffix(v, "."), 64)
			ext[id] = f
		case isCInteger(v):
			ext[id] = int64(atoi32(v))
		case v == "true" || v == "false":
			ext[id] = v == "true"
		default:
			ext[id] = v
		}
	}
	return ext
}

func isCInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isCFloat(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '.' {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '.':
			if dot {
				return false
			}
			dot = true
		case s[i] < '0' || s[i] > '9':
			return false
		}
	}
	return dot
}

// atoi32 is C's atoi on a glibc system for a string of digits: the value
// is read as a long and truncated to 32 bits.
func atoi32(s string) int32 {
	n, _ := strtol(s)
	return int32(n)
}

// yaraCompile compiles rule sources given as yara's operands.
type yaraCompile struct {
	externals  map[string]any
	maxStrings int
	noWarnings bool
	stdin      io.Reader
	stderr     io.Writer
	warnings   int
	sources    map[string][]byte // file name → source, to name a diagnostic's rule
	imports    []string          // modules in the order the sources import them
}

// compile parses and compiles the rule operands ("[NS:]FILE", "-" for
// standard input), printing diagnostics as yara does. As yara's
// compile_files, it stops at the first file with an error.
func (cc *yaraCompile) compile(args []string) (*yara.Rules, bool) {
	cc.sources = map[string][]byte{}
	var files []*yara.File
	cfg := &yara.CompileConfig{Externals: cc.externals, MaxStringsPerRule: cc.maxStrings}
	for _, a := range args {
		ns, name := splitNamespace(a)
		var src []byte
		var err error
		if name == "-" {
			src, err = io.ReadAll(cc.stdin)
		} else {
			src, err = os.ReadFile(name)
		}
		if err != nil {
			fmt.Fprintf(cc.stderr, "error: could not open file: %s\n", name)
			return nil, false
		}
		cc.sources[name] = src
		f, err := yara.Parse(name, src, &yara.Config{ReadFile: cc.readInclude, Namespace: ns})
		if err != nil {
			// Warnings of the files before this one come first, as yara
			// compiles file by file.
			if len(files) > 0 {
				_, warns, _ := yara.Compile(cfg, files...)
				cc.printWarnings(warns)
			}
			cc.diag("error", err)
			return nil, false
		}
		files = append(files, f)
		for _, im := range f.Imports {
			if !slices.Contains(cc.imports, im.Module) {
				cc.imports = append(cc.imports, im.Module)
			}
		}
	}
	rules, warns, err := yara.Compile(cfg, files...)
	cc.printWarnings(warns)
	if err != nil {
		cc.diag("error", err)
		return nil, false
	}
	return rules, true
}

func (cc *yaraCompile) readInclude(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		cc.sources[path] = b
	}
	return b, err
}

func (cc *yaraCompile) printWarnings(ws []*yara.Error) {
	if cc.noWarnings {
		return
	}
	for _, w := range ws {
		cc.warnings++
		cc.diag("warning", w)
	}
}

// diag prints a compiler diagnostic in yara's two forms:
// `error: rule "R" in FILE(LINE): MSG` inside a rule, `FILE(LINE): error: MSG`
// outside.
func (cc *yaraCompile) diag(level string, err error) {
	var e *yara.Error
	if !errors.As(err, &e) {
		fmt.Fprintf(cc.stderr, "%s: %v\n", level, err)
		return
	}
	if rule := enclosingRule(cc.source(e.Pos.File), e.Pos); rule != "" {
		fmt.Fprintf(cc.stderr, "%s: rule \"%s\" in %s(%d): %s\n", level, rule, e.Pos.File, e.Pos.Line, e.Msg)
		return
	}
	fmt.Fprintf(cc.stderr, "%s(%d): %s: %s\n", e.Pos.File, e.Pos.Line, level, e.Msg)
}

func (cc *yaraCompile) source(file string) []byte {
	if b, ok := cc.sources[file]; ok {
		return b
	}
	b, _ := os.ReadFile(file)
	return b
}

// enclosingRule returns the name of the rule whose declaration contains
// pos: yara names a rule in a diagnostic from the moment it has read the
// rule's name until the rule's closing brace.
func enclosingRule(src []byte, pos yara.Pos) string {
	if src == nil {
		return ""
	}
	l := yara.NewLexer(pos.File, src)
	var prev yara.Token
	rule, state := "", 0 // 0 outside, 1 after "rule", 2 inside
	before := func(p yara.Pos) bool {
		return p.Line < pos.Line || p.Line == pos.Line && p.Col < pos.Col
	}
	for {
		it, err := l.Next()
		if err != nil || it.Tok == yara.EOF || !before(it.Pos) {
			if state == 2 {
				return rule
			}
			return ""
		}
		switch {
		case state == 0 && it.Tok == yara.KwRule:
			state = 1
		case state == 1 && it.Tok == yara.Identifier:
			rule, state = it.Text, 2
		case state == 1:
			state = 0
		case state == 2 && it.Tok == yara.LBrace && prev == yara.Assign:
			if _, err := l.HexString("$"); err != nil {
				return rule
			}
		case state == 2 && it.Tok == yara.RBrace:
			state = 0
		}
		prev = it.Tok
	}
}

// splitNamespace splits "NS:FILE" as yara 4.2.3 does: only when no file
// has the whole name, at the first colon, and not before a backslash (a
// Windows drive); "ns:/abs/path" does split.
func splitNamespace(arg string) (ns, file string) {
	if _, err := os.Stat(arg); err == nil {
		return "", arg
	}
	i := strings.IndexByte(arg, ':')
	if i < 0 || i+1 < len(arg) && arg[i+1] == '\\' {
		return "", arg
	}
	return arg[:i], arg[i+1:]
}

// loadCompiled reads rules saved by glassav yarac.
func loadCompiled(name string, stderr io.Writer) (*yara.Rules, bool) {
	f, err := os.Open(name)
	if err != nil {
		fmt.Fprintln(stderr, "could not open file")
		return nil, false
	}
	defer f.Close()
	r, err := yara.Load(bufio.NewReader(f))
	if err != nil {
		fmt.Fprintf(stderr, "invalid compiled rules file: %v\n", err)
		return nil, false
	}
	return r, true
}

// printYaraStats prints what glassav can say of yara's -S statistics: the
// Aho-Corasick figures have no counterpart in glassav's matcher.
func printYaraStats(w io.Writer, r *yara.Rules) {
	fmt.Fprintf(w, "number of strings                  : %d\n", len(r.Patterns()))
}

// errCouldNotOpen is yara's error for a target it cannot open or read.
var errCouldNotOpen = errors.New("could not open file")

// yaraErrorText maps a scan error to yara's wording.
func yaraErrorText(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "scanning timed out"
	}
	return err.Error()
}

// yaraScan is one run of glassav yara over its targets.
type yaraScan struct {
	c     *yaraConfig
	rules *yara.Rules
	opt   yara.ScanOptions
	// imports orders -D output as yara loads modules: in import order
	// (unknown for compiled rules, which print in name order).
	imports []string

	mu    sync.Mutex // guards out
	out   *bufio.Writer
	err   io.Writer
	total atomic.Int64 // rules matched so far, for -l
}

// many scans a directory or the files named in a scan list with threads
// workers. Errors on single files are reported and do not change the exit
// status, as in yara.
func (s *yaraScan) many(ctx context.Context, target string, isDir bool, threads int) int {
	paths := make(chan string, 64)
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rd []byte
			for p := range paths {
				if ctx.Err() != nil {
					continue // past the deadline: yara drops the queue
				}
				n, err := s.file(ctx, p, &rd)
				if s.c.count {
					s.mu.Lock()
					fmt.Fprintf(s.out, "%s: %d\n", p, n)
					s.mu.Unlock()
				}
				if err != nil {
					s.mu.Lock()
					s.out.Flush()
					fmt.Fprintf(s.err, "error scanning %s: %s\n", p, yaraErrorText(err))
					s.mu.Unlock()
				}
			}
		}()
	}
	w := &yaraWalker{s: s, ctx: ctx, paths: paths}
	code := 0
	if isDir {
		w.dir(target)
	} else if !w.list(target) {
		code = 1
	}
	close(paths)
	wg.Wait()
	return code
}

// yaraWalker feeds paths to the workers as yara's scan_dir does.
type yaraWalker struct {
	s     *yaraScan
	ctx   context.Context
	paths chan<- string
	// stack holds the directories being walked, against symbolic-link
	// loops (yara itself recurses until paths get too long).
	stack []os.FileInfo
}

func (w *yaraWalker) put(p string) bool {
	select {
	case w.paths <- p:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// dir queues the regular files of dir (and of its subdirectories with -r).
// Paths are dir + "/" + name, as yara prints them; symbolic links are
// followed unless -N, except one pointing at ".".
func (w *yaraWalker) dir(dir string) bool {
	if fi, err := os.Stat(dir); err == nil {
		for _, a := range w.stack {
			if os.SameFile(a, fi) {
				return true
			}
		}
		w.stack = append(w.stack, fi)
		defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true
	}
	c := w.s.c
	for _, e := range ents {
		full := dir + "/" + e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			if c.noFollow {
				continue
			}
			if l, err := os.Readlink(full); err == nil && l == "." {
				continue
			}
		}
		fi, err := os.Stat(full)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode().IsRegular():
			if c.skipLarger > 0 && fi.Size() >= c.skipLarger {
				w.s.mu.Lock()
				w.s.out.Flush()
				fmt.Fprintf(w.s.err, "skipping %s (%d bytes) because it's larger than %d bytes.\n", full, fi.Size(), c.skipLarger)
				w.s.mu.Unlock()
				continue
			}
			if !w.put(full) {
				return false
			}
		case fi.IsDir() && c.recursive:
			if !w.dir(full) {
				return false
			}
		}
	}
	return true
}

// list queues the paths listed one per line in file (--scan-list).
func (w *yaraWalker) list(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(w.s.err, "error: could not open file \"%s\".\n", file)
		return false
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		p := strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			if !w.dir(p) {
				return true
			}
		} else if !w.put(p) {
			return true
		}
	}
	return true
}

// file scans one file and prints its results; it returns the number of
// rules that matched (for -c).
//
// rd is the caller's read buffer, reused from file to file: the match data
// in the result points into it and is printed before the next read.
func (s *yaraScan) file(ctx context.Context, path string, rd *[]byte) (int, error) {
	data, err := readInto(path, rd)
	if err != nil {
		return 0, errCouldNotOpen
	}
	if cap(*rd) > 64<<20 {
		defer func() { *rd = nil }() // do not keep a big file's buffer per worker
	}
	var buf bytes.Buffer
	opt := s.opt
	if d, ok := ctx.Deadline(); ok {
		opt.Timeout = time.Until(d)
		if opt.Timeout <= 0 {
			return 0, context.DeadlineExceeded
		}
	}
	// console.log output comes before the rule lines, as yara prints it
	// during the scan.
	opt.Console = &buf
	res, err := s.rules.Scan(ctx, data, &opt)
	if err != nil {
		s.flush(&buf)
		return 0, err
	}
	n := s.format(&buf, path, res)
	s.flush(&buf)
	if !s.c.noWarnings {
		for _, w := range res.Warnings {
			fmt.Fprintf(s.err, "warning: %s\n", w)
		}
	}
	return n, nil
}

// readInto reads the file at path into *buf, growing it when needed, and
// returns the bytes read.
func readInto(path string, buf *[]byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return io.ReadAll(f) // a device or pipe given by name: its size says nothing
	}
	n := fi.Size()
	if int64(cap(*buf)) < n+1 {
		*buf = make([]byte, n+1)
	}
	b := (*buf)[:cap(*buf)]
	m, err := io.ReadFull(f, b)
	switch {
	case err == nil:
		// The file grew since Stat: read the rest.
		rest, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		*buf = append(b, rest...)
		return *buf, nil
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return b[:m], nil
	}
	return nil, err
}

func (s *yaraScan) flush(b *bytes.Buffer) {
	if b.Len() == 0 {
		return
	}
	s.mu.Lock()
	s.out.Write(b.Bytes())
	s.mu.Unlock()
}

// format writes the lines yara prints for one scanned file and returns the
// number of matching rules.
func (s *yaraScan) format(b *bytes.Buffer, path string, res *yara.Result) int {
	c := s.c
	if c.printModuleData {
		var names, rest []string
		for _, n := range s.imports {
			if res.Modules[n] != nil {
				names = append(names, n)
			}
		}
		for n := range res.Modules {
			if !slices.Contains(names, n) {
				rest = append(rest, n)
			}
		}
		slices.Sort(rest)
		names = append(names, rest...)
		for _, n := range names {
			yara.WriteModuleData(b, n, res.Modules[n])
			b.WriteString("\n")
		}
	}
	count := 0
	for _, rr := range res.Rules {
		r := rr.Rule
		show := true
		if len(c.tags) > 0 {
			show = false
			for _, t := range c.tags {
				if slices.Contains(r.Tags, t) {
					show = true
					break
				}
			}
		}
		if len(c.identifiers) > 0 {
			show = slices.Contains(c.identifiers, r.Name)
		}
		show = show && rr.Matched != c.negate
		if show && !c.count {
			s.ruleLine(b, path, &rr)
		}
		if rr.Matched {
			count++
			s.total.Add(1)
		}
		if c.maxRules != 0 && s.total.Load() >= c.maxRules {
			break
		}
	}
	return count
}

// ruleLine writes `[NS:]RULE [TAGS] [META] PATH` and, with -s or -L, the
// string matches.
func (s *yaraScan) ruleLine(b *bytes.Buffer, path string, rr *yara.RuleResult) {
	c, r := s.c, rr.Rule
	if c.printNamespace {
		b.WriteString(r.Namespace)
		b.WriteByte(':')
	}
	b.WriteString(r.Name)
	b.WriteByte(' ')
	if c.printTags {
		b.WriteString("[" + strings.Join(r.Tags, ",") + "] ")
	}
	if c.printMeta {
		b.WriteByte('[')
		for i, m := range r.Meta {
			if i > 0 {
				b.WriteByte(',')
			}
			switch v := m.Value.(type) {
			case int64:
				// yara's format string has this space.
				fmt.Fprintf(b, "%s =%d", m.Key, v)
			case bool:
				fmt.Fprintf(b, "%s=%t", m.Key, v)
			case string:
				b.WriteString(m.Key + "=\"")
				writeEscaped(b, []byte(v))
				b.WriteByte('"')
			}
		}
		b.WriteString("] ")
	}
	b.WriteString(path)
	b.WriteByte('\n')
	if !c.printStrings && !c.printLength {
		return
	}
	for _, sm := range rr.Strings {
		if sm.String.Mods.Private {
			continue // yara does not print private strings
		}
		for _, m := range sm.Matches {
			// -s output runs to millions of lines: no fmt here.
			var num [24]byte
			b.WriteString("0x")
			b.Write(strconv.AppendUint(num[:0], uint64(m.Offset), 16))
			b.WriteByte(':')
			if c.printLength {
				b.Write(strconv.AppendInt(num[:0], int64(len(m.Data)), 10))
				b.WriteByte(':')
			}
			b.WriteString(sm.String.ID)
			if c.printStrings {
				b.WriteString(": ")
				if sm.String.Kind == yara.HexPattern {
					writeHexData(b, m.Data)
				} else {
					writeStringData(b, m.Data)
				}
			}
			b.WriteByte('\n')
		}
	}
}

// writeStringData writes match data as yara's print_string: printable
// ASCII as is, other bytes as \xHH.
func writeStringData(b *bytes.Buffer, d []byte) {
	for _, c := range d {
		if c >= 32 && c <= 126 {
			b.WriteByte(c)
		} else {
			b.Write([]byte{'\\', 'x', upperHex[c>>4], upperHex[c&15]})
		}
	}
}

const upperHex = "0123456789ABCDEF"

// writeHexData writes match data of a hex string as yara's
// print_hex_string: at most 64 bytes in upper-case hex.
func writeHexData(b *bytes.Buffer, d []byte) {
	for i, c := range d[:min(64, len(d))] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.Write([]byte{upperHex[c>>4], upperHex[c&15]})
	}
	if len(d) > 64 {
		b.WriteString(" ...")
	}
}

// writeEscaped writes a metadata string as yara's print_escaped: C escapes
// for quotes, backslash and \a..\r, octal for other control bytes and
// bytes from 127.
func writeEscaped(b *bytes.Buffer, d []byte) {
	const cesc = "abtnvfr"
	for _, c := range d {
		switch {
		case c == '"' || c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 127:
			fmt.Fprintf(b, "\\%03o", c)
		case c >= 32:
			b.WriteByte(c)
		case c >= 7 && c <= 13:
			b.WriteByte('\\')
			b.WriteByte(cesc[c-7])
		default:
			fmt.Fprintf(b, "\\%03o", c)
		}
	}
}
