// Package authenticode reads the Authenticode signatures of a PE file:
// the PKCS#7 SignedData blobs of its certificate table (the security data
// directory) and the certificates of their signers, with the values yara
// 4.2.3's pe module reports for them (pe.signatures[i]: issuer, subject,
// serial, thumbprint, version, algorithm, algorithm_oid, not_before,
// not_after).
//
// yara 4.2.3 reads the table with OpenSSL: every PKCS#7 blob OpenSSL can
// decode contributes the certificate of each of its signers, then the
// signers of the signatures nested in its first signer's unsigned
// attributes, depth first, at most MaxSignatures in all. The decoder here
// accepts and refuses the encodings OpenSSL does, so the same blobs count,
// and formats names, serials and times as yara does.
//
// Details adds, for the same signatures, what yara 4.3 reports beyond
// 4.2.3 (verify.go): the claimed and computed file digests, the
// certificates, the signer's chain and program name, countersignatures,
// and whether each signature verifies (its digests match and its key
// verifies it; no trust store is consulted, as in yara 4.3).
//
// Every read is bounds-checked; work is linear in the size of the table
// (nesting is capped) — Details adds one pass over the file per digest
// algorithm and at most MaxSignatures × (1 + MaxCountersignatures)
// public-key verifications — and malformed input yields fewer
// signatures, never a panic.
package authenticode

import "encoding/binary"

// MaxSignatures is the most signatures yara reports for one file (its
// MAX_PE_CERTS).
const MaxSignatures = 16

// WIN_CERTIFICATE values.
const (
	certHeaderSize   = 8 // dwLength, wRevision, wCertificateType
	certRevision1    = 0x0100
	certRevision2    = 0x0200
	certTypePKCS7    = 0x0002
	maxNestedPerAttr = MaxSignatures
)

// Signatures returns the signer certificates of the certificate table at
// file offset off, size bytes long (the security data directory's
// VirtualAddress and Size, which hold a file offset), in yara 4.2.3's
// order. A directory yara rejects (offset 0, or not inside data) has no
// signatures.
func Signatures(data []byte, off, size uint32) []*Certificate {
	refs := signers(data, off, size)
	if refs == nil {
		return nil
	}
	out := make([]*Certificate, len(refs))
	for i, r := range refs {
		out[i] = r.cert
	}
	return out
}

// A signerRef is one signer found in the certificate table: its
// SignedData and index there, and its certificate.
type signerRef struct {
	ci    *ContentInfo
	index int
	cert  *Certificate
}

// signers returns the signers Signatures reports, in its order.
func signers(data []byte, off, size uint32) []signerRef {
	n := uint64(len(data))
	// yara adds the two 32-bit fields in 32-bit arithmetic.
	if off == 0 || uint64(off) > n || uint64(size) > n || uint64(off+size) > n {
		return nil
	}
	eod := uint64(off) + uint64(size)
	var out []signerRef
	p := uint64(off)
	for p+certHeaderSize <= n {
		length := uint64(binary.LittleEndian.Uint32(data[p:]))
		if length <= certHeaderSize || length > n || p > n-length ||
			p+certHeaderSize >= eod || p+length > eod {
			break
		}
		rev := binary.LittleEndian.Uint16(data[p+4:])
		typ := binary.LittleEndian.Uint16(data[p+6:])
		if rev != certRevision1 && rev != certRevision2 {
			break
		}
		end := p + length
		if rev == certRevision2 && typ == certTypePKCS7 {
			blob := data[p+certHeaderSize : end]
			for len(blob) > 0 && len(out) < MaxSignatures {
				ci, rest, err := ParseContentInfo(blob)
				if err != nil {
					break
				}
				out = appendSigners(out, ci, 0)
				blob = rest
			}
		}
		// The next entry starts at the next multiple of 8.
		p = (end + 7) &^ 7
	}
	return out
}

// maxNestDepth bounds the recursion into nested signatures; yara's own
// bound is the signature count, which every level it descends increases.
const maxNestDepth = MaxSignatures + 1

// appendSigners adds the signers of ci and of the signatures nested in
// it, as yara's _parse_pkcs7 does.
func appendSigners(out []signerRef, ci *ContentInfo, depth int) []signerRef {
	if len(out) >= MaxSignatures || depth > maxNestDepth {
		return out
	}
	certs, ok := ci.Signers()
	if !ok {
		return out
	}
	for i, c := range certs {
		if len(out) >= MaxSignatures {
			break
		}
		out = append(out, signerRef{ci, i, c})
	}
	for j, v := range ci.nestedSignatures() {
		if j >= maxNestedPerAttr {
			break
		}
		b, ok := nestedBytes(v)
		if !ok {
			continue
		}
		nested, _, err := ParseContentInfo(b)
		if err != nil {
			continue
		}
		out = appendSigners(out, nested, depth+1)
	}
	return out
}

// nestedBytes returns what yara hands d2i_PKCS7 for a nested-signature
// value: OpenSSL's value.sequence of the ASN1_TYPE, which is the whole
// encoding for a SEQUENCE (or SET, or a non-universal value) and the
// contents for a string type. Other types yara cannot read.
func nestedBytes(v element) ([]byte, bool) {
	if v.class != classUniversal {
		return v.full, true
	}
	switch v.tag {
	case tagSequence, tagSet:
		return v.full, true
	case tagBoolean, tagNull, tagOID:
		return nil, false
	}
	b, err := v.stringBytes()
	return b, err == nil
}
