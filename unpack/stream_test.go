package unpack

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runQuiet runs a tool for a fuzz seed, where a missing tool only means
// fewer seeds.
func runQuiet(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd.Run()
}

// streamCase is a compressed-stream format and the tool that writes it.
type streamCase struct {
	fm   func() *Format
	tool string
	args []string // compress "payload" to stdout
	ext  string
}

var streamCases = []streamCase{
	{gzipFormat, "gzip", []string{"-9", "-c", "payload"}, ".gz"},
	{bzip2Format, "bzip2", []string{"-c", "payload"}, ".bz2"},
	{xzFormat, "xz", []string{"-c", "payload"}, ".xz"},
	{zstdFormat, "zstd", []string{"-q", "-19", "-c", "payload"}, ".zst"},
}

// buildStream compresses the payload with the case's tool, twice
// concatenated when double is set, and returns the path.
func buildStream(t *testing.T, c streamCase, double bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	testenvTool := c.tool
	out := "a" + c.ext
	cmd := testenvTool + " " + join(c.args) + " > " + out
	if double {
		cmd += " && " + testenvTool + " " + join(c.args) + " >> " + out
	}
	runTool(t, dir, c.tool, "--version") // skips when absent
	runTool(t, dir, "sh", "-c", cmd)
	return filepath.Join(dir, out)
}

func join(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return b.String()
}

func TestStreams(t *testing.T) {
	payload := readPayload(t)
	for _, c := range streamCases {
		fm := c.fm()
		t.Run(fm.Name, func(t *testing.T) {
			ms := unpackOK(t, fm, readFile(t, buildStream(t, c, false)))
			if len(ms) != 1 || !bytes.Equal(ms[0].Data, payload) {
				t.Fatalf("%d members, want the payload", len(ms))
			}
			if fm.Name == "gzip" && ms[0].Name != "payload" {
				t.Errorf("gzip member name %q, want the FNAME payload", ms[0].Name)
			}
			// Concatenated streams decompress to the concatenation.
			ms = unpackOK(t, fm, readFile(t, buildStream(t, c, true)))
			if len(ms) != 1 || !bytes.Equal(ms[0].Data, append(bytes.Clone(payload), payload...)) {
				t.Fatalf("concatenated: %d members, want the payload twice", len(ms))
			}
		})
	}
}

// TestGzipTrailingGarbage checks that zeros after a gzip member are
// ignored, as gunzip ignores them.
func TestGzipTrailingGarbage(t *testing.T) {
	payload := readPayload(t)
	data := readFile(t, buildStream(t, streamCases[0], false))
	data = append(data, make([]byte, 512)...)
	ms := unpackOK(t, gzipFormat(), data)
	if len(ms) != 1 || !bytes.Equal(ms[0].Data, payload) {
		t.Fatalf("%d members, want the payload", len(ms))
	}
}

func TestStreamsDamaged(t *testing.T) {
	for _, c := range streamCases {
		fm := c.fm()
		t.Run(fm.Name, func(t *testing.T) {
			checkDamaged(t, fm, readFile(t, buildStream(t, c, false)))
		})
	}
}

// TestStreamsRatio checks that a stream expanding past MaxRatio times its
// size stops at the ratio limit with the bytes read so far.
func TestStreamsRatio(t *testing.T) {
	dir := t.TempDir()
	zeros := filepath.Join(dir, "payload")
	if err := os.WriteFile(zeros, make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range streamCases {
		fm := c.fm()
		t.Run(fm.Name, func(t *testing.T) {
			runTool(t, dir, "sh", "-c", c.tool+" "+join(c.args)+" > z"+c.ext)
			data := readFile(t, filepath.Join(dir, "z"+c.ext))
			ms, err := checkUnpack(t, fm, data, Limits{MaxRatio: 100, RatioFloor: 1 << 10})
			le, ok := IsLimit(err)
			if !ok || le.Limit != LimitRatio {
				t.Fatalf("error %v, want the %s limit", err, LimitRatio)
			}
			if len(ms) != 1 || int64(len(ms[0].Data)) != int64(len(data))*100 {
				t.Fatalf("%d members, want one cut at 100 × %d bytes", len(ms), len(data))
			}
		})
	}
}

func TestStreamClamTestFile(t *testing.T) {
	want := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, bzip2Format(), readFile(t, testFile(t, "clam.exe.bz2")))
	if len(ms) != 1 || !bytes.Equal(ms[0].Data, want) {
		t.Fatalf("clam.exe.bz2: %d members, want clam.exe", len(ms))
	}
}

func TestStreamsPeer(t *testing.T) {
	for _, c := range streamCases[:3] { // ClamAV 1.4 has no zstd
		t.Run(c.fm().Name, func(t *testing.T) {
			clamscanFinds(t, buildStream(t, c, false), readPayload(t))
		})
	}
}

// streamSeeds compresses a short text with the tool, for fuzz seeds.
func streamSeeds(c streamCase) [][]byte {
	dir, err := os.MkdirTemp("", "glassav-seed")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "payload"), bytes.Repeat([]byte("glassav seed "), 40), 0o644)
	out, err := exec.Command("sh", "-c", "cd "+dir+" && "+c.tool+" "+join(c.args)).Output()
	if err != nil {
		return nil
	}
	return [][]byte{out}
}

func FuzzUnpackGzip(f *testing.F)  { fuzzFormat(f, gzipFormat(), streamSeeds(streamCases[0])...) }
func FuzzUnpackBzip2(f *testing.F) { fuzzFormat(f, bzip2Format(), streamSeeds(streamCases[1])...) }
func FuzzUnpackXz(f *testing.F)    { fuzzFormat(f, xzFormat(), streamSeeds(streamCases[2])...) }
func FuzzUnpackZstd(f *testing.F)  { fuzzFormat(f, zstdFormat(), streamSeeds(streamCases[3])...) }

// TestXzVariants checks xz streams of several blocks and check types, and
// a block header forged to ask for a 4 GiB dictionary, which must cost no
// more than the member's own size.
func TestXzVariants(t *testing.T) {
	payload := readPayload(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{"--check=none", "--check=crc32", "--check=sha256", "--block-size=4096", "-T2 --block-size=8192", "-9e"} {
		t.Run(args, func(t *testing.T) {
			runTool(t, dir, "sh", "-c", "xz -c "+args+" payload > v.xz")
			ms := unpackOK(t, xzFormat(), readFile(t, filepath.Join(dir, "v.xz")))
			if len(ms) != 1 || !bytes.Equal(ms[0].Data, payload) {
				t.Fatalf("%d members, want the payload", len(ms))
			}
		})
	}
	runTool(t, dir, "sh", "-c", "xz -c payload > f.xz")
	data := readFile(t, filepath.Join(dir, "f.xz"))
	// The first block header follows the 12-byte stream header: size
	// byte, flags, then the LZMA2 filter (0x21, 1 property byte, dict).
	h := data[12:]
	hsize := (int(h[0]) + 1) * 4
	i := bytes.Index(h[:hsize], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter in the block header % x", h[:hsize])
	}
	h[i+2] = 40 // 4 GiB - 1
	binary.LittleEndian.PutUint32(h[hsize-4:], crc32.ChecksumIEEE(h[:hsize-4]))
	ms := unpackOK(t, xzFormat(), data)
	if len(ms) != 1 || !bytes.Equal(ms[0].Data, payload) {
		t.Fatalf("forged dictionary: %d members, want the payload", len(ms))
	}
	// An unsupported filter chain (BCJ before LZMA2) is a format error.
	runTool(t, dir, "sh", "-c", "xz -c --x86 --lzma2 payload > bcj.xz")
	if _, err := checkUnpack(t, xzFormat(), readFile(t, filepath.Join(dir, "bcj.xz")), Limits{}); err == nil {
		t.Error("BCJ filter: no error")
	}
}
