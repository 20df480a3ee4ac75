package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// buildCHM compiles a help file holding index.html and the payload with
// Free Pascal's chmcmd, which compresses the content with LZX.
func buildCHM(t testing.TB) string {
	t.Helper()
	return buildCHMWith(t, readPayload(t))
}

// buildCHMWith compiles a help file whose payload.bin holds payload.
func buildCHMWith(t testing.TB, payload []byte) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"index.html":  []byte("<html><body>glassav test</body></html>"),
		"payload.bin": payload,
		"p.hhp": []byte("[OPTIONS]\nCompatibility=1.1 or later\nCompiled file=out.chm\n" +
			"Default topic=index.html\nLanguage=0x409 English (United States)\nTitle=test\n\n" +
			"[FILES]\nindex.html\npayload.bin\n"),
	}
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, dir, "chmcmd", "p.hhp")
	return filepath.Join(dir, "out.chm")
}

func TestCHM(t *testing.T) {
	ms := unpackOK(t, chmFormat(), readFile(t, buildCHM(t)))
	wantMember(t, ms, "payload.bin", readPayload(t))
	wantMember(t, ms, "index.html", []byte("<html><body>glassav test</body></html>"))
	for _, m := range ms {
		if m.Name[0] != '/' || m.Name[1] == '#' || m.Name[1] == '$' {
			t.Errorf("internal file %q emitted", m.Name)
		}
	}
}

// TestCHMResets: a section over the reset interval (64 KiB for chmcmd)
// restarts the LZX state at every interval; the payload must survive it.
func TestCHMResets(t *testing.T) {
	var big []byte
	for _, f := range []string{"/usr/bin/false", payloadFile, "/usr/bin/true"} {
		big = append(big, readFile(t, f)...)
	}
	for len(big) < 300000 {
		big = append(big, big[len(big)/3:]...)
	}
	ms := unpackOK(t, chmFormat(), readFile(t, buildCHMWith(t, big)))
	wantMember(t, ms, "payload.bin", big)
}

func TestCHMClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.chm")
	wantMember(t, unpackOK(t, chmFormat(), readFile(t, path)), "clam.exe.txt", clam)
	clamscanFinds(t, path, clam)
}

func TestCHMDamaged(t *testing.T) {
	checkDamaged(t, chmFormat(), readFile(t, buildCHM(t)))
}

// TestCabLZX moves the LZX stream chmcmd wrote into a cabinet folder (one
// data block per 32 KiB frame; the stream has no reset inside, being under
// one reset interval) and checks that both glassav and libmspack (through
// cabextract and clamscan) unpack the payload from it.
func TestCabLZX(t *testing.T) {
	payload := readPayload(t)
	chm := readFile(t, buildCHM(t))
	stream, frames, wbits, off := chmLZXStream(t, chm, "/payload.bin")
	// chmcmd ends its stream with a match past the last frame's end,
	// which CHM readers forgive but cabinet readers do not: give the last
	// data block the size the stream really decodes to.
	d, err := newLZXDecoder(stream, wbits)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if _, err := d.decodeFrame(f[2]); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	frames[len(frames)-1][2] += d.excess
	cab := buildLZXCab(stream, frames, wbits, "payload.bin", off, int64(len(payload)))
	dir := t.TempDir()
	path := filepath.Join(dir, "lzx.cab")
	if err := os.WriteFile(path, cab, 0o644); err != nil {
		t.Fatal(err)
	}
	wantMember(t, unpackOK(t, cabFormat(), cab), "payload.bin", payload)
	runTool(t, dir, "cabextract", "-q", "-d", "out", "lzx.cab")
	if got := readFile(t, filepath.Join(dir, "out", "payload.bin")); !bytes.Equal(got, payload) {
		t.Fatalf("cabextract unpacked %d bytes that differ from the payload", len(got))
	}
	clamscanFinds(t, path, payload)
}

// chmLZXStream returns the LZX section of a CHM, its frames (compressed
// range and output size) from the reset table, the window bits and the
// offset of file name in the section.
func chmLZXStream(t *testing.T, chm []byte, name string) (stream []byte, frames [][3]int, wbits int, off int64) {
	t.Helper()
	le := binary.LittleEndian
	dirOff, dirLen := le.Uint64(chm[0x48:]), le.Uint64(chm[0x50:])
	contentOff := le.Uint64(chm[0x58:])
	dir := chm[dirOff : dirOff+dirLen]
	hdrLen, chunk := uint64(le.Uint32(dir[8:])), uint64(le.Uint32(dir[16:]))
	ents := map[string]chmEntry{}
	for p := hdrLen; p+chunk <= dirLen; p += chunk {
		c := dir[p : p+chunk]
		if string(c[:4]) != "PMGL" {
			continue
		}
		end := chunk - uint64(le.Uint32(c[4:]))
		for q := uint64(20); q < end; {
			e, n, ok := chmReadEntry(c[:end], q)
			if !ok {
				t.Fatal("bad directory")
			}
			ents[e.name] = e
			q += n
		}
	}
	get := func(n string) []byte {
		e := ents[n]
		return chm[contentOff+e.off : contentOff+e.off+e.len]
	}
	stream = get(chmContent)
	ctl, rt := get(chmControl), get(chmResetTable)
	window := le.Uint32(ctl[16:]) * lzxFrameSize
	for w := window; w > 1; w >>= 1 {
		wbits++
	}
	if reset := le.Uint32(ctl[12:]) * lzxFrameSize; uint64(reset) < le.Uint64(rt[16:]) {
		t.Skipf("content of %d bytes spans LZX resets every %d: cannot be one cabinet folder", le.Uint64(rt[16:]), reset)
	}
	total := int(le.Uint64(rt[16:]))
	n := int(le.Uint32(rt[4:]))
	tab := int(le.Uint32(rt[12:]))
	for i := 0; i*lzxFrameSize < total; i++ {
		start := int(le.Uint64(rt[tab+8*i:]))
		end := len(stream)
		if i+1 < n {
			end = int(le.Uint64(rt[tab+8*(i+1):]))
		}
		frames = append(frames, [3]int{start, end, min(lzxFrameSize, total-i*lzxFrameSize)})
	}
	return stream, frames, wbits, int64(ents[name].off)
}

// buildLZXCab writes a one-folder LZX cabinet holding one file.
func buildLZXCab(stream []byte, frames [][3]int, wbits int, name string, off, size int64) []byte {
	le := binary.LittleEndian
	var body bytes.Buffer
	hdr := make([]byte, cabHeaderLen)
	folder := make([]byte, 8)
	file := make([]byte, 16)
	filesOff := cabHeaderLen + len(folder)
	dataOff := filesOff + len(file) + len(name) + 1
	copy(hdr, "MSCF")
	le.PutUint32(hdr[16:], uint32(filesOff))
	hdr[24], hdr[25] = 3, 1
	le.PutUint16(hdr[26:], 1)
	le.PutUint16(hdr[28:], 1)
	le.PutUint32(folder, uint32(dataOff))
	le.PutUint16(folder[4:], uint16(len(frames)))
	le.PutUint16(folder[6:], uint16(cabCompLZX|wbits<<8))
	le.PutUint32(file, uint32(size))
	le.PutUint32(file[4:], uint32(off))
	body.Write(hdr)
	body.Write(folder)
	body.Write(file)
	body.WriteString(name + "\x00")
	for _, f := range frames {
		blk := make([]byte, 8)
		le.PutUint16(blk[4:], uint16(f[1]-f[0]))
		le.PutUint16(blk[6:], uint16(f[2]))
		body.Write(blk)
		body.Write(stream[f[0]:f[1]])
	}
	out := body.Bytes()
	le.PutUint32(out[8:], uint32(len(out)))
	return out
}

func FuzzUnpackCHM(f *testing.F) {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.chm"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, chmFormat(), seeds...)
}
