package clamav

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ContainerFile is one member of a database container.
type ContainerFile struct {
	Name string
	Data []byte
}

// Container is a read and authenticated .cvd, .cld or .cud file.
type Container struct {
	// Name is the file name ReadContainer was given.
	Name string
	// Header is the header copy from the .info member, which (unlike the
	// container header) is covered by the signature; MD5 and DSig are the
	// container header's ("X" in a .cld, DSig "X" in a .cud).
	Header Header
	// Official reports whether the container carries a valid signature
	// with ClamAV's keys: true for .cvd and .cld, false for .cud. Only
	// signatures loaded from an official container keep their names;
	// ClamAV reports all others with a ".UNOFFICIAL" suffix.
	Official bool
	// Files are the members in archive order, including the .info
	// manifest and the licence text (COPYING).
	Files []ContainerFile
}

// File returns the member with the given name, or nil.
func (c *Container) File(name string) *ContainerFile {
	for i := range c.Files {
		if c.Files[i].Name == name {
			return &c.Files[i]
		}
	}
	return nil
}

// Sentinel errors, wrapped in *ContainerError, for the failures a caller
// may want to tell apart from plain malformation.
var (
	ErrMD5Mismatch    = errors.New("MD5 mismatch")
	ErrSHA256Mismatch = errors.New("SHA-256 mismatch")
	ErrSizeMismatch   = errors.New("size mismatch")
	ErrBadSignature   = errors.New("digital signature verification failed")
)

// ContainerError reports why a container was refused, naming the file and,
// where it applies, the member.
type ContainerError struct {
	File   string // container file name
	Member string // member name, or ""
	Err    error
}

func (e *ContainerError) Error() string {
	if e.Member != "" {
		return e.File + ": member " + e.Member + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *ContainerError) Unwrap() error { return e.Err }

// containerKind is the type of container, decided by the file extension as
// ClamAV does.
type containerKind int

const (
	kindCVD containerKind = iota // signed, header MD5 + legacy signature
	kindCLD                      // made locally from signed parts
	kindCUD                      // unsigned
)

func containerKindOf(name string) (containerKind, bool) {
	switch strings.ToLower(path.Ext(name)) {
	case ".cvd":
		return kindCVD, true
	case ".cld":
		return kindCLD, true
	case ".cud":
		return kindCUD, true
	}
	return 0, false
}

// ReadContainer parses and authenticates a .cvd, .cld or .cud, the kind
// decided by the name's extension, with DefaultLimits.
//
// A .cvd must carry the MD5 of its body in the header and a valid legacy
// signature of that MD5; a .cld needs neither. Both must hold a .info
// member whose DSIG line verifies with ClamAV's key and whose manifest
// matches every member (size and SHA-256), and whose header copy agrees
// with the container header. A .cud is checked the same way except that it
// is unsigned: its .info has no DSIG line and it is not Official.
func ReadContainer(name string, data []byte) (*Container, error) {
	return ReadContainerLimits(name, data, DefaultLimits())
}

// ReadContainerLimits is ReadContainer with explicit limits.
func ReadContainerLimits(name string, data []byte, lim Limits) (*Container, error) {
	fail := func(member string, err error) (*Container, error) {
		return nil, &ContainerError{File: name, Member: member, Err: err}
	}
	kind, ok := containerKindOf(name)
	if !ok {
		return fail("", errors.New("not a .cvd, .cld or .cud file name"))
	}
	if len(data) < HeaderSize {
		return fail("", fmt.Errorf("file is %d bytes, shorter than the %d-byte header", len(data), HeaderSize))
	}
	hdr, err := ParseHeader(data[:HeaderSize])
	if err != nil {
		return fail("", err)
	}
	body := data[HeaderSize:]

	switch kind {
	case kindCVD:
		sum := md5.Sum(body)
		if hdr.MD5 != hex.EncodeToString(sum[:]) {
			return fail("", ErrMD5Mismatch)
		}
		if err := verifyLegacyDSig(parseRSAKey(legacyModulus, legacyExponent), sum, hdr.DSig); err != nil {
			return fail("", fmt.Errorf("%w: %v", ErrBadSignature, err))
		}
	case kindCUD:
		// ClamAV does not check a .cud's MD5; sigtool writes a real one,
		// so a mismatch can only mean corruption.
		if hdr.MD5 != "X" {
			sum := md5.Sum(body)
			if hdr.MD5 != hex.EncodeToString(sum[:]) {
				return fail("", ErrMD5Mismatch)
			}
		}
	}

	files, err := readTarBody(body, lim)
	if err != nil {
		return fail("", err)
	}
	info, infoName, err := findInfo(files)
	if err != nil {
		return fail(infoName, err)
	}
	if kind == kindCUD {
		if info.hasDSig {
			return fail(infoName, errors.New("unsigned container has a DSIG line"))
		}
	} else if err := info.verify(); err != nil {
		return fail(infoName, fmt.Errorf("%w: %v", ErrBadSignature, err))
	}
	if err := sameHeader(hdr, info.header); err != nil {
		return fail(infoName, err)
	}
	if err := checkManifest(info, infoName, files); err != nil {
		return nil, &ContainerError{File: name, Member: err.member, Err: err.err}
	}
	// The container header itself is not covered by any signature (the
	// MD5 is of the body only), so report the signed copy from .info,
	// keeping the outer MD5 and dsig fields, which the copy lacks.
	signed := info.header
	signed.MD5, signed.DSig = hdr.MD5, hdr.DSig
	return &Container{Name: name, Header: signed, Official: kind != kindCUD, Files: files}, nil
}

// findInfo locates and parses the single .info member.
func findInfo(files []ContainerFile) (*infoFile, string, error) {
	var found *ContainerFile
	for i := range files {
		if strings.HasSuffix(strings.ToLower(files[i].Name), ".info") {
			if found != nil {
				return nil, "", fmt.Errorf("two .info members: %s and %s", found.Name, files[i].Name)
			}
			found = &files[i]
		}
	}
	if found == nil {
		return nil, "", errors.New("no .info member")
	}
	info, err := parseInfo(found.Data)
	if err != nil {
		return nil, found.Name, err
	}
	return info, found.Name, nil
}

// sameHeader checks that the container header agrees with the signed
// header copy in .info on the fields ClamAV compares (version, signature
// count, functionality level and build time). The copy's MD5 and dsig are
// "X": the .info cannot contain the hash of the archive it is part of.
func sameHeader(h, info Header) error {
	if h.Version != info.Version || h.Signatures != info.Signatures ||
		h.FLevel != info.FLevel || h.Time != info.Time {
		return fmt.Errorf("header (version %d, %d signatures, flevel %d, time %d) does not match the .info copy (version %d, %d signatures, flevel %d, time %d)",
			h.Version, h.Signatures, h.FLevel, h.Time, info.Version, info.Signatures, info.FLevel, info.Time)
	}
	return nil
}

type manifestError struct {
	member string
	err    error
}

// checkManifest checks every member against the .info manifest. Every
// member other than the .info itself and the licence text must be listed,
// every listed member must be present, and sizes and SHA-256 must match.
// ClamAV checks only the members it loads and does not notice a listed
// member that is missing; a signed manifest should not allow dropping
// members, so we do.
func checkManifest(info *infoFile, infoName string, files []ContainerFile) *manifestError {
	listed := make(map[string]*infoEntry, len(info.entries))
	for i := range info.entries {
		listed[info.entries[i].name] = &info.entries[i]
	}
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.Name] = true
		e := listed[f.Name]
		if e == nil {
			if f.Name == infoName || f.Name == "COPYING" {
				continue
			}
			return &manifestError{f.Name, errors.New("not listed in " + infoName)}
		}
		if int64(len(f.Data)) != e.size {
			return &manifestError{f.Name, fmt.Errorf("%w: %d bytes, .info says %d", ErrSizeMismatch, len(f.Data), e.size)}
		}
		if sha256.Sum256(f.Data) != e.sha256 {
			return &manifestError{f.Name, ErrSHA256Mismatch}
		}
	}
	for _, e := range info.entries {
		if !present[e.name] {
			return &manifestError{e.name, errors.New("listed in " + infoName + " but missing")}
		}
	}
	return nil
}
