package engine

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bomb tests scan hostile containers in a child process (this test
// binary run again with bombChildEnv set) so that its peak memory can be
// measured alone: each must end within bombTime and bombRSS with a visible
// limit or error in its result.
const (
	bombChildEnv = "GLASSAV_BOMB_CHILD"
	bombTime     = 30 * time.Second
	bombRSS      = 512 << 20
)

func TestMain(m *testing.M) {
	if path := os.Getenv(bombChildEnv); path != "" {
		os.Exit(bombChild(path))
	}
	os.Exit(m.Run())
}

// bombReport is what the child prints: the engine's result in brief.
type bombReport struct {
	Matches  []string
	Limits   []string
	Warnings []string
	Members  int
	Scanned  int64
	Error    string
}

// bombChild scans path with containers opened and the default limits,
// AlertExceedsMax on, and prints a bombReport.
func bombChild(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	dir, err := os.MkdirTemp("", "glassav-bomb")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer os.RemoveAll(dir)
	db := filepath.Join(dir, "clam.ndb")
	if err := os.WriteFile(db, []byte("Clam.Body:0:*:"+os.Getenv("GLASSAV_BOMB_SIG")+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	r, err := Load(context.Background(), LoadOptions{Paths: []string{db}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	w := 2
	if v := os.Getenv("GLASSAV_BOMB_WORKERS"); v != "" {
		fmt.Sscan(v, &w)
	}
	opt := deep(w)
	opt.Containers.AlertExceedsMax = true
	opt.AllMatch = true
	var rep bombReport
	res, err := r.Scan(context.Background(), &Object{Name: filepath.Base(path), Data: data}, opt)
	if err != nil {
		rep.Error = err.Error()
	} else {
		for _, m := range res.Matches {
			rep.Matches = append(rep.Matches, m.Name)
		}
		rep.Limits, rep.Warnings, rep.Members, rep.Scanned = res.Limits, res.Warnings, res.Members, res.Scanned
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// runBomb scans path in a child process and returns its report, failing
// when the child takes more than bombTime or bombRSS.
func runBomb(t *testing.T, path string) bombReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*bombTime)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), bombChildEnv+"="+path, "GLASSAV_BOMB_SIG="+clamBodyOrLiteral())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, errb.String())
	}
	rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10
	var rep bombReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("child output %q: %v", out.String(), err)
	}
	t.Logf("%s: %v, peak RSS %d MiB; matches %q limits %q members %d scanned %d MiB; %d warnings, first %q",
		filepath.Base(path), took.Round(time.Millisecond), rss>>20, rep.Matches, rep.Limits, rep.Members, rep.Scanned>>20, len(rep.Warnings), first(rep.Warnings))
	if took > bombTime {
		t.Errorf("took %v, over %v", took, bombTime)
	}
	if rss > bombRSS {
		t.Errorf("peak RSS %d MiB, over %d MiB", rss>>20, bombRSS>>20)
	}
	return rep
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// clamBodyOrLiteral is clam.exe's body signature when the corpus is
// installed; the bombs hold no clam.exe, so any signature will do.
func clamBodyOrLiteral() string {
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe"); err == nil && len(data) > 0x77 {
		return fmt.Sprintf("%x", data[0x40:0x77])
	}
	return "676c6173736176"
}

// wantLimit fails unless the report names limit, as a limit and as the
// detection AlertExceedsMax makes of it.
func wantLimit(t *testing.T, rep bombReport, limit string) {
	t.Helper()
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	if !has(rep.Limits, limit) || !has(rep.Matches, LimitPrefix+limit) {
		t.Errorf("limits %q matches %q: want %s", rep.Limits, rep.Matches, limit)
	}
}

// gzipZeros returns one gzip member of n zero bytes.
func gzipZeros(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := int64(0); i < n>>20; i++ {
		zw.Write(zeros)
	}
	zw.Close()
	return buf.Bytes()
}

func writeBomb(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBombGzip10GB(t *testing.T) {
	// Forty concatenated members of 256 MiB of zeros: 10 GiB from 10 MiB.
	member := gzipZeros(t, 256<<20)
	data := bytes.Repeat(member, 40)
	rep := runBomb(t, writeBomb(t, "zeros.gz", data))
	wantLimit(t, rep, "MaxFileSize")
}

// nestedZip returns a zip holding copies of inner under n names.
func nestedZip(t *testing.T, inner []byte, innerName string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for i := 0; i < n; i++ {
		w, err := zw.Create(fmt.Sprintf("%d-%s", i, innerName))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(inner)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBomb42Zip(t *testing.T) {
	// 42.zip's shape: 16 zips of 16 zips of 16 zips of 16 files of 256
	// MiB of zeros, 4 TiB in all.
	var kernel bytes.Buffer
	zw := zip.NewWriter(&kernel)
	w, _ := zw.Create("0.dll")
	zeros := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		w.Write(zeros)
	}
	zw.Close()
	layer := nestedZip(t, kernel.Bytes(), "lib.zip", 16)
	for _, name := range []string{"book.zip", "chapter.zip"} {
		layer = nestedZip(t, layer, name, 16)
	}
	t.Logf("42-style bomb: %d KiB", len(layer)>>10)
	rep := runBomb(t, writeBomb(t, "42.zip", layer))
	if len(rep.Limits) == 0 {
		t.Errorf("no limit hit: %+v", rep)
	}
}

// overlapZip is the non-recursive zip bomb: every central directory entry
// points at the same deflated kernel.
func overlapZip(n int, kernel []byte) []byte {
	var packed bytes.Buffer
	fw, _ := flate.NewWriter(&packed, flate.BestCompression)
	fw.Write(kernel)
	fw.Close()
	crc := crc32.ChecksumIEEE(kernel)
	var buf bytes.Buffer
	le := binary.LittleEndian
	put := func(vs ...any) {
		for _, v := range vs {
			binary.Write(&buf, le, v)
		}
	}
	buf.WriteString("PK\x03\x04")
	put(uint16(20), uint16(0), uint16(8), uint32(0), crc, uint32(packed.Len()), uint32(len(kernel)), uint16(1), uint16(0))
	buf.WriteString("k")
	buf.Write(packed.Bytes())
	cd := buf.Len()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%05d", i)
		buf.WriteString("PK\x01\x02")
		put(uint16(20), uint16(20), uint16(0), uint16(8), uint32(0), crc, uint32(packed.Len()), uint32(len(kernel)),
			uint16(len(name)), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), uint32(0))
		buf.WriteString(name)
	}
	size := buf.Len() - cd
	buf.WriteString("PK\x05\x06")
	put(uint16(0), uint16(0), uint16(n), uint16(n), uint32(size), uint32(cd), uint16(0))
	return buf.Bytes()
}

func TestBombOverlappingZip(t *testing.T) {
	// 10,000 entries of 20 MiB sharing one kernel: 200 GB from 20 KiB.
	rep := runBomb(t, writeBomb(t, "overlap.zip", overlapZip(10000, make([]byte, 20<<20))))
	if len(rep.Matches) != 1 || rep.Matches[0] != OverlappingZipHit || rep.Members != 0 {
		t.Errorf("matches %q members %d, want %s before any member", rep.Matches, rep.Members, OverlappingZipHit)
	}
}

func TestBombDeepNesting(t *testing.T) {
	// 10,000 levels of gzip around a short text, stored (level 0) so the
	// file stays small to build.
	data := []byte("the bottom of the well\n")
	for i := 0; i < 10000; i++ {
		data = gzipStored(data)
	}
	rep := runBomb(t, writeBomb(t, "deep.gz", data))
	wantLimit(t, rep, "MaxRecursion")
	if rep.Members != 16 {
		t.Errorf("%d members scanned, want 16 (down to depth MaxRecursion-1)", rep.Members)
	}
}

// gzipStored wraps data in a gzip member of stored deflate blocks, written
// by hand: compress/gzip's writer costs a megabyte of state per call.
func gzipStored(data []byte) []byte {
	out := make([]byte, 0, len(data)+len(data)/65535*5+32)
	out = append(out, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff)
	for rest := data; ; {
		n := min(len(rest), 65535)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data)))
}

// TestBombDamaged scans truncated and corrupted copies of every container
// of ClamAV's test corpus in one child each: none may crash, hang or blow
// up, and each cut in half must say it is damaged.
func TestBombDamaged(t *testing.T) {
	dir := filepath.Dir(clamTestFile(t, "clam.exe"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	n := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".exe") {
			continue // executables: part 2
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []int{len(data) / 2, len(data) * 9 / 10} {
			os.WriteFile(filepath.Join(out, fmt.Sprintf("%s.cut%d", name, cut)), data[:cut], 0o644)
		}
		flip := bytes.Clone(data)
		for i := 64; i < len(flip); i += 97 {
			flip[i] ^= 0xa5
		}
		os.WriteFile(filepath.Join(out, name+".flip"), flip, 0o644)
		n++
	}
	// One child per file would take long; one child scans a tar of them
	// all, so the limits of a single top-level object hold them too.
	tarPath := filepath.Join(t.TempDir(), "damaged.tar")
	sh(t, out, "tar cf "+tarPath+" .", "tar")
	rep := runBomb(t, tarPath)
	if rep.Error != "" {
		t.Fatalf("error %s", rep.Error)
	}
	if len(rep.Warnings) < n {
		t.Errorf("%d warnings for %d damaged files of %d formats:\n%s", len(rep.Warnings), 3*n, n, strings.Join(rep.Warnings, "\n"))
	}
	t.Logf("damaged: %d files, %d members scanned, warnings:\n%s", 3*n, rep.Members, strings.Join(rep.Warnings, "\n"))
}
