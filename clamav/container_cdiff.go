package clamav

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Public key of the .cdiff signature (a 2047-bit RSA modulus and exponent
// published in ClamAV's cdiff code, PSS_NSTR/PSS_ESTR); a different key
// from the .info one.
const (
	cdiffModulus  = "14783905874077467090262228516557917570254599638376203532031989214105552847269687489771975792123442185817287694951949800908791527542017115600501303394778618535864845235700041590056318230102449612217458549016089313306591388590790796515819654102320725712300822356348724011232654837503241736177907784198700834440681124727060540035754699658105895050096576226753008596881698828185652424901921668758326578462003247906470982092298106789657211905488986281078346361469524484829559560886227198091995498440676639639830463593211386055065360288422394053998134458623712540683294034953818412458362198117811990006021989844180721010947"
	cdiffExponent = 100002053
)

const (
	cdiffMagic      = "ClamAV-Diff:"
	maxCDiffDSig    = 350 // ClamAV reads the signature from the last 350 bytes
	maxCDiffCommand = 1 << 20
)

// ApplyCDiff applies a signed incremental update to c, as freshclam does,
// and returns the updated container. name is the .cdiff file name, used in
// errors. cdiff is the whole file:
//
//	ClamAV-Diff:<version>:<script size>:<gzip-compressed script>:<dsig>
//
// The signature (versig2 with ClamAV's cdiff key) covers everything before
// the last ':'. The version must be c's plus one. The script edits the
// members line by line (OPEN, ADD, DEL, XCHG, MOVE, CLOSE, UNLINK); it also
// replaces the .info manifest with a newly signed one, so the result is
// authenticated exactly like a .cld: its .info signature must verify and
// match every member. The result is named like c with the .cld extension
// and is Official. c is not modified.
func ApplyCDiff(c *Container, name string, cdiff []byte) (*Container, error) {
	return applyCDiff(c, name, cdiff, DefaultLimits())
}

func applyCDiff(c *Container, name string, cdiff []byte, lim Limits) (*Container, error) {
	fail := func(err error) (*Container, error) {
		return nil, &ContainerError{File: name, Err: err}
	}
	if !c.Official {
		return fail(errors.New("updates apply only to official containers"))
	}
	version, script, err := openCDiff(cdiff, lim)
	if err != nil {
		return fail(err)
	}
	if version != c.Header.Version+1 {
		return fail(fmt.Errorf("update to version %d does not apply to version %d", version, c.Header.Version))
	}
	files, err := runCDiff(c.Files, script, lim)
	if err != nil {
		return fail(err)
	}
	out := strings.TrimSuffix(c.Name, path.Ext(c.Name)) + ".cld"
	info, infoName, err := findInfo(files)
	if err != nil {
		return nil, &ContainerError{File: out, Member: infoName, Err: err}
	}
	if err := info.verify(); err != nil {
		return nil, &ContainerError{File: out, Member: infoName, Err: fmt.Errorf("%w: %v", ErrBadSignature, err)}
	}
	if info.header.Version != version {
		return nil, &ContainerError{File: out, Member: infoName, Err: fmt.Errorf("manifest is for version %d, update for %d", info.header.Version, version)}
	}
	if err := checkManifest(info, infoName, files); err != nil {
		return nil, &ContainerError{File: out, Member: err.member, Err: err.err}
	}
	return &Container{Name: out, Header: info.header, Official: true, Files: files}, nil
}

// openCDiff verifies a .cdiff's signature and returns its version and
// decompressed script.
func openCDiff(cdiff []byte, lim Limits) (version int, script []byte, err error) {
	if !bytes.HasPrefix(cdiff, []byte(cdiffMagic)) {
		return 0, nil, errors.New("not a cdiff (no ClamAV-Diff: magic)")
	}
	i := bytes.LastIndexByte(cdiff, ':')
	dsig := string(cdiff[i+1:])
	if len(dsig) == 0 || len(dsig) > maxCDiffDSig {
		return 0, nil, errors.New("no digital signature")
	}
	signed := cdiff[:i]
	key := parseRSAKey(cdiffModulus, cdiffExponent)
	if err := verifyPSS(key, sha256.Sum256(signed), dsig); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// Header: magic, version, script size, each ':'-terminated.
	rest := signed[len(cdiffMagic):]
	f := bytes.SplitN(rest, []byte(":"), 3)
	if len(f) != 3 || !cvdDigits(string(f[0])) || !cvdDigits(string(f[1])) {
		return 0, nil, errors.New("malformed cdiff header")
	}
	version, err = strconv.Atoi(string(f[0]))
	if err != nil {
		return 0, nil, errors.New("malformed cdiff version")
	}
	zr, err := gzip.NewReader(bytes.NewReader(f[2]))
	if err != nil {
		return 0, nil, fmt.Errorf("cdiff script: %w", err)
	}
	zr.Multistream(false)
	script, err = io.ReadAll(io.LimitReader(zr, lim.MaxTotalSize+1))
	if err != nil {
		return 0, nil, fmt.Errorf("cdiff script: %w", err)
	}
	if int64(len(script)) > lim.MaxTotalSize {
		return 0, nil, fmt.Errorf("cdiff script larger than %d bytes: %w", lim.MaxTotalSize, ErrLimit)
	}
	return version, script, nil
}

// cdiffEdit is a pending DEL or XCHG: the line number, the text the line
// must start with, and for XCHG the replacement.
type cdiffEdit struct {
	line   int
	prefix string
	repl   string
}

// cdiffRun is the state of a running script.
type cdiffRun struct {
	files map[string][]byte
	order []string // member order: existing members, then new ones
	lim   Limits

	open  string // the OPEN member, "" if none
	adds  []string
	dels  []cdiffEdit // sorted by line
	xchgs []cdiffEdit // in script order
}

// runCDiff runs script over a copy of files and returns the new members.
func runCDiff(files []ContainerFile, script []byte, lim Limits) ([]ContainerFile, error) {
	r := &cdiffRun{files: make(map[string][]byte, len(files)), lim: lim}
	for _, f := range files {
		r.files[f.Name] = f.Data
		r.order = append(r.order, f.Name)
	}
	for n, line := range cdiffLines(script) {
		if len(line) > maxCDiffCommand {
			return nil, fmt.Errorf("cdiff line %d: longer than %d bytes", n+1, maxCDiffCommand)
		}
		s := string(line)
		if strings.HasPrefix(s, "#") {
			continue // buffer-size hints from old cdiff writers
		}
		if err := r.exec(s); err != nil {
			return nil, fmt.Errorf("cdiff line %d: %w", n+1, err)
		}
	}
	if r.open != "" {
		return nil, fmt.Errorf("cdiff script ends with %s open", r.open)
	}
	var out []ContainerFile
	var total int64
	for _, name := range r.order {
		data, ok := r.files[name]
		if !ok {
			continue // unlinked
		}
		total += int64(len(data))
		out = append(out, ContainerFile{Name: name, Data: data})
	}
	if total > lim.MaxTotalSize || len(out) > lim.MaxMembers {
		return nil, fmt.Errorf("updated members exceed limits: %w", ErrLimit)
	}
	return out, nil
}

// exec runs one command.
func (r *cdiffRun) exec(s string) error {
	cmd, data, _ := strings.Cut(s, " ")
	if cmd == s {
		cmd, data, _ = strings.Cut(s, "\t")
	}
	data = strings.TrimSpace(data)
	switch cmd {
	case "OPEN":
		if r.open != "" {
			return fmt.Errorf("OPEN %s while %s is open", data, r.open)
		}
		if err := checkMemberName(data); err != nil {
			return fmt.Errorf("OPEN: %w", err)
		}
		r.open = data
	case "ADD":
		if r.open == "" {
			return errors.New("ADD with no open member")
		}
		r.adds = append(r.adds, data)
	case "DEL":
		if r.open == "" {
			return errors.New("DEL with no open member")
		}
		f := strings.Fields(data)
		if len(f) < 2 {
			return errors.New("DEL needs a line number and text")
		}
		n, err := cdiffLineNo(f[0])
		if err != nil {
			return err
		}
		// Keep DELs sorted by line; equal lines stay in script order.
		i := len(r.dels)
		for i > 0 && r.dels[i-1].line > n {
			i--
		}
		r.dels = slices.Insert(r.dels, i, cdiffEdit{line: n, prefix: f[1]})
	case "XCHG":
		if r.open == "" {
			return errors.New("XCHG with no open member")
		}
		no, rest, ok1 := cdiffCutSpace(data)
		old, repl, ok2 := cdiffCutSpace(rest)
		if !ok1 || !ok2 {
			return errors.New("XCHG needs a line number, old and new text")
		}
		n, err := cdiffLineNo(no)
		if err != nil {
			return err
		}
		r.xchgs = append(r.xchgs, cdiffEdit{line: n, prefix: old, repl: repl})
	case "CLOSE":
		return r.close()
	case "UNLINK":
		if r.open == "" {
			return errors.New("UNLINK with no open member")
		}
		if _, ok := r.files[r.open]; !ok {
			return fmt.Errorf("UNLINK %s: no such member", r.open)
		}
		delete(r.files, r.open)
	case "MOVE":
		return r.move(data)
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

// cdiffCutSpace splits s at its first space or tab.
func cdiffCutSpace(s string) (before, after string, ok bool) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

func cdiffLineNo(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || !cvdDigits(s) {
		return 0, fmt.Errorf("bad line number %q", s)
	}
	return n, nil
}

// close applies the pending edits to the open member: DEL and XCHG lines
// first (each line must start with the expected text), then ADDs at the
// end. A member that does not exist is created by ADD.
func (r *cdiffRun) close() error {
	if r.open == "" {
		return errors.New("CLOSE with no open member")
	}
	name := r.open
	data, exists := r.files[name]
	if len(r.dels) > 0 || len(r.xchgs) > 0 {
		if !exists {
			return fmt.Errorf("CLOSE %s: no such member", name)
		}
		dels, xchgs := r.dels, r.xchgs
		var b bytes.Buffer
		b.Grow(len(data))
		for i, line := range cdiffLines(data) {
			n := i + 1
			switch {
			case len(dels) > 0 && dels[0].line == n:
				if !bytes.HasPrefix(line, []byte(dels[0].prefix)) {
					return fmt.Errorf("DEL %s line %d: line does not match", name, n)
				}
				dels = dels[1:]
			case len(xchgs) > 0 && xchgs[0].line == n:
				if !bytes.HasPrefix(line, []byte(xchgs[0].prefix)) {
					return fmt.Errorf("XCHG %s line %d: line does not match", name, n)
				}
				b.WriteString(xchgs[0].repl)
				b.WriteByte('\n')
				xchgs = xchgs[1:]
			default:
				b.Write(line)
				b.WriteByte('\n')
			}
		}
		if len(dels) > 0 || len(xchgs) > 0 {
			return fmt.Errorf("CLOSE %s: not every DEL or XCHG line was found", name)
		}
		data = b.Bytes()
	}
	if len(r.adds) > 0 {
		var n int64
		for _, a := range r.adds {
			n += int64(len(a)) + 1
		}
		if int64(len(data))+n > r.lim.MaxMemberSize {
			return fmt.Errorf("CLOSE %s: %w", name, ErrLimit)
		}
		data = slices.Clip(data)
		for _, a := range r.adds {
			data = append(data, a...)
			data = append(data, '\n')
		}
		exists = true
	}
	if exists {
		if _, ok := r.files[name]; !ok {
			r.order = append(r.order, name)
		}
		r.files[name] = data
	}
	r.open, r.adds, r.dels, r.xchgs = "", nil, nil, nil
	return nil
}

// move moves lines start..end of src to the end of dst:
// MOVE src dst startNo startText endNo endText.
func (r *cdiffRun) move(data string) error {
	if r.open != "" {
		return fmt.Errorf("MOVE while %s is open", r.open)
	}
	f := strings.Fields(data)
	if len(f) < 6 {
		return errors.New("MOVE needs src dst start-line start-text end-line end-text")
	}
	src, dst := f[0], f[1]
	start, err := cdiffLineNo(f[2])
	if err != nil {
		return err
	}
	end, err := cdiffLineNo(f[4])
	if err != nil {
		return err
	}
	sdata, ok1 := r.files[src]
	ddata, ok2 := r.files[dst]
	if !ok1 || !ok2 || src == dst {
		return fmt.Errorf("MOVE %s %s: no such member", src, dst)
	}
	const (
		before = iota
		moving
		done
	)
	state := before
	var keep bytes.Buffer
	moved := slices.Clip(ddata)
	for i, line := range cdiffLines(sdata) {
		n := i + 1
		switch {
		case state == before && n == start:
			if !bytes.HasPrefix(line, []byte(f[3])) {
				return fmt.Errorf("MOVE %s line %d: line does not match", src, n)
			}
			state = moving
			moved = append(append(moved, line...), '\n')
		case state == moving:
			moved = append(append(moved, line...), '\n')
			if n == end {
				if !bytes.HasPrefix(line, []byte(f[5])) {
					return fmt.Errorf("MOVE %s line %d: line does not match", src, n)
				}
				state = done
			}
		default:
			keep.Write(line)
			keep.WriteByte('\n')
		}
	}
	if state != done {
		return fmt.Errorf("MOVE %s %s: lines %d-%d not found", src, dst, start, end)
	}
	r.files[src] = keep.Bytes()
	r.files[dst] = moved
	return nil
}

// cdiffLines splits text into lines the way the cdiff code reads them: at
// LF, dropping a CR before it; a final line without LF counts, an empty
// remainder after the last LF does not.
func cdiffLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		lines = append(lines, bytes.TrimSuffix(line, []byte("\r")))
	}
	return lines
}
