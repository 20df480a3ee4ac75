// Package witness is a transparency-log witness (c2sp.org/tlog-witness):
// an HTTP service that cosigns a log's checkpoint only after checking it
// is signed by the log's publisher and is consistent with the last
// checkpoint it cosigned for that log, which it keeps on disk. A witness
// never cosigns two trees that are not prefixes of one another, so a log
// showing a forked view to some clients cannot get both views cosigned by
// the same witness.
//
// The protocol: POST <witness>/add-checkpoint with body
//
//	old <size of the checkpoint the log believes the witness last cosigned>
//	<consistency proof from that size, one base64 hash per line>
//	<empty line>
//	<the signed checkpoint note>
//
// Replies: 200 with the cosignature line(s); 409 Conflict with the
// witness's size ("<n>\n", Content-Type text/x.tlog.size) when old is not
// what it has; 400 on a malformed request or an old size beyond the
// checkpoint (a rollback); 404 for a log it does not witness; 403 when the
// publisher signature does not verify; 422 when the consistency proof
// fails (a fork). Cosignatures are cosignature/v1 (translog.NewCosigner).
package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"filippo.io/torchwood"
	"github.com/glassav/glassav/internal/atomicfile"
	"github.com/glassav/glassav/translog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Request limits.
const (
	maxBody        = translog.MaxNoteSize + 4<<10
	maxProofHashes = 63
)

// A Server is a witness. Create it with NewServer.
type Server struct {
	dir    string
	signer note.Signer
	vkey   string
	logs   map[string][]note.Verifier // origin → publisher keys
	log    *slog.Logger
	unlock func()

	mu sync.Mutex // serialises add-checkpoint: read state, check, persist, sign
}

// NewServer returns a witness keeping its state in stateDir, cosigning
// with the signer key skey (made by translog.GenerateKey), for the logs
// given as origin → publisher vkeys. It locks stateDir until Close.
func NewServer(stateDir, skey string, logs map[string][]string, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	signer, err := translog.NewCosigner(skey)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	if len(logs) == 0 {
		return nil, errors.New("witness: no log to witness")
	}
	s := &Server{dir: stateDir, signer: signer, vkey: signer.Verifier().String(), logs: map[string][]note.Verifier{}, log: logger}
	for origin, keys := range logs {
		for _, k := range keys {
			v, err := note.NewVerifier(k)
			if err != nil {
				return nil, fmt.Errorf("witness: log %q: publisher key: %w", origin, err)
			}
			s.logs[origin] = append(s.logs[origin], v)
		}
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	if s.unlock, err = translog.LockFile(filepath.Join(stateDir, "lock")); err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	return s, nil
}

// Close releases the state directory.
func (s *Server) Close() error {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return nil
}

// VKey returns the witness's cosignature verifier key, the one clients pin.
func (s *Server) VKey() string { return s.vkey }

// An Error is a refused request with its HTTP status.
type Error struct {
	Status int
	Size   int64 // with 409: the size the witness has
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("witness: %s (HTTP %d)", e.Msg, e.Status) }

func (s *Server) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(s.dir, fmt.Sprintf("log-%x.checkpoint", h[:12]))
}

// Latest returns the last checkpoint note the witness cosigned for origin,
// or nil if none.
func (s *Server) Latest(origin string) ([]byte, error) {
	b, err := os.ReadFile(s.statePath(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// AddCheckpoint is the add-checkpoint operation: it checks msg and the
// consistency proof from oldSize against the stored checkpoint, stores
// msg, and returns the cosignature line(s) ending in "\n".
func (s *Server) AddCheckpoint(oldSize int64, proof tlog.TreeProof, msg []byte) ([]byte, error) {
	text, err := translog.NoteText(msg)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	// Any c2sp.org/tlog-checkpoint is witnessed, with or without glassav's
	// time line: the witness vouches for the tree, not the extensions.
	c, err := torchwood.ParseCheckpoint(string(text))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	origin, tree := c.Origin, c.Tree
	pubs, ok := s.logs[origin]
	if !ok {
		return nil, &Error{Status: http.StatusNotFound, Msg: fmt.Sprintf("unknown log %q", origin)}
	}
	if _, err := note.Open(msg, note.VerifierList(pubs...)); err != nil {
		s.log.Warn("refusing checkpoint: publisher signature", "origin", origin, "size", tree.N, "err", err)
		return nil, &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("checkpoint of %q size %d: publisher signature does not verify: %v", origin, tree.N, err)}
	}
	if oldSize > tree.N {
		s.log.Error("refusing to cosign a rollback", "origin", origin, "old", oldSize, "size", tree.N)
		return nil, &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("old size %d is beyond the checkpoint size %d (rollback)", oldSize, tree.N)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var last tlog.Tree
	prev, err := s.Latest(origin)
	if err != nil {
		return nil, &Error{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	if prev != nil {
		ptext, err := translog.NoteText(prev)
		if err == nil {
			var c torchwood.Checkpoint
			c, err = torchwood.ParseCheckpoint(string(ptext))
			last = c.Tree
		}
		if err != nil {
			return nil, &Error{Status: http.StatusInternalServerError, Msg: "stored checkpoint is corrupt: " + err.Error()}
		}
	}
	if oldSize != last.N {
		if tree.N < last.N {
			s.log.Error("refusing to cosign a rollback", "origin", origin, "size", tree.N, "cosigned", last.N)
		}
		return nil, &Error{Status: http.StatusConflict, Size: last.N,
			Msg: fmt.Sprintf("old size %d does not match the last cosigned size %d", oldSize, last.N)}
	}
	switch {
	case last.N == 0:
		if len(proof) != 0 {
			return nil, &Error{Status: http.StatusBadRequest, Msg: "consistency proof from size 0 must be empty"}
		}
	default:
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, last.N, last.Hash); err != nil {
			s.log.Error("refusing to cosign a fork: checkpoint is not consistent with the last one cosigned",
				"origin", origin, "size", tree.N, "hash", tree.Hash.String(), "cosigned_size", last.N, "cosigned_hash", last.Hash.String(), "err", err)
			return nil, &Error{Status: http.StatusUnprocessableEntity,
				Msg: fmt.Sprintf("fork: checkpoint size %d is not consistent with the cosigned checkpoint size %d: %v", tree.N, last.N, err)}
		}
	}
	// Persist before signing: a crash after this point at worst stores a
	// checkpoint whose cosignature was never sent, which is safe.
	if err := atomicfile.WriteFile(s.statePath(origin), msg, 0o600); err != nil {
		return nil, &Error{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, s.signer)
	if err != nil {
		return nil, &Error{Status: http.StatusInternalServerError, Msg: err.Error()}
	}
	s.log.Info("cosigned", "origin", origin, "size", tree.N, "hash", tree.Hash.String())
	return signed[len(text)+1:], nil
}

// ServeHTTP serves POST /add-checkpoint and, on GET /, the witness's vkey.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/add-checkpoint" && r.Method == http.MethodPost:
	case r.URL.Path == "/add-checkpoint":
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "glassav witness\nvkey %s\n", s.vkey)
		return
	default:
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	old, proof, msg, err := ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sigs, err := s.AddCheckpoint(old, proof, msg)
	if err != nil {
		var we *Error
		if !errors.As(err, &we) {
			we = &Error{Status: http.StatusInternalServerError, Msg: err.Error()}
		}
		if we.Status == http.StatusConflict {
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, "%d\n", we.Size)
			return
		}
		http.Error(w, we.Msg, we.Status)
		return
	}
	w.Header().Set("Content-Type", "text/x.tlog.signature")
	w.Write(sigs)
}

// FormatRequest returns an add-checkpoint request body.
func FormatRequest(oldSize int64, proof tlog.TreeProof, msg []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range proof {
		fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b.WriteByte('\n')
	b.Write(msg)
	return b.Bytes()
}

// ParseRequest parses an add-checkpoint request body.
func ParseRequest(body []byte) (oldSize int64, proof tlog.TreeProof, msg []byte, err error) {
	if len(body) > maxBody {
		return 0, nil, nil, errors.New("request too large")
	}
	rest := body
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, true
	}
	l, ok := next()
	v, ok2 := strings.CutPrefix(l, "old ")
	n, err := strconv.ParseInt(v, 10, 64)
	if !ok || !ok2 || err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
		return 0, nil, nil, errors.New("malformed \"old\" line")
	}
	for {
		l, ok := next()
		if !ok {
			return 0, nil, nil, errors.New("missing empty line before the checkpoint")
		}
		if l == "" {
			break
		}
		if len(proof) >= maxProofHashes {
			return 0, nil, nil, errors.New("consistency proof too long")
		}
		h, err := tlog.ParseHash(l)
		if err != nil || base64.StdEncoding.EncodeToString(h[:]) != l {
			return 0, nil, nil, errors.New("malformed consistency proof hash")
		}
		proof = append(proof, h)
	}
	if len(rest) == 0 {
		return 0, nil, nil, errors.New("missing checkpoint")
	}
	return n, proof, rest, nil
}
