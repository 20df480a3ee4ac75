package yara

import (
	"encoding/hex"

	"github.com/glassav/glassav/yara/authenticode"
)

// This file is the Authenticode part of the pe module: the declaration
// and values of pe.signatures and pe.number_of_signatures, read by
// package authenticode, with yara 4.2.3's members and, marked Since43 so
// yara -D output stays 4.2.3's, those yara 4.3 added with its own
// signature parser: pe.is_signed and, in each signature, verified,
// digest_alg, digest, file_digest, certificates, signer_info and
// countersignatures.

// peSignatureMembers returns the members the pe module declares last, in
// yara 4.2.3's order: the signatures array, then number_of_signatures.
// The pe module's Declare must append them after all its other members
// (yara -D prints structure members in reverse declaration order, so
// number_of_signatures prints first under "pe").
func peSignatureMembers() []member {
	return []member{
		{"signatures", arrayOf(signatureObject(nil, nil))},
		{"number_of_signatures", scalar(KindInt)},
	}
}

// peIsSigned returns yara 4.3's pe.is_signed for a PE file: 1 when one of
// its signatures verifies, else 0 (also without a certificate table).
func peIsSigned(signatures *Object) *Object {
	for _, it := range signatures.Items {
		if v := it.Fields["verified"]; v != nil && v.Defined && v.Int == 1 {
			return intObject(1)
		}
	}
	return intObject(0)
}

// peSignatures returns the loaded values of pe.signatures and
// pe.number_of_signatures for a PE file, as yara 4.2.3's
// pe_parse_certificates sets them.
//
// The caller (the pe module's Load) calls it only for data yara parses as
// a PE, and only when yara's pe_get_directory_entry finds the security
// entry (IMAGE_DIRECTORY_ENTRY_SECURITY, index 4): when the entry starts
// at most SizeOfOptionalHeader bytes after the optional header's start,
// whatever NumberOfRvaAndSizes says (yara does not check it). dirOff and
// dirSize are that entry's raw VirtualAddress and Size fields (this
// entry's VirtualAddress is a file offset; do not convert it). When the
// entry is absent the caller leaves both members as declared: the array
// empty and number_of_signatures undefined. When it is present
// number_of_signatures is always defined (0 for an unsigned file).
//
// The returned objects are new for each call and may be stored in the
// loaded tree as they are.
func peSignatures(data []byte, dirOff, dirSize uint32) (signatures, numberOfSignatures *Object) {
	sigs := authenticode.Details(data, dirOff, dirSize)
	arr := arrayOf(signatureObject(nil, nil))
	arr.Items = make([]*Object, len(sigs))
	for i, s := range sigs {
		arr.Items[i] = signatureObject(s.Signer, s)
	}
	return arr, intObject(int64(len(sigs)))
}

// signatureObject returns one pe.signatures[i] structure: the declared
// element for c == nil, else the values of c, the signer's certificate,
// and s, its signature. The fields are in yara 4.2.3's declaration order,
// followed by yara 4.3's.
func signatureObject(c *authenticode.Certificate, s *authenticode.Signature) *Object {
	if c == nil {
		return structOf(append([]member{
			member{"thumbprint", scalar(KindString)},
			member{"issuer", scalar(KindString)},
			member{"subject", scalar(KindString)},
			member{"version", scalar(KindInt)},
			member{"algorithm", scalar(KindString)},
			member{"algorithm_oid", scalar(KindString)},
			member{"serial", scalar(KindString)},
			member{"not_before", scalar(KindInt)},
			member{"not_after", scalar(KindInt)},
			member{"valid_on", validOnFunc(0, 0, false)},
		}, signature43Members(nil)...)...)
	}
	tp := c.Thumbprint()
	alg, algOID := c.AlgorithmName()
	serial := scalar(KindString)
	if s, ok := c.SerialString(); ok {
		serial = stringObject(s)
	}
	notBefore, notAfter := c.NotBefore.Unix(), c.NotAfter.Unix()
	return structOf(append([]member{
		member{"thumbprint", stringObject(hex.EncodeToString(tp[:]))},
		member{"issuer", stringObject(c.Issuer.OneLine(authenticode.NameBufferSize))},
		member{"subject", stringObject(c.Subject.OneLine(authenticode.NameBufferSize))},
		member{"version", intObject(c.VersionNumber())},
		member{"algorithm", stringObject(alg)},
		member{"algorithm_oid", stringObject(algOID)},
		member{"serial", serial},
		member{"not_before", intObject(notBefore)},
		member{"not_after", intObject(notAfter)},
		member{"valid_on", validOnFunc(notBefore, notAfter, true)},
	}, signature43Members(s)...)...)
}

// signature43Members returns the members yara 4.3 added to a signature,
// each marked Since43: declared (s == nil) or with s's values.
func signature43Members(s *authenticode.Signature) []member {
	if s == nil {
		return []member{
			since43("verified", scalar(KindInt)),
			since43("digest_alg", scalar(KindString)),
			since43("digest", scalar(KindString)),
			since43("file_digest", scalar(KindString)),
			since43("number_of_certificates", scalar(KindInt)),
			since43("certificates", arrayOf(certificateObject(nil))),
			since43("signer_info", structOf(
				member{"program_name", scalar(KindString)},
				member{"digest", scalar(KindString)},
				member{"digest_alg", scalar(KindString)},
				member{"length_of_chain", scalar(KindInt)},
				member{"chain", arrayOf(certificateObject(nil))},
			)),
			since43("number_of_countersignatures", scalar(KindInt)),
			since43("countersignatures", arrayOf(countersignatureObject(nil))),
		}
	}
	counters := arrayOf(countersignatureObject(nil))
	for _, cs := range s.Countersignatures {
		counters.Items = append(counters.Items, countersignatureObject(cs))
	}
	return []member{
		since43("verified", intObject(boolInt(s.Verified))),
		since43("digest_alg", optString(s.DigestAlg)),
		since43("digest", hexObject(s.Digest)),
		since43("file_digest", hexObject(s.FileDigest)),
		since43("number_of_certificates", intObject(int64(len(s.Certificates)))),
		since43("certificates", certificateArray(s.Certificates)),
		since43("signer_info", structOf(
			member{"program_name", peStr(s.ProgramName)},
			member{"digest", hexObject(s.SignerDigest)},
			member{"digest_alg", optString(s.SignerDigestAlg)},
			member{"length_of_chain", intObject(int64(len(s.Chain)))},
			member{"chain", certificateArray(s.Chain)},
		)),
		since43("number_of_countersignatures", intObject(int64(len(s.Countersignatures)))),
		since43("countersignatures", counters),
	}
}

// countersignatureObject returns one signatures[i].countersignatures[j]:
// declared for cs == nil, else cs's values.
func countersignatureObject(cs *authenticode.Countersignature) *Object {
	if cs == nil {
		return structOf(
			member{"verified", scalar(KindInt)},
			member{"sign_time", scalar(KindInt)},
			member{"digest", scalar(KindString)},
			member{"digest_alg", scalar(KindString)},
			member{"length_of_chain", scalar(KindInt)},
			member{"chain", arrayOf(certificateObject(nil))},
		)
	}
	return structOf(
		member{"verified", intObject(boolInt(cs.Verified))},
		member{"sign_time", peInt(cs.HasSignTime, cs.SignTime)},
		member{"digest", hexObject(cs.Digest)},
		member{"digest_alg", optString(cs.DigestAlg)},
		member{"length_of_chain", intObject(int64(len(cs.Chain)))},
		member{"chain", certificateArray(cs.Chain)},
	)
}

// certificateObject returns a certificate as yara 4.3 writes the items of
// certificates[] and chain[]: the certificate fields of a signature
// without valid_on.
func certificateObject(c *authenticode.Certificate) *Object {
	if c == nil {
		return structOf(
			member{"thumbprint", scalar(KindString)},
			member{"issuer", scalar(KindString)},
			member{"subject", scalar(KindString)},
			member{"version", scalar(KindInt)},
			member{"algorithm", scalar(KindString)},
			member{"algorithm_oid", scalar(KindString)},
			member{"serial", scalar(KindString)},
			member{"not_before", scalar(KindInt)},
			member{"not_after", scalar(KindInt)},
		)
	}
	tp := c.Thumbprint()
	alg, algOID := c.AlgorithmName()
	serial := scalar(KindString)
	if s, ok := c.SerialString(); ok {
		serial = stringObject(s)
	}
	return structOf(
		member{"thumbprint", stringObject(hex.EncodeToString(tp[:]))},
		member{"issuer", stringObject(c.Issuer.OneLine(authenticode.NameBufferSize))},
		member{"subject", stringObject(c.Subject.OneLine(authenticode.NameBufferSize))},
		member{"version", intObject(c.VersionNumber())},
		member{"algorithm", stringObject(alg)},
		member{"algorithm_oid", stringObject(algOID)},
		member{"serial", serial},
		member{"not_before", intObject(c.NotBefore.Unix())},
		member{"not_after", intObject(c.NotAfter.Unix())},
	)
}

func certificateArray(cs []*authenticode.Certificate) *Object {
	a := arrayOf(certificateObject(nil))
	a.Items = make([]*Object, len(cs))
	for i, c := range cs {
		a.Items[i] = certificateObject(c)
	}
	return a
}

// hexObject returns b in lower-case hex, undefined for nil.
func hexObject(b []byte) *Object {
	if b == nil {
		return scalar(KindString)
	}
	return stringObject(hex.EncodeToString(b))
}

// optString returns s, undefined when empty.
func optString(s string) *Object {
	if s == "" {
		return scalar(KindString)
	}
	return stringObject(s)
}

// validOnFunc returns pe.signatures[i].valid_on(timestamp): whether the
// certificate's validity period (both ends included) holds timestamp.
// yara's function reads not_before and not_after from the structure it
// is called on, so every loaded signature has its own; the declared one
// (defined false), which a call on a missing signature reaches, is
// undefined.
func validOnFunc(notBefore, notAfter int64, defined bool) *Object {
	return overloads(fn("i", KindInt, func(_ *ScanContext, a []Value) Value {
		if !defined {
			return undefined(KindInt)
		}
		t := a[0].Int
		return boolValue(t >= notBefore && t <= notAfter)
	}))
}
