package unpack

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"io"
)

// The PDF stream filters (ISO 32000-1 §7.4) that carry content a scanner
// must see. Each decoder returns at most max bytes and errTooBig when
// there was more, so a decompression bomb costs max bytes of memory, not
// its expanded size. A damaged stream yields what decoded before the fault
// with a non-nil error; the caller scans the partial data.

var errTooBig = errors.New("decoded stream exceeds the size limit")

// pdfFilter decodes src with the named filter; known reports whether the
// filter is one glassav decodes (image codecs are not: their bytes are
// left as they are).
func pdfFilter(name pdfName, parms pdfDict, src []byte, max int64) (out []byte, known bool, err error) {
	switch name {
	case "FlateDecode", "Fl":
		out, err = inflatePDF(src, max)
		out = unpredict(out, parms)
	case "ASCIIHexDecode", "AHx":
		out = decodeHex(src, '>')
	case "ASCII85Decode", "A85":
		out = decodeASCII85(src)
	case "LZWDecode", "LZW":
		early := 1
		if v, ok := parms["EarlyChange"].(int64); ok && v == 0 {
			early = 0
		}
		out, err = decodeLZW(src, early, max)
		out = unpredict(out, parms)
	case "RunLengthDecode", "RL":
		out, err = decodeRunLength(src, max)
	case "Crypt":
		out = src // only /Identity reaches here: encrypted files are reported before
	default:
		return src, false, nil
	}
	if int64(len(out)) > max {
		out, err = out[:max], errTooBig
	}
	return out, true, err
}

// inflatePDF decodes a zlib stream, or a raw deflate stream when the zlib
// header is missing or wrong, as many PDF writers get it wrong.
func inflatePDF(src []byte, max int64) ([]byte, error) {
	var r io.ReadCloser
	if zr, err := zlib.NewReader(bytes.NewReader(src)); err == nil {
		r = zr
	} else {
		r = flate.NewReader(bytes.NewReader(src))
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(out)) > max {
		return out[:max], errTooBig
	}
	if errors.Is(err, zlib.ErrChecksum) {
		err = nil // the data is complete; a bad Adler-32 does not change it
	}
	return out, err
}

// decodeASCII85 decodes base-85 text ending at "~>"; 'z' stands for four
// zero bytes and a final partial group yields one byte less than its
// characters. Characters outside the alphabet are skipped.
func decodeASCII85(src []byte) []byte {
	out := make([]byte, 0, len(src)*4/5+4)
	var grp [5]uint32
	n := 0
	for _, c := range src {
		switch {
		case c == '~':
			goto done
		case c == 'z' && n == 0:
			out = append(out, 0, 0, 0, 0)
			continue
		case c < '!' || c > 'u':
			continue
		}
		grp[n] = uint32(c - '!')
		n++
		if n == 5 {
			v := (((grp[0]*85+grp[1])*85+grp[2])*85+grp[3])*85 + grp[4]
			out = append(out, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
			n = 0
		}
	}
done:
	if n > 1 {
		for i := n; i < 5; i++ {
			grp[i] = 84
		}
		v := (((grp[0]*85+grp[1])*85+grp[2])*85+grp[3])*85 + grp[4]
		b := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		out = append(out, b[:n-1]...)
	}
	return out
}

// decodeRunLength decodes PDF's RunLengthDecode: a length byte L < 128
// copies the next L+1 bytes, L > 128 repeats the next byte 257-L times,
// 128 ends the data.
func decodeRunLength(src []byte, max int64) ([]byte, error) {
	var out []byte
	for i := 0; i < len(src); {
		l := int(src[i])
		i++
		switch {
		case l == 128:
			return out, nil
		case l < 128:
			n := min(l+1, len(src)-i)
			out = append(out, src[i:i+n]...)
			i += n
		default:
			if i >= len(src) {
				return out, io.ErrUnexpectedEOF
			}
			for k := 0; k < 257-l; k++ {
				out = append(out, src[i])
			}
			i++
		}
		if int64(len(out)) > max {
			return out[:max], errTooBig
		}
	}
	return out, nil
}

// decodeLZW decodes PDF's LZWDecode: variable-width codes of 9 to 12 bits,
// most significant bit first, 256 clears the table and 257 ends the data.
// With early change (the default) the width grows one code early.
func decodeLZW(src []byte, early int, max int64) ([]byte, error) {
	const (
		clear = 256
		eod   = 257
	)
	var (
		prefix [4096]uint16
		suffix [4096]byte
		length [4096]uint16
		first  [4096]byte
	)
	for c := 0; c < 256; c++ {
		suffix[c], length[c], first[c] = byte(c), 1, byte(c)
	}
	var out []byte
	width, next, prev := 9, 258, -1
	var acc uint32
	nb, i := 0, 0
	for {
		for nb < width {
			if i >= len(src) {
				return out, nil // no EOD: take what is there
			}
			acc = acc<<8 | uint32(src[i])
			i++
			nb += 8
		}
		code := int(acc>>(nb-width)) & (1<<width - 1)
		nb -= width
		switch {
		case code == clear:
			width, next, prev = 9, 258, -1
			continue
		case code == eod:
			return out, nil
		case prev < 0:
			if code > 255 {
				return out, errors.New("lzw: first code after clear is not a literal")
			}
			out = append(out, byte(code))
			prev = code
			continue
		case code > next || (code == next && next >= 4096):
			return out, errors.New("lzw: code out of range")
		}
		var f byte
		if code < next {
			n := int(length[code])
			s := len(out)
			out = append(out, make([]byte, n)...)
			for c, k := code, s+n-1; k >= s; k-- {
				out[k] = suffix[c]
				c = int(prefix[c])
			}
			f = first[code]
		} else { // code == next: the previous string plus its first byte
			n := int(length[prev])
			s := len(out)
			out = append(out, out[s-n:s]...)
			out = append(out, first[prev])
			f = first[prev]
		}
		if next < 4096 {
			prefix[next], suffix[next] = uint16(prev), f
			length[next], first[next] = length[prev]+1, first[prev]
			next++
		}
		if next+early >= 1<<width && width < 12 {
			width++
		}
		prev = code
		if int64(len(out)) > max {
			return out[:max], errTooBig
		}
	}
}

// unpredict undoes the predictor of /DecodeParms (ISO 32000-1 §7.4.4.4):
// TIFF predictor 2 for 8-bit components, or the PNG filters (predictor
// 10 and above), each row of Columns samples prefixed by its filter type.
// Data with any other predictor is returned as it is.
func unpredict(data []byte, parms pdfDict) []byte {
	pred, _ := parms["Predictor"].(int64)
	if pred <= 1 {
		return data
	}
	param := func(k pdfName, def int64) int64 {
		if v, ok := parms[k].(int64); ok && v > 0 && v <= 1<<16 {
			return v
		}
		return def
	}
	colors, bpc, cols := param("Colors", 1), param("BitsPerComponent", 8), param("Columns", 1)
	bpp := int(max(1, colors*bpc/8))
	rowLen := int((colors*bpc*cols + 7) / 8)
	if rowLen > len(data) {
		return data
	}
	if pred == 2 {
		if bpc != 8 {
			return data
		}
		out := bytes.Clone(data)
		for r := 0; r < len(out); r += rowLen {
			row := out[r:min(len(out), r+rowLen)]
			for i := bpp; i < len(row); i++ {
				row[i] += row[i-bpp]
			}
		}
		return out
	}
	if pred < 10 {
		return data
	}
	out := make([]byte, 0, len(data))
	prev := make([]byte, rowLen)
	for r := 0; r+1 < len(data); r += rowLen + 1 {
		ft := data[r]
		in := data[r+1 : min(len(data), r+1+rowLen)]
		row := make([]byte, len(in))
		for i, x := range in {
			var a, b, c byte
			if i >= bpp {
				a, c = row[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			switch ft {
			case 1:
				x += a
			case 2:
				x += b
			case 3:
				x += byte((int(a) + int(b)) / 2)
			case 4:
				x += paeth(a, b, c)
			}
			row[i] = x
		}
		out = append(out, row...)
		copy(prev, row)
	}
	return out
}

// paeth is the PNG Paeth predictor.
func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
