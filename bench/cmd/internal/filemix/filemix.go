// Package filemix picks the fixed mix of real files that the daemon load
// generators send: the same files, in the same order, on every run on the
// same machine, so that two daemons measured in one run (or two runs a day
// apart) scan the same bytes.
package filemix

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
)

// Options says where to look and what to take.
type Options struct {
	Roots   []string // walked recursively, in name order; symlinks are not followed
	MinSize int64    // smallest file taken, in bytes
	MaxSize int64    // largest file taken, in bytes
	Files   int      // how many distinct files to take
	Seed    uint64   // the choice within each size band, and the final order
}

// Mix is the chosen files' contents in request order.
type Mix struct {
	Files [][]byte
	Names []string
	Total int64    // bytes over all files
	Bands []string // one line per size band: range, candidates, taken
	ID    string   // short digest of the names and contents, to compare runs
}

// Pick walks the roots and takes Files distinct files, an equal share from
// each band of sizes growing fourfold from MinSize (the last band runs to
// MaxSize). A plain random sample would be two thirds files under 4 KiB,
// which measures connection overhead, not scanning; equal shares per band
// cover the whole range. Files with the same content are taken once, so a
// verdict cache cannot answer a "new" file from an old one.
func Pick(o Options) (*Mix, error) {
	if o.MinSize <= 0 || o.MaxSize < o.MinSize || o.Files <= 0 {
		return nil, fmt.Errorf("filemix: bad options %+v", o)
	}
	nb := 1
	for lim := o.MinSize * 4; lim*4 <= o.MaxSize; lim *= 4 {
		nb++
	}
	band := func(size int64) int {
		b := 0
		for lim := o.MinSize * 4; size >= lim && b < nb-1; lim *= 4 {
			b++
		}
		return b
	}
	cands := make([][]string, nb)
	for _, root := range o.Roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() && p != root {
					return fs.SkipDir // unreadable directory: skip, keep walking
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil || fi.Size() < o.MinSize || fi.Size() > o.MaxSize {
				return nil
			}
			b := band(fi.Size())
			cands[b] = append(cands[b], p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("filemix: walking %s: %w", root, err)
		}
	}
	m := &Mix{}
	seen := make(map[[32]byte]bool)
	id := sha256.New()
	lo := o.MinSize
	for b, c := range cands {
		sort.Strings(c)
		r := rand.New(rand.NewPCG(o.Seed, uint64(b)))
		r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		want := o.Files / nb
		if b < o.Files%nb {
			want++
		}
		taken := 0
		for _, p := range c {
			if taken == want {
				break
			}
			data, err := os.ReadFile(p)
			if err != nil || int64(len(data)) < o.MinSize || int64(len(data)) > o.MaxSize {
				continue
			}
			sum := sha256.Sum256(data)
			if seen[sum] {
				continue
			}
			seen[sum] = true
			m.Files = append(m.Files, data)
			m.Names = append(m.Names, p)
			m.Total += int64(len(data))
			taken++
		}
		hi := lo * 4
		if b == nb-1 {
			hi = o.MaxSize
		}
		m.Bands = append(m.Bands, fmt.Sprintf("%s–%s: %d of %d candidates", size(lo), size(hi), taken, len(c)))
		lo = hi
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("filemix: no regular files of %d–%d bytes under %v", o.MinSize, o.MaxSize, o.Roots)
	}
	// Interleave the bands: requests of every size all through the run.
	r := rand.New(rand.NewPCG(o.Seed, uint64(nb)))
	perm := r.Perm(len(m.Files))
	files, names := make([][]byte, len(perm)), make([]string, len(perm))
	for i, j := range perm {
		files[i], names[i] = m.Files[j], m.Names[j]
		fmt.Fprintf(id, "%s\x00%x\n", names[i], sha256.Sum256(files[i]))
	}
	m.Files, m.Names = files, names
	m.ID = fmt.Sprintf("%x", id.Sum(nil)[:6])
	return m, nil
}

// Summary is one line describing the mix.
func (m *Mix) Summary() string {
	return fmt.Sprintf("mix %s: %d files, %.1f MiB, mean %s", m.ID, len(m.Files), float64(m.Total)/(1<<20), size(m.Total/int64(len(m.Files))))
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
