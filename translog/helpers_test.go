package translog

import (
	"encoding/base64"
	"encoding/binary"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func be32(x uint32) []byte { return binary.BigEndian.AppendUint32(nil, x) }
