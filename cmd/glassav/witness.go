package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/glassav/glassav/witness"
)

const witnessUsage = `Usage: glassav witness --state DIR --key W.key --log ORIGIN=PUBKEY [options]

Runs a transparency-log witness (c2sp.org/tlog-witness): POST
/add-checkpoint cosigns a log's checkpoint only if its publisher signature
verifies and it is consistent with the last checkpoint this witness cosigned
for that log, which is kept in DIR across restarts. Forks and rollbacks are
refused and logged. GET / shows the witness's cosignature verifier key.

Options:
`

func runWitness(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var help bool
	var state, keyFile, listen string
	var logArgs []string
	listen = "127.0.0.1:8081"
	opts := options{
		{long: "help", short: 'h', flag: &help, help: "show this help"},
		{long: "state", arg: "DIR", set: stringVar(&state), help: "keep the last cosigned checkpoint of each log in DIR"},
		{long: "key", arg: "FILE", set: stringVar(&keyFile), help: "the witness's signer key (glassav keygen)"},
		{long: "listen", arg: "ADDR", set: stringVar(&listen), help: "serve HTTP on ADDR (default 127.0.0.1:8081; port 0 picks one)"},
		{long: "log", arg: "ORIGIN=PUBKEY", set: listVar(&logArgs), help: "witness the log ORIGIN signed by PUBKEY (a verifier key or a .pub file; repeatable, also to trust several keys)"},
	}
	rest, err := opts.parse(args)
	if err == nil && !help {
		switch {
		case len(rest) != 0:
			err = fmt.Errorf("unexpected argument %q", rest[0])
		case state == "" || keyFile == "" || len(logArgs) == 0:
			err = errors.New("--state, --key and --log are required")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav witness: %v\nRun 'glassav witness --help' for the options.\n", err)
		return 2
	}
	if help {
		fmt.Fprint(stdout, witnessUsage+opts.usage())
		return 0
	}
	if err := serveWitness(ctx, state, keyFile, listen, logArgs, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "glassav witness: %v\n", err)
		return 1
	}
	return 0
}

func serveWitness(ctx context.Context, state, keyFile, listen string, logArgs []string, stdout, stderr io.Writer) error {
	logs := map[string][]string{}
	for _, a := range logArgs {
		origin, k, ok := strings.Cut(a, "=")
		if !ok || origin == "" {
			return fmt.Errorf("--log %q: want ORIGIN=PUBKEY", a)
		}
		vkey, err := loadVKey(k)
		if err != nil {
			return fmt.Errorf("--log %s: %w", origin, err)
		}
		logs[origin] = append(logs[origin], vkey)
	}
	skey, err := loadSignerKey(keyFile)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	w, err := witness.NewServer(state, skey, logs, logger)
	if err != nil {
		return err
	}
	defer w.Close()
	return serveHTTP(ctx, listen, w, stdout, func(addr string) {
		fmt.Fprintf(stdout, "glassav witness: listening on http://%s\nglassav witness: cosignature key %s\n", addr, w.VKey())
	})
}

// serveHTTP serves h on addr until ctx is done, then shuts down
// gracefully. ready is called with the bound address once listening.
func serveHTTP(ctx context.Context, addr string, h http.Handler, stdout io.Writer, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	ready(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
