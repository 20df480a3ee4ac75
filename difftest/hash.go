package difftest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

func sumMD5(b []byte) []byte { s := md5.Sum(b); return s[:] }

// HashAlgo names a digest used by hash signatures.
type HashAlgo string

// Hash algorithms ClamAV accepts in .hdb/.hsb/.mdb/.msb, told apart by
// digest length.
const (
	MD5    HashAlgo = "md5"
	SHA1   HashAlgo = "sha1"
	SHA256 HashAlgo = "sha256"
)

// Digest returns the hex digest of b.
func (a HashAlgo) Digest(b []byte) string {
	switch a {
	case SHA1:
		s := sha1.Sum(b)
		return hex.EncodeToString(s[:])
	case SHA256:
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// sectionExt is the extension for PE section hashes of the algorithm.
func (a HashAlgo) sectionExt() string {
	if a == MD5 {
		return "mdb"
	}
	return "msb"
}

// FileHashSig returns a whole-file hash signature line for data. With
// anySize the size field is "*", which ClamAV accepts from functionality
// level 73 on, so the line carries ":73".
func FileHashSig(a HashAlgo, data []byte, name string, anySize bool) string {
	if anySize {
		return fmt.Sprintf("%s:*:%s:73", a.Digest(data), name)
	}
	return fmt.Sprintf("%s:%d:%s", a.Digest(data), len(data), name)
}

// SectionHashSig returns a PE section hash line (size first, as in .mdb).
func SectionHashSig(a HashAlgo, section []byte, name string, anySize bool) string {
	if anySize {
		return fmt.Sprintf("*:%s:%s:73", a.Digest(section), name)
	}
	return fmt.Sprintf("%d:%s:%s", len(section), a.Digest(section), name)
}

var impRE = regexp.MustCompile(`Imphash: ([0-9a-f]{32}):([0-9]+)`)

// SigtoolImp asks sigtool for the import-table hash and size of a PE file,
// as `sigtool --imp` prints them in its debug output. It fails when sigtool
// is missing or the file has no import table.
func SigtoolImp(path string) (hash string, size int64, err error) {
	out, err := exec.Command("sigtool", "--imp", path).CombinedOutput()
	if err != nil {
		return "", 0, fmt.Errorf("sigtool --imp %s: %w", path, err)
	}
	m := impRE.FindSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("sigtool --imp %s: no Imphash line", path)
	}
	size, _ = strconv.ParseInt(string(m[2]), 10, 64)
	return string(m[1]), size, nil
}
