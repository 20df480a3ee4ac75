package unpack

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/glassav/glassav/filetype"
)

// tnefFormat opens TNEF streams (winmail.dat, Outlook's "Transport Neutral
// Encapsulation Format"): a signature and key, then attributes, each a
// level byte (1 message, 2 attachment), a 32-bit id, a 32-bit length, the
// data and a 16-bit checksum. Every attachment's attAttachData is a member,
// named by its attAttachTitle, which may come before or after the data;
// attAttachRendData starts the next attachment.
func tnefFormat() *Format {
	return &Format{
		Name:   "tnef",
		Types:  []filetype.Type{filetype.TNEF},
		Unpack: unpackTNEF,
	}
}

const (
	tnefSignature      = 0x223E9F78
	tnefAttachData     = 0x800F
	tnefAttachTitle    = 0x8010
	tnefAttachRendData = 0x9002
	tnefLevelAttach    = 2
)

func unpackTNEF(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if len(data) < 6 || binary.LittleEndian.Uint32(data) != tnefSignature {
		return Corrupt("tnef", 0, "no TNEF signature")
	}
	type attachment struct {
		title string
		data  []byte
		off   int64
		has   bool
	}
	var cur attachment
	flush := func() error {
		if !cur.has {
			cur = attachment{}
			return nil
		}
		got, err := b.Stored(cur.data)
		if got != nil {
			if eerr := emit(Member{Name: cur.title, Data: got, Offset: cur.off}); eerr != nil {
				return eerr
			}
		}
		cur = attachment{}
		return err
	}
	off := 6
	for off < len(data) {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if len(bytes.Trim(data[off:], "\x00\r\n")) == 0 {
			break // padding after the last attribute
		}
		if len(data)-off < 9 {
			if err := flush(); err != nil {
				return err
			}
			return Corrupt("tnef", int64(off), "attribute header truncated")
		}
		level := data[off]
		id := binary.LittleEndian.Uint32(data[off+1:]) & 0xFFFF
		n := int64(binary.LittleEndian.Uint32(data[off+5:]))
		start := off + 9
		end := int64(start) + n
		truncated := end > int64(len(data))
		if truncated {
			end = int64(len(data))
		}
		val := data[start:end]
		if level == tnefLevelAttach {
			switch id {
			case tnefAttachRendData:
				if err := flush(); err != nil {
					return err
				}
			case tnefAttachTitle:
				cur.title = string(bytes.TrimRight(val, "\x00"))
			case tnefAttachData:
				if cur.has {
					if err := flush(); err != nil {
						return err
					}
				}
				cur.data, cur.off, cur.has = val, int64(start), true
			}
		}
		if truncated {
			if err := flush(); err != nil {
				return err
			}
			return Corrupt("tnef", int64(off), "attribute 0x%04x of %d bytes truncated", id, n)
		}
		off = int(end) + 2 // checksum
	}
	return flush()
}
