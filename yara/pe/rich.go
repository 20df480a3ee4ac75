package pe

// RichSignature is the Rich header Microsoft's linker leaves between the
// DOS stub and the NT headers: a "DanS" marker, three padding words and
// (tool id, version, count) records, all XORed with a key that follows
// the closing "Rich".
type RichSignature struct {
	Offset int    // of the "DanS" word
	Length int    // bytes from "DanS" up to (not including) "Rich"
	Key    uint32 // the XOR key
	Raw    []byte // the bytes as stored
	Clear  []byte // the bytes XORed with the key
}

// VersionData returns the first word of each (tool id, version) record
// of the cleared header, concatenated: yara 4.3's
// rich_signature.version_data, a value meant for hashing. The records
// start after the 16-byte "DanS" preamble; a trailing half record is
// dropped. A header shorter than the preamble has none (nil): yara's
// record count underflows there and its allocation fails.
func (r *RichSignature) VersionData() []byte {
	if len(r.Clear) < 16 {
		return nil
	}
	n := (len(r.Clear) - 16) / 8
	out := make([]byte, 0, 4*n)
	for i := 0; i < n; i++ {
		at := 16 + 8*i
		out = append(out, r.Clear[at:at+4]...)
	}
	return out
}

const (
	richRich = 0x68636952 // "Rich"
	richDanS = 0x536e6144 // "DanS"
)

// parseRich finds the Rich header as yara does: walking back four bytes
// at a time from just before the NT headers to the end of the DOS header,
// first for "Rich" (whose next word is the key), then for the word that
// XORs with the key to "DanS"; the three words after it must hold the key
// too.
func (f *File) parseRich() {
	d := f.data
	nt := f.ntOff
	if nt < 4 {
		return
	}
	p := nt - 4
	richAt, key := -1, uint32(0)
	for ; p >= dosHeaderSize; p -= 4 {
		if le.Uint32(d[p:]) == richRich {
			key = le.Uint32(d[p+4:])
			richAt = p
			p -= 4
			break
		}
	}
	if key == 0 {
		return
	}
	dans := -1
	for ; p >= dosHeaderSize; p -= 4 {
		if le.Uint32(d[p:])^key == richDanS {
			dans = p
			break
		}
	}
	if dans < 0 {
		return
	}
	k1 := le.Uint32(d[dans+4:])
	if k1 != le.Uint32(d[dans+8:]) || k1 != le.Uint32(d[dans+12:]) || le.Uint32(d[dans:])^k1 != richDanS {
		return
	}
	n := richAt - dans
	raw := d[dans:richAt:richAt]
	clear := make([]byte, n)
	for i := 0; i+4 <= n; i += 4 {
		le.PutUint32(clear[i:], le.Uint32(raw[i:])^k1)
	}
	f.Rich = &RichSignature{Offset: dans, Length: n, Key: k1, Raw: raw, Clear: clear}
}

// Any is the value of YR_UNDEFINED, which yara's Rich header functions
// take for "any version" or "any tool id" (a rule passing this very
// number gets the same).
const Any int64 = -0x5452505452501

// RichCount returns the sum of the counts of the Rich header's records
// whose version and tool id match (Any matches any), as yara's
// rich_signature.version() and toolid() compute it. ok is false without
// a Rich header. Records are read up to the end of the header: yara reads
// past it when the header is shorter than its 16-byte preamble.
func (f *File) RichCount(version, toolid int64) (sum int64, ok bool) {
	r := f.Rich
	if r == nil {
		return 0, false
	}
	if version == Any && toolid == Any {
		return 0, true
	}
	for at := 16; at+8 <= len(r.Clear); at += 8 {
		id := le.Uint32(r.Clear[at:])
		if (version == Any || uint64(version) == uint64(id&0xffff)) &&
			(toolid == Any || uint64(toolid) == uint64(id>>16)) {
			sum += int64(le.Uint32(r.Clear[at+4:]))
		}
	}
	return sum, true
}
