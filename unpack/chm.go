package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"

	"github.com/glassav/glassav/filetype"
)

// chmFormat opens Microsoft Compiled HTML Help files (ITSF). The ITSP
// directory lists each file as a name, a section and a range: section 0
// is stored in the file after the directory, section 1 is one LZX stream
// (the "MSCompressed" content, restarted every reset interval) that the
// format decodes once, bounded by the limits, and slices. Files are
// emitted in directory order; the format's own bookkeeping streams ("::"
// names) and system files ("/#", "/$") are left out.
func chmFormat() *Format {
	return &Format{Name: "chm", Types: []filetype.Type{filetype.MSCHM}, Unpack: unpackCHM}
}

const (
	chmContent    = "::DataSpace/Storage/MSCompressed/Content"
	chmControl    = "::DataSpace/Storage/MSCompressed/ControlData"
	chmResetTable = "::DataSpace/Storage/MSCompressed/Transform/{7FC28940-9D31-11D0-9B27-00A0C91E9C7C}/InstanceData/ResetTable"
	chmMaxChunk   = 1 << 20
)

type chmEntry struct {
	name     string
	section  uint64
	off, len uint64
}

func unpackCHM(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	le := binary.LittleEndian
	if len(data) < 0x58 || string(data[:4]) != "ITSF" {
		return Corrupt("chm", 0, "no ITSF header")
	}
	version := le.Uint32(data[4:])
	dirOff, dirLen := le.Uint64(data[0x48:]), le.Uint64(data[0x50:])
	var contentOff uint64
	if version >= 3 {
		if len(data) < 0x60 {
			return Corrupt("chm", 0, "header truncated")
		}
		contentOff = le.Uint64(data[0x58:])
	} else {
		contentOff = dirOff + dirLen
	}
	if dirOff >= uint64(len(data)) || dirLen < 0x54 || dirLen > uint64(len(data))-dirOff {
		return Corrupt("chm", 0x48, "directory at %d+%d outside the file", dirOff, dirLen)
	}
	dir := data[dirOff : dirOff+dirLen]
	if string(dir[:4]) != "ITSP" {
		return Corrupt("chm", int64(dirOff), "no ITSP directory header")
	}
	hdrLen := uint64(le.Uint32(dir[8:]))
	chunk := uint64(le.Uint32(dir[16:]))
	if chunk < 20 || chunk > chmMaxChunk || hdrLen > dirLen {
		return Corrupt("chm", int64(dirOff), "directory chunk size %d", chunk)
	}
	var entries []chmEntry
	var derr error
	for p := hdrLen; p+chunk <= dirLen; p += chunk {
		if err := b.Check(ctx); err != nil {
			return err
		}
		c := dir[p : p+chunk]
		if string(c[:4]) != "PMGL" {
			continue // index chunks (PMGI) repeat names only
		}
		free := uint64(le.Uint32(c[4:]))
		end := chunk - min(free, chunk)
		for q := uint64(20); q < end; {
			e, n, ok := chmReadEntry(c[:end], q)
			if !ok {
				derr = Corrupt("chm", int64(dirOff+p+q), "directory entry truncated")
				break
			}
			entries = append(entries, e)
			q += n
		}
	}
	find := func(name string) (chmEntry, bool) {
		for _, e := range entries {
			if e.name == name {
				return e, true
			}
		}
		return chmEntry{}, false
	}
	stored := func(e chmEntry) ([]byte, bool) {
		if contentOff > uint64(len(data)) || e.off > uint64(len(data))-contentOff || e.len > uint64(len(data))-contentOff-e.off {
			return nil, false
		}
		s := contentOff + e.off
		return data[s : s+e.len], true
	}
	var sec1 []byte
	var sec1Err error
	sec1Done := false
	for _, e := range entries {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if e.len == 0 || strings.HasSuffix(e.name, "/") || strings.HasPrefix(e.name, "::") ||
			strings.HasPrefix(e.name, "/#") || strings.HasPrefix(e.name, "/$") {
			continue
		}
		m := Member{Name: e.name, Offset: -1}
		switch e.section {
		case 0:
			d, ok := stored(e)
			if !ok {
				return Corrupt("chm", -1, "file %q at %d+%d outside the file", e.name, e.off, e.len)
			}
			m.Offset = int64(contentOff + e.off)
			if err := emitStored(b, d, m, emit); err != nil {
				if !memberLimited(err) {
					return err
				}
				keepFirst(&derr, err)
			}
		case 1:
			if !sec1Done {
				sec1, sec1Err = chmSection1(ctx, data, b, find, stored)
				sec1Done = true
			}
			if e.off >= uint64(len(sec1)) {
				if sec1Err != nil {
					return sec1Err
				}
				return Corrupt("chm", -1, "file %q at %d+%d past the compressed section's %d bytes", e.name, e.off, e.len, len(sec1))
			}
			d := sec1[e.off:min(uint64(len(sec1)), e.off+e.len)]
			if err := emitRead(ctx, b, bytes.NewReader(d), -1, m, "chm", -1, emit); err != nil {
				if !memberLimited(err) {
					return err
				}
				keepFirst(&derr, err)
			}
		default:
			return Corrupt("chm", -1, "file %q in section %d", e.name, e.section)
		}
	}
	if sec1Err != nil {
		return sec1Err
	}
	return derr
}

// chmReadEntry reads one directory entry at q: name length, name, section,
// offset and length, the numbers as ENCINTs.
func chmReadEntry(c []byte, q uint64) (chmEntry, uint64, bool) {
	start := q
	nlen, ok := chmEncint(c, &q)
	if !ok || nlen > uint64(len(c))-q {
		return chmEntry{}, 0, false
	}
	e := chmEntry{name: string(c[q : q+nlen])}
	q += nlen
	var ok1, ok2, ok3 bool
	e.section, ok1 = chmEncint(c, &q)
	e.off, ok2 = chmEncint(c, &q)
	e.len, ok3 = chmEncint(c, &q)
	return e, q - start, ok1 && ok2 && ok3
}

// chmEncint reads a big-endian base-128 number whose bytes but the last
// have the top bit set.
func chmEncint(c []byte, q *uint64) (uint64, bool) {
	var v uint64
	for i := 0; i < 9; i++ {
		if *q >= uint64(len(c)) {
			return 0, false
		}
		x := c[*q]
		*q++
		v = v<<7 | uint64(x&0x7f)
		if x&0x80 == 0 {
			return v, true
		}
	}
	return 0, false
}

// chmSection1 decodes the LZX section as far as the limits allow; on an
// error it returns what it decoded with the error.
func chmSection1(ctx context.Context, data []byte, b *Budget, find func(string) (chmEntry, bool), stored func(chmEntry) ([]byte, bool)) ([]byte, error) {
	le := binary.LittleEndian
	var parts [3][]byte
	for i, n := range []string{chmContent, chmControl, chmResetTable} {
		e, ok := find(n)
		if !ok {
			return nil, Corrupt("chm", -1, "compressed section without %s", n)
		}
		if parts[i], ok = stored(e); !ok {
			return nil, Corrupt("chm", -1, "%s outside the file", n)
		}
	}
	content, ctl, rt := parts[0], parts[1], parts[2]
	if len(ctl) < 24 || string(ctl[4:8]) != "LZXC" {
		return nil, Corrupt("chm", -1, "LZX control data missing its LZXC signature")
	}
	if len(rt) < 40 {
		return nil, Corrupt("chm", -1, "reset table truncated")
	}
	reset, window := uint64(le.Uint32(ctl[12:])), uint64(le.Uint32(ctl[16:]))
	if le.Uint32(ctl[8:]) == 2 {
		reset *= lzxFrameSize
		window *= lzxFrameSize
	}
	wbits := 0
	for w := window; w > 1; w >>= 1 {
		wbits++
	}
	if window == 0 || window&(window-1) != 0 || reset == 0 || reset%lzxFrameSize != 0 {
		return nil, Corrupt("chm", -1, "LZX window %d / reset interval %d", window, reset)
	}
	total := le.Uint64(rt[16:])
	lim := b.Limits()
	maxOut := uint64(lim.MaxScanSize)
	if r := uint64(len(content)) * uint64(lim.MaxRatio); uint64(len(content))*uint64(lim.MaxRatio) > uint64(lim.RatioFloor) && r < maxOut {
		maxOut = r
	}
	var lerr error
	if total > maxOut {
		name, v := LimitScanSize, lim.MaxScanSize
		if maxOut < uint64(lim.MaxScanSize) {
			name, v = LimitRatio, lim.MaxRatio
		}
		lerr = b.Fail(name, v)
		total = maxOut
	}
	d, err := newLZXDecoder(content, wbits)
	if err != nil {
		return nil, &FormatError{Format: "chm", Offset: -1, Err: err}
	}
	framesPerReset := reset / lzxFrameSize
	out := make([]byte, 0, min(total, 64<<20))
	for frame := uint64(0); uint64(len(out)) < total; frame++ {
		if err := b.Check(ctx); err != nil {
			return out, err
		}
		if frame > 0 && frame%framesPerReset == 0 {
			d.reset()
		}
		f, err := d.decodeFrame(int(min(lzxFrameSize, total-uint64(len(out)))))
		if err != nil {
			return out, Corrupt("chm", -1, "compressed section, frame %d: %v", frame, err)
		}
		out = append(out, f...)
	}
	if lerr != nil {
		return out, lerr
	}
	return out, nil
}
