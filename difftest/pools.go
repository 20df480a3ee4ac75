package difftest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Roots of the file pools on a Debian machine of this project's kind.
var (
	plainRoots = []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu"}
	textRoots  = []string{"/usr/bin", "/usr/share/perl5", "/usr/lib/python3", "/usr/share/doc"}
)

// PERoots returns the directories that hold real PE files here: Go's
// debug/pe test data and the Windows launchers that Python's packaging tools
// ship (under pyenv, when present).
func PERoots() []string {
	var roots []string
	goroot := "/usr/local/go"
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	roots = append(roots, filepath.Join(goroot, "src/debug/pe/testdata"))
	pyenv := os.Getenv("PYENV_ROOT")
	if pyenv == "" {
		if h, err := os.UserHomeDir(); err == nil {
			pyenv = filepath.Join(h, ".pyenv")
		}
	}
	if pyenv != "" {
		roots = append(roots, pyenv)
	}
	return roots
}

// Pools holds sampled files by pool.
type Pools map[Pool][]*File

// SamplePools draws up to n files for each pool, skipping files whose bytes
// clamscan would treat as a container or normalise.
func SamplePools(g *Gen, n int) (Pools, error) {
	plain, err := ListFiles(plainRoots, 1024, 4<<20)
	if err != nil {
		return nil, err
	}
	var text []string
	for _, r := range textRoots {
		if fs, err := ListFiles([]string{r}, 512, 256<<10); err == nil {
			text = append(text, fs...)
		}
	}
	var pes []string
	for _, r := range PERoots() {
		fs, err := ListFiles([]string{r}, 1024, 4<<20)
		if err != nil {
			continue
		}
		for _, p := range fs {
			// wininst installers carry archives; the test kernel is an EFI stub
			if (strings.HasSuffix(p, ".exe") || strings.Contains(p, "-exec")) && !strings.Contains(p, "wininst") {
				pes = append(pes, p)
			}
		}
	}
	ps := Pools{}
	r := g.Rand()
	plainKeep := func(f *File) bool { return IsPlain(f.Data) }
	if ps[PoolPlain], err = Sample(r, plain, n, plainKeep); err != nil {
		return nil, err
	}
	if ps[PoolText], err = Sample(r, text, n, func(f *File) bool { return IsText(f.Data) && IsPlain(f.Data) }); err != nil {
		return nil, err
	}
	exeKeep := func(f *File) bool { return plainKeep(f) && f.Exe != nil && f.Exe.EP >= 0 }
	elfs, err := Sample(r, plain, n/2, func(f *File) bool { return exeKeep(f) && f.Exe.Format == "elf" })
	if err != nil {
		return nil, err
	}
	if ps[PoolPE], err = Sample(r, pes, n, func(f *File) bool { return exeKeep(f) && f.Exe.Format == "pe" }); err != nil {
		return nil, err
	}
	ps[PoolExe] = append(elfs, ps[PoolPE][:min(len(ps[PoolPE]), n-len(elfs))]...)
	for _, p := range []Pool{PoolPlain, PoolText, PoolExe, PoolPE} {
		if len(ps[p]) == 0 {
			return ps, fmt.Errorf("difftest: no files for pool %s", p)
		}
	}
	return ps, nil
}

// Generate runs feature f over the files of its pool, one attempt per file,
// and returns the signatures.
func (g *Gen) Generate(f Feature, files []*File) DB {
	var db DB
	for _, file := range files {
		if out, ok := f.Gen(g, file); ok {
			db = append(db, out...)
		}
	}
	return db
}
