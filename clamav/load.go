package clamav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/glassav/glassav/ir"
)

// maxDBFile bounds one database file read into memory (hash databases above
// streamThreshold are streamed instead).
const maxDBFile = 2 << 30

// dbExts are the extensions clamscan -d DIR loads from a directory
// (ClamAV's CLI_DBEXT list).
var dbExts = map[string]bool{
	"db": true, "hdb": true, "hdu": true, "fp": true, "mdb": true, "mdu": true,
	"hsb": true, "hsu": true, "sfp": true, "msb": true, "msu": true, "ndb": true,
	"ndu": true, "ldb": true, "ldu": true, "sdb": true, "zmd": true, "rmd": true,
	"pdb": true, "gdb": true, "wdb": true, "cbc": true, "ftm": true, "cfg": true,
	"cvd": true, "cld": true, "cud": true, "cdb": true, "cat": true, "crb": true,
	"idb": true, "ioc": true, "yar": true, "yara": true, "pwdb": true, "ign": true,
	"ign2": true, "imp": true,
}

// puaExts are the PUA variants, loaded only with Options.DetectPUA.
var puaExts = map[string]bool{"hdu": true, "hsu": true, "mdu": true, "msu": true, "ndu": true, "ldu": true}

// extOf returns a database name's extension without the dot.
func extOf(name string) string { return strings.TrimPrefix(path.Ext(name), ".") }

// IsDatabase reports whether name has an extension clamscan loads from a
// database directory.
func IsDatabase(name string) bool { return dbExts[extOf(name)] }

// LoadFile parses one database file's bytes into set; its extension decides
// the format. A malformed line fails with an error naming the file, the line
// and the reason ("ndb x.ndb:12: offset \"EP+x\": invalid number"). Formats
// glassav does not implement are skipped with one warning and counted in
// set.Skipped, never failing the load.
func LoadFile(set *ir.Set, name string, data []byte, opt Options) error {
	ext := extOf(name)
	if puaExts[ext] && !opt.DetectPUA {
		return nil
	}
	l := &loader{set: set, file: name, opt: opt, pua: puaExts[ext]}
	var err error
	switch ext {
	case "hdb", "hsb", "hdu", "hsu", "mdb", "msb", "mdu", "msu", "imp", "fp", "sfp":
		return loadHashData(set, name, data, hashFormats[ext], opt)
	case "ndb", "ndu":
		err = eachLine(data, l.ndbLine)
	case "ldb", "ldu":
		err = eachLine(data, l.ldbLine)
	case "db":
		err = eachLine(data, l.dbLine)
	case "ign", "ign2":
		err = l.ignore(data, ext == "ign")
	case "ftm":
		err = l.ftm(data)
	case "cvd", "cld", "cud":
		return loadContainer(set, name, data, opt)
	case "info":
		return nil // the container manifest, checked by ReadContainer
	case "yar", "yara":
		if opt.SkipYARA {
			return nil
		}
		l.unsupported(ext, data)
		return nil
	default:
		if !dbExts[ext] {
			return fmt.Errorf("%s: unknown database type", name)
		}
		l.unsupported(ext, data)
		return nil
	}
	if err != nil {
		return wrapFileErr(ext, name, err)
	}
	return nil
}

// loadContainer loads every signature member of a .cvd, .cld or .cud.
func loadContainer(set *ir.Set, name string, data []byte, opt Options) error {
	c, err := ReadContainer(name, data)
	if err != nil {
		return err
	}
	opt.Official = c.Official
	base := path.Base(filepath.ToSlash(name))
	for _, f := range c.Files {
		if !dbExts[extOf(f.Name)] {
			continue // COPYING, the .info manifest
		}
		if err := LoadFile(set, base+"/"+f.Name, f.Data, opt); err != nil {
			return err
		}
	}
	return nil
}

// Load loads database files and directories into set. A directory loads
// every file in it with a database extension, in name order, not
// descending into subdirectories, like clamscan -d DIR; where a directory
// holds both NAME.cvd and NAME.cld only the newer is loaded, as ClamAV does.
func Load(ctx context.Context, set *ir.Set, paths []string, opt Options) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			if err := loadPath(ctx, set, p, opt); err != nil {
				return err
			}
			continue
		}
		names, err := dirDatabases(p)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := loadPath(ctx, set, filepath.Join(p, n), opt); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirDatabases lists the database files of dir in load order.
func dirDatabases(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	have := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || !IsDatabase(e.Name()) {
			continue
		}
		names = append(names, e.Name())
		have[e.Name()] = true
	}
	// Ignore lists first, so that they apply to every database of the
	// directory as in ClamAV; then the rest in name order.
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := isIgnoreList(a), isIgnoreList(b)
		switch {
		case ia && !ib:
			return -1
		case ib && !ia:
			return 1
		}
		return strings.Compare(a, b)
	})
	// Of NAME.cvd and NAME.cld keep the newer (ClamAV keeps the .cld on a tie).
	out := names[:0]
	for _, n := range names {
		if ext := extOf(n); ext == "cvd" || ext == "cld" {
			other := strings.TrimSuffix(n, ext) + map[string]string{"cvd": "cld", "cld": "cvd"}[ext]
			if have[other] {
				v, _ := headerVersion(filepath.Join(dir, n))
				w, _ := headerVersion(filepath.Join(dir, other))
				if v < w || (v == w && ext == "cvd") {
					continue
				}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

func isIgnoreList(name string) bool {
	ext := extOf(name)
	return ext == "ign" || ext == "ign2"
}

func headerVersion(p string) (int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b := make([]byte, HeaderSize)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, err
	}
	h, err := ParseHeader(b[:n])
	if err != nil {
		return 0, err
	}
	return h.Version, nil
}

// loadPath loads one database file from disk; large hash databases are
// streamed.
func loadPath(ctx context.Context, set *ir.Set, p string, opt Options) error {
	ext := extOf(p)
	if puaExts[ext] && !opt.DetectPUA {
		return nil
	}
	if f, ok := hashFormats[ext]; ok {
		if fi, err := os.Stat(p); err == nil && fi.Size() >= streamThreshold {
			return loadHashFile(ctx, set, p, f, opt)
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.Size() > maxDBFile {
		return fmt.Errorf("%s: database file larger than %d bytes", p, int64(maxDBFile))
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	return LoadFile(set, p, data, opt)
}

// ignore loads .ign2 lines (SigName or SigName:MD5-of-db-line) and legacy
// .ign lines (db:line:SigName, or the .ign2 forms) into set.Ignored. Names
// are stored without a ".UNOFFICIAL" suffix, as ClamAV compares them.
func (l *loader) ignore(data []byte, legacy bool) error {
	if len(data) == 0 {
		return nil
	}
	err := eachLine(data, func(n int, line string) error {
		if line == "" {
			return errEmptyLine
		}
		f := strings.Split(line, ":")
		var name, md5 string
		switch {
		case len(f) == 1:
			name = f[0]
		case len(f) == 2:
			name, md5 = f[0], f[1]
		case len(f) == 3 && legacy:
			name = f[2]
		default:
			return fmt.Errorf("want SigName or SigName:MD5, got %d fields", len(f))
		}
		if name == "" {
			return errors.New("empty signature name")
		}
		if md5 != "" && (len(md5) != 32 || !isHexDigits(md5)) {
			return fmt.Errorf("MD5 %q: want 32 hex digits", md5)
		}
		name = strings.TrimSuffix(name, ".UNOFFICIAL")
		l.set.Ignored[name] = append(l.set.Ignored[name], strings.ToLower(md5))
		return nil
	})
	return err
}

// yaraRule finds YARA rule declarations, to count them as clamscan does.
var yaraRule = regexp.MustCompile(`(?m)^\s*(?:(?:private|global)\s+)*rule\s+[A-Za-z_]`)

// unsupported skips a format glassav does not implement: one warning, and
// its signatures counted (as clamscan would count them) in both
// set.Signatures and set.Skipped.
func (l *loader) unsupported(ext string, data []byte) {
	n := 0
	switch ext {
	case "pdb", "gdb", "idb", "cdb", "sdb", "zmd", "rmd":
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" && line[0] != '#' {
				n++
			}
		}
	case "yar", "yara":
		n = len(yaraRule.FindAllIndex(data, -1))
	}
	// .wdb .crb .cat .cfg .ioc .pwdb .cbc: clamscan counts no signatures
	// (bytecode only loads with --bytecode-unsigned or from a signed .cvd).
	l.set.Signatures += n
	l.set.Skip(skipFormat+" ."+ext, n)
	l.set.Warnings = append(l.set.Warnings, fmt.Sprintf("%s: .%s databases are not supported; skipped %d signatures", l.file, ext, n))
}
