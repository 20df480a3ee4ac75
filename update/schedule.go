package update

import (
	"context"
	"math/rand/v2"
	"time"
)

// NextDelay returns the wait before the next scheduled update: every plus
// a uniformly random share of jitter, so that many installations do not
// all hit the mirror at the same moment.
func NextDelay(every, jitter time.Duration, r *rand.Rand) time.Duration {
	if jitter <= 0 {
		return every
	}
	return every + time.Duration(r.Int64N(int64(jitter)))
}

// Schedule calls once, then again after each NextDelay, until ctx ends.
// The first call waits a random share of jitter too.
func Schedule(ctx context.Context, every, jitter time.Duration, once func(context.Context)) {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x676c617373617600))
	delay := NextDelay(0, jitter, r)
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		once(ctx)
		delay = NextDelay(every, jitter, r)
	}
}
