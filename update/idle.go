package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// idleTimeout is how long a mirror may send nothing, before or inside a
// response, before the request is abandoned. Response sizes are bounded
// elsewhere; this bounds the wait, so that a stalled or malicious mirror
// cannot hold an update (and its state lock, and a scheduled loop) forever.
const idleTimeout = 60 * time.Second

var errIdle = errors.New("no data from the mirror")

// idleTransport cancels a request when its response makes no progress for
// idle: no headers, or no body byte, within that time.
type idleTransport struct {
	rt   http.RoundTripper
	idle time.Duration
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.idle, func() { cancel(fmt.Errorf("%w for %v", errIdle, t.idle)) })
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		if c := context.Cause(ctx); errors.Is(c, errIdle) {
			err = c
		}
		cancel(nil)
		return nil, err
	}
	timer.Reset(t.idle)
	resp.Body = &idleBody{rc: resp.Body, ctx: ctx, cancel: cancel, timer: timer, idle: t.idle}
	return resp, nil
}

type idleBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	idle   time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		if c := context.Cause(b.ctx); errors.Is(c, errIdle) {
			err = c
		}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	b.cancel(nil)
	return b.rc.Close()
}
