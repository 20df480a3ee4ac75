// Command feedgen writes the generated databases the benchmarks load.
//
//	feedgen -feed DIR [-seed N] [-scale F]   feed-shaped database (feed.mdb/.hdb/.hsb/.ndb)
//	feedgen -usr-hashes FILE [ROOT...]       .hdb of every distinct file under ROOTs (default /usr)
//
// Output is deterministic for a seed (and, for -usr-hashes, the files on
// disk). It is written to a temporary name and renamed into place, so an
// interrupted run never leaves a partial database that a later run would
// take as complete.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glassav/glassav/difftest"
)

func main() {
	feed := flag.String("feed", "", "write a feed-shaped database into this directory")
	usr := flag.String("usr-hashes", "", "write an .hdb of the files under the roots (default /usr) to this file")
	seed := flag.Uint64("seed", 1, "generator seed")
	scale := flag.Float64("scale", 1, "fraction of the official feed size to generate")
	flag.Parse()
	var err error
	switch {
	case *feed != "":
		err = writeFeed(*feed, *seed, *scale)
	case *usr != "":
		roots := flag.Args()
		if len(roots) == 0 {
			roots = []string{"/usr"}
		}
		err = writeUsr(*usr, roots)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "feedgen:", err)
		os.Exit(1)
	}
}

func writeFeed(dir string, seed uint64, scale float64) error {
	c := difftest.OfficialFeed()
	for _, n := range []*int{&c.SectionHashes, &c.FileMD5, &c.FileSHA256, &c.Bodies} {
		*n = int(float64(*n) * scale)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := difftest.New(seed).WriteFeed(tmp, c); err != nil {
		return err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "feedgen: %d signatures in %s\n", c.Total(), dir)
	return nil
}

func writeUsr(path string, roots []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".usr-hashes-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := difftest.WriteUsrHashes(f, roots)
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "feedgen: %d hashes in %s\n", n, path)
	return os.Rename(f.Name(), path)
}
