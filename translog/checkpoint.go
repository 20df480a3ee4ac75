package translog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxNoteSize bounds a signed checkpoint note: a few lines of text and at
// most 100 signature lines (sumdb/note's own limit) fit easily.
const MaxNoteSize = 64 << 10

// A Checkpoint is a verified signed tree head of the log.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
	// Time is the publisher's "time" extension line: when it signed.
	Time time.Time
	// Publisher is the name of the trusted key whose signature was accepted.
	Publisher string
	// Witnesses are the names of the witnesses whose valid cosignatures
	// were counted, and Witnessed their cosignature timestamps (same order).
	Witnesses []string
	Witnessed []time.Time
	// Raw is the full signed note as received.
	Raw []byte
}

// FormatCheckpoint returns the checkpoint text (the note body) of tree:
// origin, size, base64 root hash, and the "time <unix seconds>" extension.
func FormatCheckpoint(origin string, tree tlog.Tree, t time.Time) []byte {
	c := torchwood.Checkpoint{Origin: origin, Tree: tree, Extension: fmt.Sprintf("time %d\n", t.Unix())}
	return []byte(c.String())
}

// ParseCheckpoint parses checkpoint text (the note body, no signatures).
// It requires exactly one extension line, "time <unix seconds>".
func ParseCheckpoint(text []byte) (origin string, tree tlog.Tree, t time.Time, err error) {
	if len(text) > MaxNoteSize {
		return "", tlog.Tree{}, time.Time{}, errors.New("translog: checkpoint too large")
	}
	c, err := torchwood.ParseCheckpoint(string(text))
	if err != nil {
		return "", tlog.Tree{}, time.Time{}, fmt.Errorf("translog: %w", err)
	}
	if c.Origin == "" || !validText(c.Origin) {
		return "", tlog.Tree{}, time.Time{}, errors.New("translog: malformed checkpoint origin")
	}
	secs, ok := strings.CutPrefix(c.Extension, "time ")
	secs, ok2 := strings.CutSuffix(secs, "\n")
	if !ok || !ok2 {
		return "", tlog.Tree{}, time.Time{}, errors.New("translog: checkpoint has no single \"time\" extension line")
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != secs || n > 1<<40 {
		return "", tlog.Tree{}, time.Time{}, errors.New("translog: malformed checkpoint time line")
	}
	return c.Origin, c.Tree, time.Unix(n, 0).UTC(), nil
}

// validText reports whether s is one line of printable text.
func validText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// splitNote splits a signed note into its text (ending in "\n") and its
// signature lines (each without its "\n"). It checks only the framing.
func splitNote(msg []byte) (text []byte, sigs []string, err error) {
	if len(msg) > MaxNoteSize {
		return nil, nil, errors.New("translog: signed note too large")
	}
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 || len(msg) == i+2 || msg[len(msg)-1] != '\n' {
		return nil, nil, errors.New("translog: malformed signed note")
	}
	text = msg[:i+1]
	for _, line := range strings.Split(string(msg[i+2:len(msg)-1]), "\n") {
		if !strings.HasPrefix(line, "— ") {
			return nil, nil, errors.New("translog: malformed signature line in signed note")
		}
		sigs = append(sigs, line)
	}
	return text, sigs, nil
}

// NoteText returns the text (checkpoint body) of a signed note, unverified.
func NoteText(msg []byte) ([]byte, error) {
	text, _, err := splitNote(msg)
	return text, err
}

// ParseUnverified returns the origin, tree and time of a signed checkpoint
// note without checking any signature: for logging and error messages,
// never for trust decisions.
func ParseUnverified(msg []byte) (origin string, tree tlog.Tree, t time.Time, err error) {
	text, _, err := splitNote(msg)
	if err != nil {
		return "", tlog.Tree{}, time.Time{}, err
	}
	return ParseCheckpoint(text)
}

// MergeSignatures returns the note a with the signature lines of b that a
// lacks appended (a newer cosignature by the same witness replacing the
// older). Both must sign the same text; signatures are not checked
// (the verifier checks every one it knows).
func MergeSignatures(a, b []byte) ([]byte, error) {
	ta, sa, err := splitNote(a)
	if err != nil {
		return nil, err
	}
	tb, sb, err := splitNote(b)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(ta, tb) {
		return nil, errors.New("translog: cosignatures are for a different checkpoint")
	}
	return appendSigLines(a, sa, sb)
}

// AppendSignatureLines appends signature lines (each "— name base64",
// with or without their "\n") to a signed note, skipping duplicates.
func AppendSignatureLines(msg []byte, lines []byte) ([]byte, error) {
	_, sa, err := splitNote(msg)
	if err != nil {
		return nil, err
	}
	var sb []string
	for _, l := range strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "— ") || strings.Count(l, " ") != 2 {
			return nil, fmt.Errorf("translog: malformed signature line %q", l)
		}
		sb = append(sb, l)
	}
	return appendSigLines(msg, sa, sb)
}

// appendSigLines returns msg with the signature lines add merged into
// its lines have. A cosignature by a key that already cosigned (same name
// and key hash) replaces the earlier one if it is newer: a witness asked
// again to cosign the same checkpoint returns a newer timestamp, and
// appending it would leave the stale line in force (a note verifier keeps
// the first line per key) while the note grew toward the 100-signature
// limit of sumdb/note.
func appendSigLines(msg []byte, have, add []string) ([]byte, error) {
	text := msg[:len(msg)-len(strings.Join(have, "\n"))-1]
	lines := slices.Clone(have)
	at := make(map[string]int, len(have))
	for i, s := range have {
		k, _ := signerOf(s)
		at[k] = i
	}
	for _, s := range add {
		k, t := signerOf(s)
		if i, ok := at[k]; ok {
			if _, old := signerOf(lines[i]); t > old {
				lines[i] = s
			}
			continue
		}
		at[k] = len(lines)
		lines = append(lines, s)
	}
	out := bytes.Clone(text)
	for _, s := range lines {
		out = append(out, s...)
		out = append(out, '\n')
	}
	if len(out) > MaxNoteSize {
		return nil, errors.New("translog: signed note too large after adding signatures")
	}
	return out, nil
}

// signerOf returns what identifies the key of a cosignature line (its
// name and the key hash that starts the signature) and its timestamp.
// Any other line (the publisher's signatures, lines that do not decode)
// is identified by its whole text, so that it is never replaced.
func signerOf(line string) (key string, ts uint64) {
	name, b64, ok := strings.Cut(strings.TrimPrefix(line, "— "), " ")
	sig, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(sig) != 4+8+ed25519.SignatureSize {
		return line, 0
	}
	return "cosignature " + name + " " + string(sig[:4]), binary.BigEndian.Uint64(sig[4:12])
}
