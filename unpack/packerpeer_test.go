package unpack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// TestPackersPeerMutations is a differential test of the Petite, WWPack
// and ASPack decoders against clamscan: it changes a few random bytes of
// the packed data of each corpus sample, has clamscan --leave-temps
// unpack every variant in one run, and requires glassav to rebuild
// exactly the variants clamscan rebuilds, with the same result. Random
// packed data and records drive the unpackers down paths the samples do
// not take (long matches, far distances, table rebuilds, corrupt codes,
// records pointing outside the image).
func TestPackersPeerMutations(t *testing.T) {
	clamscan := testenv.NeedTool(t, "clamscan")
	type packer struct {
		fm       *Format
		file     string
		peerName string   // how clamscan's debug line names the unpacker
		regions  [][2]int // where the loader's records and the packed data lie in the file
		same     func(ours, peer []byte) string
	}
	wholeFile := func(ours, peer []byte) string {
		if !bytes.Equal(ours, peer) {
			return fmt.Sprintf("unpacked image (%d bytes) differs from clamscan's (%d bytes)", len(ours), len(peer))
		}
		return ""
	}
	packers := []packer{
		// clam-petite.exe: the record list (the loader section is stored
		// at 0x400) and the packed sections, stored at 0x800..0xe00.
		{petiteFormat(), "clam-petite.exe", "Petite: Unpacked", [][2]int{{0x400 + 0x1b8, 0x400 + 0x1f8}, {0x800, 0xe00}}, diffRebuiltPE},
		// clam-wwpack.exe: the entry point jump and the block record of
		// the loader (stored at 0xc00), and the one packed block.
		{wwpackFormat(), "clam-wwpack.exe", "WWPack: Unpacked", [][2]int{{0xc00 + 0x295, 0xc00 + 0x2b2}, {0xa00, 0xa00 + 0x18c}}, wholeFile},
		// clam-aspack.exe: the block table and decoder tables of the
		// loader (stored at 0xc00), and the three packed blocks.
		{aspackFormat(), "clam-aspack.exe", "Aspack: Unpacked", [][2]int{{0xc00 + 0x57c, 0xc00 + 0x59c}, {0xc00 + 0x6d6, 0xc00 + 0x748}, {0x600, 0x800}, {0x858, 0xa00}, {0xa00, 0xc00}}, diffRebuiltPE},
	}
	const variants = 100
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(6))
	var files []string
	which := map[string]int{}
	for pi, p := range packers {
		data := readFile(t, testFile(t, p.file))
		for v := 0; v < variants; v++ {
			d := append([]byte(nil), data...)
			if v > 0 { // variant 0 is the sample itself
				r := p.regions[rng.Intn(len(p.regions))]
				for k := 0; k <= rng.Intn(3); k++ {
					d[r[0]+rng.Intn(r[1]-r[0])] ^= byte(1 + rng.Intn(255))
				}
			}
			name := filepath.Join(dir, fmt.Sprintf("%s-%02d.exe", p.fm.Name, v))
			if err := os.WriteFile(name, d, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, name)
			which[name] = pi
		}
	}

	// A signature that matches nothing: clamscan must unpack every
	// variant rather than stop at a detection, and exits with 0.
	db := filepath.Join(dir, "none.ndb")
	if err := os.WriteFile(db, []byte("Glassav.Test.None:0:*:676c617373617620703320766f69642073696721\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, append([]string{"--debug", "--leave-temps", "--tempdir=" + tmp, "-d", db}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("clamscan: %v (want exit status 0)\n%s", err, out)
	}
	if n := strings.Count(string(out), ": OK\n"); n != len(files) {
		t.Fatalf("clamscan reported %d files OK, want %d", n, len(files))
	}

	// The file each variant's unpacked image was saved in, in log order.
	peer := map[string]string{}
	cur := ""
	for _, line := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(line, "Checking realpath of "); i >= 0 {
			cur = strings.TrimSpace(line[i+len("Checking realpath of "):])
			continue
		}
		pi, ok := which[cur]
		if !ok || peer[cur] != "" {
			continue
		}
		if i := strings.Index(line, " saved in "); i >= 0 && strings.Contains(line, packers[pi].peerName) {
			peer[cur] = strings.TrimSpace(line[i+len(" saved in "):])
		}
	}

	rebuilt := make([]int, len(packers))
	for _, name := range files {
		p := packers[which[name]]
		data := readFile(t, name)
		// A member emitted with an error is an image unpacked in part,
		// which clamscan also scans.
		ms, err := checkUnpack(t, p.fm, data, Limits{})
		var ours []byte
		if len(ms) == 1 {
			ours = ms[0].Data
		} else if len(ms) > 1 {
			t.Fatalf("%s: %d members", name, len(ms))
		}
		switch pp := peer[name]; {
		case pp == "" && ours != nil:
			t.Errorf("%s: glassav rebuilt it (%v), clamscan did not", filepath.Base(name), err)
		case pp != "" && ours == nil:
			t.Errorf("%s: clamscan rebuilt it, glassav: %v", filepath.Base(name), err)
		case pp != "":
			rebuilt[which[name]]++
			if d := p.same(ours, readFile(t, pp)); d != "" {
				t.Errorf("%s: %s", filepath.Base(name), d)
			}
		}
	}
	for i, p := range packers {
		t.Logf("%s: clamscan and glassav rebuilt %d of %d variants", p.fm.Name, rebuilt[i], variants)
		// Variant 0 at least, and enough others that the comparison
		// covers decoding, not only failure.
		if rebuilt[i] < 5 {
			t.Errorf("%s: only %d variants rebuilt by both: the comparison says little", p.fm.Name, rebuilt[i])
		}
	}
}

// TestPackersPeerVersions compares glassav and clamscan on packer versions
// the corpus has no sample of, made from the samples by moving the
// loader's tables where those versions keep them: ASPack ">2.12 <2.42"
// and 2.42 (other offsets, 12-byte block table entries) from
// clam-aspack.exe (2.12), and Petite 2.1 (the loader in the next to last
// section, its records 0x178 bytes in) from clam-petite.exe (2.2). Neither
// tool runs the loader code, so both must unpack the moved tables alike.
func TestPackersPeerVersions(t *testing.T) {
	clamscan := testenv.NeedTool(t, "clamscan")
	le := binary.LittleEndian
	aspack := readFile(t, testFile(t, "clam-aspack.exe"))
	petite := readFile(t, testFile(t, "clam-petite.exe"))

	// clam-aspack.exe: the loader starts at file offset 0xc00 (RVA 0x5000),
	// one byte before the entry point.
	asVersion := func(lay aspackLayout) []byte {
		const loader = 0xc00
		old := aspackLayouts[0]
		d := append([]byte(nil), aspack...)
		tables := append([]byte(nil), d[loader+old.compTables:loader+old.compTables+aspackTablesSize]...)
		tag, oep := d[loader+old.callTag], le.Uint32(d[loader+old.oep:])
		var blocks [][2]uint32
		for at := loader + old.blocks; le.Uint32(d[at:]) != 0; at += old.blockStep {
			blocks = append(blocks, [2]uint32{le.Uint32(d[at:]), le.Uint32(d[at+4:])})
		}
		copy(d[loader+1+uint32(old.epCheck):], "\x90\x90\x90\x90\x90\x90")
		copy(d[loader+1+uint32(lay.epCheck):], "\x68\x00\x00\x00\x00\xc3")
		copy(d[loader+lay.compTables:], tables)
		d[loader+lay.callTag] = tag
		le.PutUint32(d[loader+lay.oep:], oep)
		at := loader + lay.blocks
		for _, bl := range blocks {
			le.PutUint32(d[at:], bl[0])
			le.PutUint32(d[at+4:], bl[1])
			le.PutUint32(d[at+8:], 0)
			at += lay.blockStep
		}
		clear(d[at : at+12])
		return d
	}

	// clam-petite.exe: a virtual section added after .petite (RVA 0x5000,
	// stored at 0x400) makes it the next to last, as in Petite 2.1, whose
	// record list starts 0x178 bytes in.
	petite21 := func() []byte {
		d := append([]byte(nil), petite...)
		pe := le.Uint32(d[0x3c:])
		n := le.Uint16(d[pe+6:])
		table := pe + 0x18 + uint32(le.Uint16(d[pe+0x14:]))
		h := d[table+0x28*uint32(n):]
		clear(h[:0x28])
		copy(h, ".virt")
		le.PutUint32(h[8:], 0x1000)  // VirtualSize
		le.PutUint32(h[12:], 0x6000) // VirtualAddress
		le.PutUint32(h[36:], 0xc0000040)
		le.PutUint16(d[pe+6:], n+1)
		le.PutUint32(d[pe+0x50:], le.Uint32(d[pe+0x50:])+0x1000) // SizeOfImage
		copy(d[0x400+0x178:], d[0x400+0x1b8:0x400+0x1f8])
		return d
	}

	dir := t.TempDir()
	cases := []struct {
		file, peerName, peerVersion string
		fm                          *Format
		data                        []byte
	}{
		{"aspack-other.exe", "Aspack: Unpacked", "Aspack >2.12, <2.42", aspackFormat(), asVersion(aspackLayouts[1])},
		{"aspack-242.exe", "Aspack: Unpacked", "Aspack 2.42", aspackFormat(), asVersion(aspackLayouts[2])},
		{"petite-21.exe", "Petite: Unpacked", "Petite: v2.1 compression detected", petiteFormat(), petite21()},
	}
	var files []string
	for _, c := range cases {
		name := filepath.Join(dir, c.file)
		if err := os.WriteFile(name, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	db := filepath.Join(dir, "none.ndb")
	if err := os.WriteFile(db, []byte("Glassav.Test.None:0:*:676c617373617620703320766f69642073696721\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, append([]string{"--debug", "--leave-temps", "--tempdir=" + tmp, "-d", db}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("clamscan: %v (want exit status 0)\n%s", err, out)
	}
	// Each file's log: from its "Checking realpath" line to the next.
	logs := map[string]string{}
	cur := ""
	for _, line := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(line, "Checking realpath of "); i >= 0 {
			cur = strings.TrimSpace(line[i+len("Checking realpath of "):])
		}
		logs[cur] += line + "\n"
	}
	for i, c := range cases {
		log := logs[files[i]]
		if !strings.Contains(log, c.peerVersion) {
			t.Errorf("%s: clamscan did not take it for %s", c.file, c.peerVersion)
			continue
		}
		var peer string
		for _, line := range strings.Split(log, "\n") {
			if j := strings.Index(line, " saved in "); j >= 0 && strings.Contains(line, c.peerName) {
				peer = strings.TrimSpace(line[j+len(" saved in "):])
				break
			}
		}
		if peer == "" {
			t.Errorf("%s: clamscan did not unpack it", c.file)
			continue
		}
		m := unpackOne(t, c.fm, c.data)
		if d := diffRebuiltPE(m.Data, readFile(t, peer)); d != "" {
			t.Errorf("%s: %s", c.file, d)
		}
	}
}
