package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

const yaracUsage = "Usage: glassav yarac [OPTION]... [NAMESPACE:]SOURCE_FILE... OUTPUT_FILE"

// runYarac is glassav yarac: yarac's command line. The output is glassav's
// compiled form (yara.Rules.Save), which glassav yara -C loads; it is not
// libyara's format, which only libyara reads.
func runYarac(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		atomTable, defines                  = "", []string(nil)
		failOnWarnings, help, noWarn, showV bool
		maxStrings                          = int64(10000)
	)
	opts := yopts{
		{long: "atom-quality-table", arg: "FILE", str: &atomTable, help: "path to a file with the atom quality table (accepted; glassav chooses atoms itself)"},
		{short: 'd', long: "define", arg: "VAR=VALUE", list: &defines, help: "define external variable"},
		{long: "fail-on-warnings", flag: &failOnWarnings, help: "fail on warnings"},
		{short: 'h', long: "help", flag: &help, help: "show this help and exit"},
		{long: "max-strings-per-rule", arg: "NUMBER", num: &maxStrings, help: "set maximum number of strings per rule (default=10000)"},
		{short: 'w', long: "no-warnings", flag: &noWarn, help: "disable warnings"},
		{short: 'v', long: "version", flag: &showV, help: "show version information"},
	}
	operands, err := opts.parse(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if showV {
		fmt.Fprintf(stdout, "4.2.3 (glassav %s)\n", version)
		return 0
	}
	if help {
		fmt.Fprintf(stdout, "%s\n\n", yaracUsage)
		fmt.Fprint(stdout, opts.usage(40))
		return 0
	}
	if len(operands) < 2 {
		fmt.Fprintf(stderr, "yarac: wrong number of arguments\n%s\n\nTry `--help` for more options\n", yaracUsage)
		return 1
	}
	cc := &yaraCompile{externals: parseDefines(defines, stderr), maxStrings: int(maxStrings), noWarnings: noWarn, stdin: stdin, stderr: stderr}
	rules, ok := cc.compile(operands[:len(operands)-1])
	if !ok || failOnWarnings && cc.warnings > 0 {
		return 1
	}
	out := operands[len(operands)-1]
	if err := saveRules(rules, out); err != nil {
		fmt.Fprintf(stderr, "error: could not save file: %v\n", err)
		return 1
	}
	return 0
}

// saveRules writes the compiled rules to name through a temporary file, so
// a failed save leaves no truncated rules behind.
func saveRules(rules interface{ Save(io.Writer) error }, name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".yarac-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	if err := rules.Save(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
