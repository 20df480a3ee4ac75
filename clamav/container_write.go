package clamav

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"time"
)

// MarshalCLD encodes c as a .cld file, the form freshclam keeps after
// applying updates. The header is the first line of the .info member
// padded to 512 bytes; the body is a tar archive of the members. ClamAV
// takes a body that starts with a member named COPYING to be a plain tar
// and anything else to be gzip-compressed, so COPYING is written first and
// the archive is compressed only when there is no COPYING. Reading the
// result back with ReadContainer authenticates it as a .cld.
func (c *Container) MarshalCLD() ([]byte, error) {
	_, infoName, err := findInfo(c.Files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	line, _, _ := bytes.Cut(c.File(infoName).Data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > HeaderSize {
		return nil, fmt.Errorf("%s: header line longer than %d bytes", c.Name, HeaderSize)
	}
	files := make([]ContainerFile, 0, len(c.Files))
	plain := false
	if f := c.File("COPYING"); f != nil {
		files = append(files, *f)
		plain = true
	}
	for _, f := range c.Files {
		if f.Name != "COPYING" {
			files = append(files, f)
		}
	}
	var buf bytes.Buffer
	buf.Write(bytes.Repeat([]byte{' '}, HeaderSize))
	copy(buf.Bytes(), line)
	if err := writeTar(&buf, files, !plain); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	return buf.Bytes(), nil
}

// writeTar writes files as a ustar archive, like sigtool: owner 0, mode
// 0644, time 0.
func writeTar(buf *bytes.Buffer, files []ContainerFile, compress bool) error {
	var zw *gzip.Writer
	var tw *tar.Writer
	if compress {
		zw = gzip.NewWriter(buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(buf)
	}
	for _, f := range files {
		if err := checkMemberName(f.Name); err != nil {
			return fmt.Errorf("member %q: %w", f.Name, err)
		}
		hdr := &tar.Header{
			Name:     f.Name,
			Size:     int64(len(f.Data)),
			Mode:     0o644,
			ModTime:  time.Unix(0, 0),
			Typeflag: tar.TypeReg,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	err := tw.Close()
	if zw != nil {
		err = errors.Join(err, zw.Close())
	}
	return err
}
