// Command hashgen writes a large .hdb (MD5 file-hash) database for the
// daemon benchmarks: the "2-million-hash database" the daemon comparison
// loads beside Linux Malware Detect's signatures.
//
//	hashgen -o FILE [-n 2000000] [-seed 1]
//
// The lines come from difftest's feed generator (random digests, realistic
// sizes and official-looking names), so they match nothing real. Output is
// deterministic for n and seed and is renamed into place only when
// complete.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glassav/glassav/difftest"
)

func main() {
	out := flag.String("o", "", "write the .hdb to this file")
	n := flag.Int("n", 2_000_000, "number of hash signatures")
	seed := flag.Uint64("seed", 1, "generator seed")
	flag.Parse()
	if *out == "" || *n <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := write(*out, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "hashgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "hashgen: %d hashes in %s\n", *n, *out)
}

func write(out string, n int, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".hashgen-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := difftest.New(seed).WriteFeed(tmp, difftest.FeedConfig{FileMD5: n}); err != nil {
		return fmt.Errorf("generating %s: %w", out, err)
	}
	return os.Rename(filepath.Join(tmp, "feed.hdb"), out)
}
