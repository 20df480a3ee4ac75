package dotnet

import (
	"bytes"
	"fmt"
)

// parser holds the state of one Parse.
type parser struct {
	im   *image
	data []byte
	f    *File

	root int64 // file offset of the metadata root

	// The stream headers yara keeps (offsets of the 8-byte headers).
	tilde, guid, strings, blob, us int64
	hasTilde, hasGUID, hasStrings  bool
	hasBlob, hasUS                 bool
}

const streamNameSize = 32 // DOTNET_STREAM_NAME_SIZE

// parseCOM is dotnet_parse_com after is_dotnet held: the version, the
// stream headers, then the streams of interest.
func (p *parser) parseCOM() {
	data, im := p.data, p.im
	rva, _, ok := im.directory(dirCOMDescriptor)
	if !ok {
		return
	}
	cli := im.rvaToOffset(uint64(rva))
	if cli < 0 || !fits(data, cli, cliHeaderSize) {
		return
	}
	root := im.rvaToOffset(uint64(u32(data, cli+8)))
	if !fits(data, root, metadataHeaderSize) {
		return
	}
	mdLen := int64(u32(data, root+12))
	if mdLen == 0 || mdLen > 255 || mdLen%4 != 0 || !fits(data, root+metadataHeaderSize, mdLen) {
		return
	}
	p.root = root
	ver := data[root+metadataHeaderSize : root+metadataHeaderSize+mdLen]
	if i := bytes.IndexByte(ver, 0); i >= 0 {
		p.f.Version, p.f.HasVersion = ver[:i], true
	}
	// Flags (2 bytes), then the number of streams, of which yara reads
	// only the low byte.
	off := root + metadataHeaderSize + mdLen + 2
	if !fits(data, off, 2) {
		return
	}
	n := int(data[off])
	p.parseStreamHeaders(off+2, n)

	if p.hasGUID {
		p.parseGUIDs()
	}
	if p.hasTilde && p.hasStrings && p.hasBlob {
		p.parseTilde(u32(data, cli+24))
	}
	if p.hasUS {
		p.parseUserStrings()
	}
}

// parseStreamHeaders reads n stream headers from off.
func (p *parser) parseStreamHeaders(off int64, n int) {
	data, f := p.data, p.f
	for range n {
		if !fits(data, off, 8) || !fits(data, off+8, streamNameSize) {
			break
		}
		field := data[off+8 : off+8+streamNameSize]
		nul := bytes.IndexByte(field, 0)
		if nul < 0 {
			break
		}
		name := field[:nul]
		f.Streams = append(f.Streams, Stream{Name: name, Offset: p.root + int64(u32(data, off)), Size: u32(data, off+4)})
		switch {
		case (bytes.HasPrefix(name, []byte("#~")) || bytes.HasPrefix(name, []byte("#-"))) && !p.hasTilde:
			p.tilde, p.hasTilde = off, true
		case bytes.HasPrefix(name, []byte("#GUID")):
			p.guid, p.hasGUID = off, true
		case bytes.HasPrefix(name, []byte("#Strings")):
			if !p.hasStrings {
				p.strings, p.hasStrings = off, true
			}
		case bytes.HasPrefix(name, []byte("#Blob")):
			p.blob, p.hasBlob = off, true
		case bytes.HasPrefix(name, []byte("#US")):
			if !p.hasUS {
				p.us, p.hasUS = off, true
			}
		}
		// The name is padded with NULs to a multiple of 4 (a full 4 more
		// when its length already is one).
		off += 8 + int64(nul) + 4 - int64(nul%4)
	}
	f.HasStreams = true
}

// streamStart returns the file offset of the stream whose header is at
// hdr.
func (p *parser) streamStart(hdr int64) int64 { return p.root + int64(u32(p.data, hdr)) }

// parseGUIDs reads at most 16 GUIDs of the #GUID stream.
func (p *parser) parseGUIDs() {
	data := p.data
	off := p.streamStart(p.guid)
	size := min(u32(data, p.guid+4), 256)
	for size >= 16 && fits(data, off, 16) {
		g := data[off : off+16]
		p.f.GUIDs = append(p.f.GUIDs, fmt.Sprintf("%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			u32(g, 0), u16(g, 4), u16(g, 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]))
		size -= 16
		off += 16
	}
	p.f.HasGUIDs = true
}

// parseUserStrings reads the #US heap: after the leading empty entry, every
// blob of non-zero length (less the terminal byte) is a user string.
func (p *parser) parseUserStrings() {
	data := p.data
	size := int64(u32(data, p.us+4))
	off := p.streamStart(p.us)
	end := off + size
	if size == 0 || !fits(data, off, size) {
		return
	}
	if data[off] != 0 {
		return
	}
	off++
	var out [][]byte
	for off < end {
		n, length := p.blobEntry(off)
		if n == 0 {
			break
		}
		off += n
		if length > 0 && fits(data, off, length) {
			if len(out) < MaxItems {
				out = append(out, data[off:off+length])
			}
			off += length
		}
	}
	p.f.UserStrings, p.f.HasUserStrings = out, true
}

// blobEntry decodes the compressed length of the #Blob or #US entry at off
// as yara 4.2.3 does: it returns the size of the length prefix (0 when it
// cannot be read) and the length less one (yara drops a terminal byte
// that only #US entries have).
func (p *parser) blobEntry(off int64) (n, length int64) {
	data := p.data
	if !fits(data, off, 1) {
		return 0, 0
	}
	b := data[off]
	switch {
	case b&0x80 == 0:
		n, length = 1, int64(b)
	case b&0xc0 == 0x80:
		if !fits(data, off, 2) {
			return 0, 0
		}
		n, length = 2, int64(b&0x3f)<<8|int64(data[off+1])
	case off+4 < int64(len(data)) && b&0xe0 == 0xc0:
		if !fits(data, off, 4) {
			return 0, 0
		}
		n = 4
		length = int64(b&0x1f)<<24 | int64(data[off+1])<<16 | int64(data[off+2])<<8 | int64(data[off+3])
	default:
		return 0, 0
	}
	if length > 0 {
		length--
	}
	return n, length
}

// maxString is the longest heap string yara reads: a longer one (or one
// without a NUL before the end of the data) is undefined.
const maxString = 1024

// heapString returns the NUL-terminated string at index of the heap that
// starts at heap, as pe_get_dotnet_string: ok false when the start is
// outside the data, or no NUL follows it within maxString bytes. The heap's
// size is not checked, as in yara 4.2.3.
func (p *parser) heapString(heap int64, index uint32) ([]byte, bool) {
	start := heap + int64(index)
	n := int64(len(p.data))
	if start < 0 || start >= n {
		return nil, false
	}
	s := p.data[start:min(start+maxString+1, n)]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		return nil, false
	}
	return s[:i], true
}
