package unpack

import (
	"bytes"
	"context"
	"mime"
	"strings"

	"github.com/glassav/glassav/filetype"
)

// mailFormat opens RFC 822/MIME messages and mbox files (several messages,
// each after a "From " line): every leaf part of every message is a member,
// decoded from base64, quoted-printable or uuencode; text parts are also
// searched for uuencoded, yEnc and BinHex blocks, as ClamAV's mbox parser
// does, because old mailers put attachments inline. HTML parts are typed
// HTML so the engine opens them too. Nested multiparts and message/rfc822
// parts are parsed in place, at most MaxRecursion deep.
//
// The parser is lenient like a mail client, not strict like net/mail: a
// malformed header line ends the header, a missing closing boundary ends
// the last part at the end of the message (reported as damage once all
// parts are emitted), and an unknown transfer encoding leaves the bytes as
// they are.
func mailFormat() *Format {
	return &Format{
		Name:   "mail",
		Types:  []filetype.Type{filetype.Mail, filetype.MHTML},
		Unpack: unpackMail,
	}
}

// Header limits: past them the rest of a header is read as body, so a
// message made only of header lines costs linear time and no memory.
const (
	maxHeaderFields = 4096
	maxHeaderBytes  = 1 << 20
)

type mailParser struct {
	ctx  context.Context
	b    *Budget
	emit func(Member) error
}

func unpackMail(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	p := &mailParser{ctx: ctx, b: b, emit: emit}
	for _, m := range splitMbox(data) {
		if err := b.Check(ctx); err != nil {
			return err
		}
		h, body := parseHeader(data[m[0]:m[1]])
		if err := p.entity(h, data[m[0]+body:m[1]], int64(m[0]+body), 0); err != nil {
			return err
		}
	}
	return nil
}

// splitMbox returns the [start, end) ranges of the messages in data: one
// message, or, when data starts with an mbox "From " line, each message
// after such a line that follows an empty line.
func splitMbox(data []byte) [][2]int {
	if !bytes.HasPrefix(data, []byte("From ")) {
		return [][2]int{{0, len(data)}}
	}
	var msgs [][2]int
	start := -1
	prevEmpty := true
	for off := 0; off < len(data); {
		line, next := nextLine(data, off)
		if prevEmpty && bytes.HasPrefix(line, []byte("From ")) {
			if start >= 0 {
				msgs = append(msgs, [2]int{start, off})
			}
			start = next
		}
		prevEmpty = len(bytes.TrimRight(line, "\r")) == 0
		off = next
	}
	if start >= 0 && start <= len(data) {
		msgs = append(msgs, [2]int{start, len(data)})
	}
	return msgs
}

// header is a message or part header, field names in lower case, in order.
type header []headerField

type headerField struct{ name, value string }

// get returns the value of the first field called name (lower case).
func (h header) get(name string) string {
	for _, f := range h {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// parseHeader reads the header at the start of data and returns it with
// the offset of the body. Continuation lines are joined to their field.
func parseHeader(data []byte) (h header, body int) {
	var folded [][]byte
	defer func() { unfold(h, folded) }()
	off := 0
	for off < len(data) && len(h) < maxHeaderFields && off < maxHeaderBytes {
		line, next := nextLine(data, off)
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return h, next
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			// Folded lines are joined once the field is complete, so a
			// field of many lines costs linear time.
			folded = append(folded, bytes.TrimSpace(line))
			off = next
			continue
		}
		unfold(h, folded)
		folded = folded[:0]
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			// Not a header line: the body starts here (mailers that
			// forget the empty line, or a bare body).
			return h, off
		}
		h = append(h, headerField{
			name:  strings.ToLower(string(name)),
			value: string(bytes.TrimSpace(value)),
		})
		off = next
	}
	return h, off
}

// unfold appends the folded continuation lines to the last field of h.
func unfold(h header, folded [][]byte) {
	if len(h) == 0 || len(folded) == 0 {
		return
	}
	last := &h[len(h)-1]
	var b strings.Builder
	b.WriteString(last.value)
	for _, l := range folded {
		b.WriteByte(' ')
		b.Write(l)
	}
	last.value = b.String()
}

// mediaType parses a Content-Type or Content-Disposition value, falling
// back to a lenient split on ';' and '=' when mime.ParseMediaType rejects
// it (malware mail often has duplicate or malformed parameters).
func mediaType(v string) (string, map[string]string) {
	if v == "" {
		return "", nil
	}
	if t, params, err := mime.ParseMediaType(v); err == nil {
		return t, params
	}
	parts := strings.Split(v, ";")
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return strings.ToLower(strings.TrimSpace(parts[0])), params
}

// partName returns a part's file name from its Content-Disposition or
// Content-Type, decoding RFC 2047 words where it can.
func partName(h header, ctParams map[string]string) string {
	_, dp := mediaType(h.get("content-disposition"))
	name := dp["filename"]
	if name == "" {
		name = ctParams["name"]
	}
	if strings.Contains(name, "=?") {
		if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = d
		}
	}
	return name
}

// entity handles one message or part: body is its bytes after the header,
// at off in the container.
func (p *mailParser) entity(h header, body []byte, off int64, depth int) error {
	if depth > p.b.Limits().MaxRecursion {
		return p.b.Fail(LimitRecursion, int64(p.b.Limits().MaxRecursion))
	}
	if err := p.b.Check(p.ctx); err != nil {
		return err
	}
	ct, params := mediaType(h.get("content-type"))
	switch {
	case strings.HasPrefix(ct, "multipart/") && params["boundary"] != "":
		parts, pre, closed := splitMultipart(body, params["boundary"])
		if len(parts) > 0 {
			if err := p.inline(body[:pre]); err != nil {
				return err
			}
			for _, r := range parts {
				part := body[r[0]:r[1]]
				ph, pb := parseHeader(part)
				if err := p.entity(ph, part[pb:], off+int64(r[0]+pb), depth+1); err != nil {
					return err
				}
			}
			if !closed {
				return Corrupt("mail", off+int64(len(body)), "multipart ends without its closing boundary %q", params["boundary"])
			}
			return nil
		}
	case ct == "message/rfc822" || ct == "message/news":
		if cte := transferEncoding(h); cte == "" || cte == "7bit" || cte == "8bit" || cte == "binary" {
			mh, mb := parseHeader(body)
			return p.entity(mh, body[mb:], off+int64(mb), depth+1)
		}
	}
	return p.leaf(h, ct, params, body, off)
}

func transferEncoding(h header) string {
	return strings.ToLower(strings.TrimSpace(h.get("content-transfer-encoding")))
}

// leaf emits one part's decoded content, then whatever inline encoded
// files its text holds.
func (p *mailParser) leaf(h header, ct string, params map[string]string, body []byte, off int64) error {
	name := partName(h, params)
	var t filetype.Type
	if ct == "text/html" {
		t = filetype.HTML
	}
	var data []byte
	switch cte := transferEncoding(h); cte {
	case "base64":
		data = decodeBase64(body)
	case "quoted-printable":
		data = decodeQuotedPrintable(body)
	case "x-uuencode", "uuencode", "x-uue", "uue":
		found := false
		err := findUU(body, p.b.Limits().MaxFileSize, func(blk uuBlock) error {
			found = true
			n := name
			if blk.name != "" {
				n = blk.name
			}
			return emitDecoded(p.ctx, p.b, p.emit, n, blk.data, -1, 0)
		})
		if found || err != nil {
			return err
		}
	}
	if data == nil {
		got, err := p.b.Stored(body)
		if got != nil {
			if eerr := p.emit(Member{Name: name, Data: got, Type: t, Offset: off}); eerr != nil {
				return eerr
			}
		}
		if err != nil {
			return err
		}
		data = body
	} else if err := emitDecoded(p.ctx, p.b, p.emit, name, data, int64(len(body)), t); err != nil {
		return err
	}
	if ct == "" || strings.HasPrefix(ct, "text/") {
		return p.inline(data)
	}
	return nil
}

// inline emits the uuencoded, yEnc and BinHex files written into text.
func (p *mailParser) inline(text []byte) error {
	if bytes.Contains(text, []byte("begin ")) {
		err := findUU(text, p.b.Limits().MaxFileSize, func(blk uuBlock) error {
			return emitDecoded(p.ctx, p.b, p.emit, blk.name, blk.data, -1, 0)
		})
		if err != nil {
			return err
		}
	}
	if bytes.Contains(text, []byte("=ybegin ")) {
		err := findYEnc(text, func(blk yEncBlock) error {
			return emitDecoded(p.ctx, p.b, p.emit, blk.name, blk.data, -1, 0)
		})
		if err != nil {
			return err
		}
	}
	if i := bytes.Index(text, binhexBanner); i >= 0 {
		// A damaged inline BinHex block is not a damaged message.
		if err := unbinhex(p.ctx, text[i:], p.b, p.emit); err != nil {
			if _, ok := err.(*FormatError); !ok {
				return err
			}
		}
	}
	return nil
}

// splitMultipart returns the [start, end) ranges of the parts of a
// multipart body delimited by "--boundary" lines, and the end of the
// preamble. A part runs to the line break before the next delimiter; the
// last one, when the closing "--boundary--" is missing (closed false), to
// the end.
func splitMultipart(body []byte, boundary string) (parts [][2]int, pre int, closed bool) {
	delim := []byte("--" + boundary)
	start := -1
	for off := 0; off < len(body); {
		i := bytes.Index(body[off:], delim)
		if i < 0 {
			break
		}
		i += off
		if i > 0 && body[i-1] != '\n' {
			off = i + len(delim)
			continue
		}
		end := i
		if end > 0 && body[end-1] == '\n' {
			end--
			if end > 0 && body[end-1] == '\r' {
				end--
			}
		}
		if start >= 0 {
			parts = append(parts, [2]int{start, max(start, end)})
		} else {
			pre = end
		}
		line, next := nextLine(body, i)
		if len(line) >= len(delim) && bytes.HasPrefix(line[len(delim):], []byte("--")) {
			return parts, pre, true
		}
		start = next
		off = next
	}
	if start >= 0 && start < len(body) {
		parts = append(parts, [2]int{start, len(body)})
	}
	return parts, pre, false
}
