package clamd

import (
	"bytes"
	"context"
	"os"

	"github.com/glassav/glassav/engine"
)

// fakeRules "detects" objects containing sigOne, without loading a
// database.
type fakeRules struct{}

func (fakeRules) Signatures() int { return 1 }

func (fakeRules) Scan(ctx context.Context, o *engine.Object, opt engine.ScanOptions) (*engine.Result, error) {
	r := &engine.Result{}
	if bytes.Contains(o.Data, []byte(sigOne)) {
		r.Matches = append(r.Matches, engine.Match{Name: nameOne, Kind: engine.KindBody})
	}
	return r, ctx.Err()
}

// Short names for the engine types in test doubles.
type (
	engineObject      = engine.Object
	engineScanOptions = engine.ScanOptions
	engineResult      = engine.Result
)

func openFile(name string) (*os.File, error) { return os.Open(name) }
