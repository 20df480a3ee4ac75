package yara

import (
	"encoding/hex"

	"github.com/glassav/glassav/yara/authenticode"
)

// This file is the Authenticode part of the pe module: the declaration
// and values of pe.signatures and pe.number_of_signatures, read by
// package authenticode. yara 4.2.3 has no pe.is_signed (4.3 added it with
// its new signature parser, along with verified, digest, file_digest,
// signer_info, countersignatures…): declaring it would add a line yara
// 4.2.3's -D does not print, so it is left out.

// peSignatureMembers returns the members the pe module declares last, in
// yara 4.2.3's order: the signatures array, then number_of_signatures.
// The pe module's Declare must append them after all its other members
// (yara -D prints structure members in reverse declaration order, so
// number_of_signatures prints first under "pe").
func peSignatureMembers() []member {
	return []member{
		{"signatures", arrayOf(signatureObject(nil))},
		{"number_of_signatures", scalar(KindInt)},
	}
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
	certs := authenticode.Signatures(data, dirOff, dirSize)
	arr := arrayOf(signatureObject(nil))
	arr.Items = make([]*Object, len(certs))
	for i, c := range certs {
		arr.Items[i] = signatureObject(c)
	}
	return arr, intObject(int64(len(certs)))
}

// signatureObject returns one pe.signatures[i] structure: the declared
// element for c == nil, else c's values. The fields are in yara 4.2.3's
// declaration order.
func signatureObject(c *authenticode.Certificate) *Object {
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
			member{"valid_on", validOnFunc(0, 0, false)},
		)
	}
	tp := c.Thumbprint()
	alg, algOID := c.AlgorithmName()
	serial := scalar(KindString)
	if s, ok := c.SerialString(); ok {
		serial = stringObject(s)
	}
	notBefore, notAfter := c.NotBefore.Unix(), c.NotAfter.Unix()
	return structOf(
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
	)
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
