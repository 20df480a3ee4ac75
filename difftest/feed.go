package difftest

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FeedConfig sizes a feed-shaped database: the proportions of ClamAV's
// official main.cvd, which is about 98% hash signatures (mostly PE section
// hashes) plus about a hundred thousand body signatures.
type FeedConfig struct {
	SectionHashes int // .mdb lines (MD5 PE section hashes)
	FileMD5       int // .hdb lines
	FileSHA256    int // .hsb lines
	Bodies        int // .ndb lines
}

// OfficialFeed approximates the size of the official database: 6.5 million
// hash signatures and 100,000 body signatures.
func OfficialFeed() FeedConfig {
	return FeedConfig{SectionHashes: 6_000_000, FileMD5: 300_000, FileSHA256: 200_000, Bodies: 100_000}
}

// Total returns the number of signatures the config produces.
func (c FeedConfig) Total() int { return c.SectionHashes + c.FileMD5 + c.FileSHA256 + c.Bodies }

var (
	feedPlatforms  = []string{"Win", "Win", "Win", "Win", "Unix", "Doc", "Html", "Js", "Pdf", "Andr", "Osx", "Multios", "Xls", "Email"}
	feedCategories = []string{"Trojan", "Trojan", "Malware", "Downloader", "Dropper", "Exploit", "Adware", "Worm", "Virus", "Packed", "Ransomware", "Spyware"}
	feedSyllables  = []string{"ka", "zo", "mi", "ter", "ag", "ent", "vun", "dor", "lo", "qua", "sy", "ne", "bra", "xo", "fi", "ru"}
)

// feedName returns an official-looking name: Platform.Category.Family-ID-Rev.
func (g *Gen) feedName(id int) string {
	fam := ""
	for range g.between(2, 3) {
		fam += feedSyllables[g.r.IntN(len(feedSyllables))]
	}
	fam = strings.ToUpper(fam[:1]) + fam[1:]
	return fmt.Sprintf("%s.%s.%s-%d-%d", feedPlatforms[g.r.IntN(len(feedPlatforms))],
		feedCategories[g.r.IntN(len(feedCategories))], fam, id, g.r.IntN(3))
}

// WriteFeed writes a feed-shaped database into dir as feed.mdb, feed.hdb,
// feed.hsb and feed.ndb. The hashes are random (they stand for digests of
// malware we do not have); the body signatures are cut, with every hex
// operator, from random bytes, so they match nothing real.
func (g *Gen) WriteFeed(dir string, c FeedConfig) error {
	id := 1_000_000
	write := func(name string, n int, line func(w *bufio.Writer, name string)) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("feed: %w", err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for range n {
			id++
			line(w, g.feedName(id))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return fmt.Errorf("feed %s: %w", name, err)
		}
		return f.Close()
	}
	var digest [32]byte
	randHex := func(n int) string {
		for i := range n {
			digest[i] = byte(g.r.Uint32())
		}
		return hex.EncodeToString(digest[:n])
	}
	// Section sizes: multiples of the usual 512-byte file alignment, mostly
	// small.
	sectSize := func() int { return 512 * (1 + int(g.r.ExpFloat64()*24)) }
	if err := write("feed.mdb", c.SectionHashes, func(w *bufio.Writer, name string) {
		fmt.Fprintf(w, "%d:%s:%s\n", sectSize(), randHex(16), name)
	}); err != nil {
		return err
	}
	fileSize := func() int { return 1024 + int(g.r.ExpFloat64()*200_000) }
	if err := write("feed.hdb", c.FileMD5, func(w *bufio.Writer, name string) {
		fmt.Fprintf(w, "%s:%d:%s\n", randHex(16), fileSize(), name)
	}); err != nil {
		return err
	}
	if err := write("feed.hsb", c.FileSHA256, func(w *bufio.Writer, name string) {
		fmt.Fprintf(w, "%s:%d:%s\n", randHex(32), fileSize(), name)
	}); err != nil {
		return err
	}
	src := make([]byte, 4<<20)
	for i := range src {
		src[i] = byte(g.r.Uint32())
	}
	return write("feed.ndb", c.Bodies, func(w *bufio.Writer, name string) {
		fmt.Fprintln(w, g.feedBody(src, name))
	})
}

// feedBody returns one .ndb line with a realistic mix of operators, targets
// and offsets.
func (g *Gen) feedBody(src []byte, name string) string {
	var b Body
	ok := false
	for !ok {
		switch p := g.r.IntN(100); {
		case p < 50: // long static strings dominate real feeds
			n := g.between(12, 120)
			s := g.r.IntN(len(src) - n)
			b, ok = Body{hx(src[s : s+n]), int64(s)}, true
		case p < 65:
			b, ok = AnyByteHex(g, src)
		case p < 73:
			b, ok = StarHex(g, src)
		case p < 81:
			b, ok = RangeGapHex(g, src)
		case p < 86:
			b, ok = FixedGapHex(g, src)
		case p < 90:
			b, ok = AltHex(g, src)
		case p < 93:
			b, ok = NibbleHex(g, src)
		case p < 95:
			b, ok = MultiAltHex(g, src)
		case p < 97:
			b, ok = UpToGapHex(g, src)
		default:
			b, ok = NegAltHex(g, src)
		}
	}
	target, off := 0, "*"
	switch p := g.r.IntN(100); {
	case p < 45:
	case p < 75:
		target = 1
	case p < 80:
		target, off = 1, fmt.Sprintf("EP+%d", g.between(0, 512))
	case p < 82:
		target, off = 1, fmt.Sprintf("S%d+%d", g.between(0, 3), g.between(0, 4096))
	case p < 84:
		target, off = 1, fmt.Sprintf("SL+%d", g.between(0, 4096))
	case p < 89:
		target = 3
	case p < 93:
		target = 7
	case p < 97:
		target = 6
	default:
		off = fmt.Sprintf("%d", g.between(0, 1024))
	}
	return NDBLine(name, target, off, b.Hex)
}

// WriteUsrHashes writes an .hdb line (md5:size:Bench.Usr.<path>) for every
// distinct non-empty regular file under the roots, in path order, like the
// shared usr-hashes database. It returns the number of lines.
func WriteUsrHashes(w io.Writer, roots []string) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	seen := map[[16]byte]bool{}
	n := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() && p != root {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			h := md5.New()
			size, err := io.Copy(h, f)
			f.Close()
			if err != nil || size == 0 {
				return nil
			}
			var sum [16]byte
			copy(sum[:], h.Sum(nil))
			if seen[sum] {
				return nil
			}
			seen[sum] = true
			n++
			_, err = fmt.Fprintf(bw, "%x:%d:Bench.Usr.%s\n", sum, size, usrName(p, root))
			return err
		})
		if err != nil {
			return n, fmt.Errorf("usr hashes %s: %w", root, err)
		}
	}
	return n, bw.Flush()
}

// usrName maps a path to the characters ClamAV allows in names.
func usrName(p, root string) string {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		rel = p
	}
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (isAlnum(byte(r)) || strings.ContainsRune("._+-", r)) {
			return r
		}
		return '_'
	}, rel)
}
