// Command yarafilter writes a YARA rule file reduced, with glassav's own
// parser, to the rules that need no binary-format module (pe, elf, ...),
// for the YARA benchmark and differential scripts.
//
//	yarafilter [-modules] [-drop NAMES_FILE] -o OUT RULES.yar
//
// With -modules it keeps the rules that use pe, elf, dotnet, macho and dex
// and leaves out only those using modules glassav cannot share with yara
// (difftest.UnmatchedModules).
// NAMES_FILE lists rule names to leave out as well, one per line (the
// benchmark passes the rules yara warns are slow). Rules that refer to a
// dropped rule are dropped too. The counts go to standard error.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/glassav/glassav/difftest"
)

func main() {
	out := flag.String("o", "", "write the filtered rules to this file")
	dropFile := flag.String("drop", "", "file of rule names to leave out, one per line")
	withModules := flag.Bool("modules", false, "keep the rules that use the binary-format modules glassav shares with yara (pe, elf, dotnet, macho, dex); leave out only magic, cuckoo and lnk")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: yarafilter [-modules] [-drop NAMES_FILE] -o OUT RULES.yar")
		os.Exit(2)
	}
	modules := difftest.BinaryModules
	if *withModules {
		modules = difftest.UnmatchedModules
	}
	if err := run(flag.Arg(0), *out, *dropFile, modules); err != nil {
		fmt.Fprintln(os.Stderr, "yarafilter:", err)
		os.Exit(1)
	}
}

func run(in, out, dropFile string, modules []string) error {
	drop := map[string]bool{}
	if dropFile != "" {
		f, err := os.Open(dropFile)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				drop[s] = true
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, kept, dropped, err := difftest.FilterYARA(in, src, modules, func(r string) bool { return drop[r] })
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "yarafilter: %s: %d rules kept, %d dropped\n", in, len(kept), len(dropped))
	return os.Rename(tmp, out)
}
