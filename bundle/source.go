package bundle

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/glassav/glassav/clamav"
)

// Source is the content of a bundle gathered from a source directory.
type Source struct {
	Files map[string][]byte // name to content, ready for Build
	// Skipped are the top-level entries that are not database files
	// (subdirectories, hidden files, other extensions), for a warning.
	Skipped []string
	// Imported describes each official ClamAV database taken in, such as
	// "daily.cld: daily.cvd version 27000 + 3 .cdiff = version 27003".
	Imported []string
}

// ReadSource reads the database files at the top level of dir: ClamAV
// databases and YARA rules (.yar, .yara). Official ClamAV containers
// (.cvd, .cld, .cud) and their incremental updates (NAME-VERSION.cdiff)
// go through ImportClamAV, so that ClamAV's own signatures are checked
// before anything is taken in.
func ReadSource(dir string, lim Limits) (*Source, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	src := &Source{Files: make(map[string][]byte)}
	official := make(map[string][]byte)
	var total int64
	for _, e := range ents {
		name := e.Name()
		ext := strings.ToLower(path.Ext(name))
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() || !(clamav.IsDatabase(name) || ext == ".cdiff") {
			src.Skipped = append(src.Skipped, name)
			continue
		}
		if err := ValidName(name); err != nil {
			return nil, err
		}
		if len(src.Files)+len(official) >= lim.MaxFiles {
			return nil, fmt.Errorf("%s: more than %d database files", dir, lim.MaxFiles)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > lim.MaxFileSize {
			return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", name, len(data), lim.MaxFileSize)
		}
		if total += int64(len(data)); total > lim.MaxTotalSize {
			return nil, fmt.Errorf("%s: files total more than the limit of %d bytes", dir, lim.MaxTotalSize)
		}
		switch ext {
		case ".cvd", ".cld", ".cud", ".cdiff":
			official[name] = data
		default:
			src.Files[name] = data
		}
	}
	if len(official) > 0 {
		imp, notes, err := ImportClamAV(official)
		if err != nil {
			return nil, err
		}
		for n, d := range imp {
			src.Files[n] = d
		}
		src.Imported = notes
	}
	return src, nil
}

// ImportClamAV verifies official ClamAV databases and brings them up to
// date: files maps names to contents of .cvd, .cld and .cud containers and
// of NAME-VERSION.cdiff updates. Every container is authenticated with
// ClamAV's keys (clamav.ReadContainer) and every .cdiff that applies is
// checked and applied in version order (clamav.ApplyCDiff), as freshclam
// does. The result holds, per database NAME, either the container
// unchanged or, when updates applied, NAME.cld. Where both NAME.cvd and
// NAME.cld are given, the newer is used. A .cdiff without its container,
// or a gap in the versions, is an error; updates older than the container
// are ignored.
func ImportClamAV(files map[string][]byte) (out map[string][]byte, notes []string, err error) {
	type diff struct {
		version int
		name    string
	}
	bases := make(map[string]*clamav.Container)
	diffs := make(map[string][]diff)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ext := strings.ToLower(path.Ext(n))
		stem := strings.TrimSuffix(n, path.Ext(n))
		if ext == ".cdiff" {
			i := strings.LastIndexByte(stem, '-')
			v, err := strconv.Atoi(stem[i+1:])
			if i <= 0 || err != nil || v < 1 {
				return nil, nil, fmt.Errorf("%s: not named NAME-VERSION.cdiff", n)
			}
			diffs[stem[:i]] = append(diffs[stem[:i]], diff{v, n})
			continue
		}
		c, err := clamav.ReadContainer(n, files[n])
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		if old := bases[stem]; old != nil {
			// NAME.cvd and NAME.cld: keep the newer, the .cld on a tie.
			if c.Header.Version < old.Header.Version || (c.Header.Version == old.Header.Version && ext == ".cvd") {
				continue
			}
		}
		bases[stem] = c
	}
	for stem := range diffs {
		if bases[stem] == nil {
			return nil, nil, fmt.Errorf("import: %s has no %s.cvd or %s.cld to apply to", diffs[stem][0].name, stem, stem)
		}
	}
	out = make(map[string][]byte)
	stems := make([]string, 0, len(bases))
	for s := range bases {
		stems = append(stems, s)
	}
	slices.Sort(stems)
	for _, stem := range stems {
		c := bases[stem]
		ds := diffs[stem]
		slices.SortFunc(ds, func(a, b diff) int { return a.version - b.version })
		from, applied := c.Header.Version, 0
		for _, d := range ds {
			if d.version <= c.Header.Version {
				continue
			}
			if d.version != c.Header.Version+1 {
				return nil, nil, fmt.Errorf("import: %s: version %d is missing between %s version %d and it", d.name, c.Header.Version+1, c.Name, c.Header.Version)
			}
			if c, err = clamav.ApplyCDiff(c, d.name, files[d.name]); err != nil {
				return nil, nil, fmt.Errorf("import: %w", err)
			}
			applied++
		}
		if applied == 0 {
			out[c.Name] = files[c.Name]
			notes = append(notes, fmt.Sprintf("%s: version %d, ClamAV signature verified", c.Name, c.Header.Version))
			continue
		}
		b, err := c.MarshalCLD()
		if err != nil {
			return nil, nil, fmt.Errorf("import: %w", err)
		}
		out[stem+".cld"] = b
		notes = append(notes, fmt.Sprintf("%s.cld: version %d + %d .cdiff = version %d, ClamAV signatures verified", stem, from, applied, c.Header.Version))
	}
	return out, notes, nil
}
