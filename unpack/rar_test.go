package unpack

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// Debian has no RAR archiver (rar is non-free and absent from the
// archive), so these tests write RAR files themselves: stored members,
// which exercise the container structure (signatures, block headers,
// CRCs, encryption flags) but not RAR's compression, which the library's
// own tests and the fuzz target cover.

type rarFile struct {
	name      string
	data      []byte
	encrypted bool
}

// buildRAR4 writes a RAR 1.5-4.x archive of stored files.
func buildRAR4(files []rarFile) []byte {
	le := binary.LittleEndian
	out := []byte("Rar!\x1a\x07\x00")
	block := func(typ byte, flags uint16, body []byte) {
		h := []byte{typ}
		h = le.AppendUint16(h, flags)
		h = le.AppendUint16(h, uint16(2+len(h)+2+len(body)))
		h = append(h, body...)
		out = le.AppendUint16(out, uint16(crc32.ChecksumIEEE(h)))
		out = append(out, h...)
	}
	block(0x73, 0, make([]byte, 6))
	for _, f := range files {
		var b []byte
		packed := f.data
		flags := uint16(0x8000)
		if f.encrypted {
			flags |= 0x04
			packed = append(bytes.Clone(f.data), make([]byte, 16-len(f.data)%16)...)
		}
		b = le.AppendUint32(b, uint32(len(packed)))
		b = le.AppendUint32(b, uint32(len(f.data)))
		b = append(b, 3) // Unix
		b = le.AppendUint32(b, crc32.ChecksumIEEE(f.data))
		b = le.AppendUint32(b, 0x5a210000) // DOS time
		b = append(b, 29, 0x30)            // version 2.9, stored
		b = le.AppendUint16(b, uint16(len(f.name)))
		b = le.AppendUint32(b, 0x81a4)
		b = append(b, f.name...)
		block(0x74, flags, b)
		out = append(out, packed...)
	}
	block(0x7b, 0x4000, nil)
	return out
}

// buildRAR5 writes a RAR 5 archive of stored files.
func buildRAR5(files []rarFile) []byte {
	le := binary.LittleEndian
	vint := func(b []byte, v uint64) []byte {
		for v >= 0x80 {
			b = append(b, byte(v)|0x80)
			v >>= 7
		}
		return append(b, byte(v))
	}
	out := []byte("Rar!\x1a\x07\x01\x00")
	header := func(h []byte) {
		full := vint(nil, uint64(len(h)))
		full = append(full, h...)
		out = le.AppendUint32(out, crc32.ChecksumIEEE(full))
		out = append(out, full...)
	}
	header([]byte{1, 0, 0}) // main archive header
	for _, f := range files {
		var extra []byte
		if f.encrypted {
			// File encryption record: version 0, no password check,
			// KDF count 15, salt, IV.
			rec := append([]byte{0x01, 0, 0, 15}, make([]byte, 32)...)
			extra = vint(nil, uint64(len(rec)))
			extra = append(extra, rec...)
		}
		packed := f.data
		if f.encrypted {
			packed = append(bytes.Clone(f.data), make([]byte, 16-len(f.data)%16)...)
		}
		h := []byte{2}
		if extra != nil {
			h = append(h, 0x03)
			h = vint(h, uint64(len(extra)))
		} else {
			h = append(h, 0x02)
		}
		h = vint(h, uint64(len(packed)))
		h = append(h, 0x04) // file flags: CRC32 present
		h = vint(h, uint64(len(f.data)))
		h = vint(h, 0o644)
		h = le.AppendUint32(h, crc32.ChecksumIEEE(f.data))
		h = append(h, 0, 1) // stored, version 0; Unix
		h = vint(h, uint64(len(f.name)))
		h = append(h, f.name...)
		h = append(h, extra...)
		header(h)
		out = append(out, packed...)
	}
	header([]byte{5, 0, 0}) // end of archive
	return out
}

func rarFixtures(t *testing.T) map[string][]byte {
	files := []rarFile{
		{name: "dir/payload", data: readPayload(t)},
		{name: "notes.txt", data: []byte("a small stored member\n")},
	}
	return map[string][]byte{"rar4": buildRAR4(files), "rar5": buildRAR5(files)}
}

func TestRAR(t *testing.T) {
	for name, data := range rarFixtures(t) {
		t.Run(name, func(t *testing.T) {
			for _, d := range [][]byte{data, append(readFile(t, "/usr/bin/false"), data...)} {
				ms := unpackOK(t, rarFormat(), d)
				if len(ms) != 2 || ms[0].Name != "dir/payload" || ms[1].Name != "notes.txt" {
					t.Fatalf("members %q", memberNames(ms))
				}
				wantMember(t, ms, "payload", readPayload(t))
			}
		})
	}
}

func TestRAREncrypted(t *testing.T) {
	files := []rarFile{
		{name: "secret.exe", data: readPayload(t)[:5000], encrypted: true},
		{name: "plain.txt", data: []byte("not encrypted\n")},
	}
	for name, data := range map[string][]byte{"rar4": buildRAR4(files), "rar5": buildRAR5(files)} {
		t.Run(name, func(t *testing.T) {
			ms := unpackOK(t, rarFormat(), data)
			if len(ms) != 2 || !ms[0].Encrypted || ms[0].Name != "secret.exe" || ms[1].Encrypted {
				t.Fatalf("members %+v", ms)
			}
			wantMember(t, ms, "plain.txt", []byte("not encrypted\n"))
		})
	}
}

// TestRARBadCRC: a member whose bytes do not match its CRC is still
// emitted (it may be malware), and the archive reported corrupt.
func TestRARBadCRC(t *testing.T) {
	for name, data := range rarFixtures(t) {
		t.Run(name, func(t *testing.T) {
			d := bytes.Clone(data)
			i := bytes.Index(d, readPayload(t)[:64])
			d[i+100] ^= 0xff
			ms, err := checkUnpack(t, rarFormat(), d, Limits{})
			if err == nil || len(ms) == 0 || ms[0].Name != "dir/payload" {
				t.Fatalf("err %v, members %q: want the damaged member and an error", err, memberNames(ms))
			}
		})
	}
}

func TestRARDamaged(t *testing.T) {
	for _, data := range rarFixtures(t) {
		checkDamaged(t, rarFormat(), data)
	}
}

func FuzzUnpackRAR(f *testing.F) {
	files := []rarFile{{name: "a", data: []byte("hello, rar")}, {name: "b", data: []byte("x"), encrypted: true}}
	fuzzFormat(f, rarFormat(), buildRAR4(files), buildRAR5(files))
}
