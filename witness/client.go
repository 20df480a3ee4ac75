package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/glassav/glassav/translog"
	"golang.org/x/mod/sumdb/tlog"
)

// A Client asks witnesses to cosign a log's checkpoints.
type Client struct {
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// A ConflictError is a 409 reply: the witness's last cosigned size is not
// the old size the request claimed.
type ConflictError struct{ Size int64 }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: conflict: the witness last cosigned size %d", e.Size)
}

// AddCheckpoint posts one add-checkpoint request to the witness at base
// (its URL without /add-checkpoint) and returns the cosignature lines.
func (c *Client) AddCheckpoint(ctx context.Context, base string, oldSize int64, proof tlog.TreeProof, msg []byte) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	url := strings.TrimRight(base, "/") + "/add-checkpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(FormatRequest(oldSize, proof, msg)))
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", base, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if len(body) == 0 || !bytes.HasPrefix(body, []byte("— ")) || body[len(body)-1] != '\n' {
			return nil, fmt.Errorf("witness %s: malformed cosignature reply %q", base, body)
		}
		return body, nil
	case http.StatusConflict:
		s := strings.TrimSpace(string(body))
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("witness %s: 409 Conflict with malformed size %q", base, s)
		}
		return nil, &ConflictError{Size: n}
	}
	return nil, &Error{Status: resp.StatusCode, Msg: fmt.Sprintf("%s: %s", base, strings.TrimSpace(string(body)))}
}

// Cosign asks the witness at base to cosign the log's current checkpoint
// and returns the cosignature lines (add them with
// l.AddSignatureLines). It learns the witness's last cosigned size from a
// 409 reply and retries once with the matching consistency proof.
func (c *Client) Cosign(ctx context.Context, base string, l *translog.Log) ([]byte, error) {
	msg, err := l.Checkpoint()
	if err != nil {
		return nil, err
	}
	_, tree, _, err := translog.ParseUnverified(msg)
	if err != nil {
		return nil, err
	}
	old := tree.N
	for attempt := 0; ; attempt++ {
		var proof tlog.TreeProof
		if old > 0 {
			if proof, err = l.ConsistencyProof(old, tree.N); err != nil {
				return nil, err
			}
		}
		sigs, err := c.AddCheckpoint(ctx, base, old, proof, msg)
		var ce *ConflictError
		if !errors.As(err, &ce) || attempt > 0 {
			return sigs, err
		}
		if ce.Size > tree.N {
			return nil, fmt.Errorf("witness %s has cosigned a tree of size %d, larger than this log's %d: the log was rolled back or forked", base, ce.Size, tree.N)
		}
		old = ce.Size
	}
}
