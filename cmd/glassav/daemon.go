package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/glassav/glassav/clamd"
)

// daemonConfig holds the daemon command's flags; everything else comes from
// the clamd.conf.
type daemonConfig struct {
	configFile string
	databases  []string
	foreground bool
	httpAddr   string
	tlsCert    string
	tlsKey     string
	tokenFile  string
	allow      []string
	tcpAllow   []string
	cache      int
	help       bool
}

func (c *daemonConfig) options() options {
	return options{
		{long: "help", short: 'h', flag: &c.help, help: "show this help"},
		{long: "config-file", short: 'c', arg: "FILE", set: stringVar(&c.configFile), help: "read clamd.conf FILE (default " + defaultDaemonConfig + " when present)"},
		{long: "database", short: 'd', arg: "FILE|DIR", set: listVar(&c.databases), help: "load signatures from FILE or DIR instead of DatabaseDirectory (repeatable)"},
		{long: "foreground", short: 'F', flag: &c.foreground, help: "accepted for clamd compatibility: glassav always stays in the foreground"},
		{long: "http", arg: "ADDR", set: stringVar(&c.httpAddr), help: "serve the HTTP API on ADDR (host:port)"},
		{long: "tls-cert", arg: "FILE", set: stringVar(&c.tlsCert), help: "serve the HTTP API over TLS with this certificate (PEM)"},
		{long: "tls-key", arg: "FILE", set: stringVar(&c.tlsKey), help: "the certificate's private key (PEM)"},
		{long: "http-token-file", arg: "FILE", set: stringVar(&c.tokenFile), help: "require 'Authorization: Bearer <token>' with the token in FILE"},
		{long: "http-allow", arg: "CIDR", set: listVar(&c.allow), help: "serve HTTP clients from CIDR only (repeatable)"},
		{long: "tcp-allow", arg: "CIDR", set: listVar(&c.tcpAllow), help: "serve clamd TCP clients from CIDR only (repeatable; also TCPAllow in the config file)"},
		{long: "cache", arg: "N", set: countVar(&c.cache, 1<<24), help: "remember N stream verdicts by SHA-256 and rule generation (default 4096; 0: off)"},
	}
}

const defaultDaemonConfig = "/etc/glassav/clamd.conf"

const daemonUsage = `Usage: glassav daemon [options]

Serves scans over the clamd protocol (unix socket and/or TCP, as the
clamd.conf says) so that clamdscan, clamonacc, pyclamd and other clamd
clients work unchanged, and optionally over an HTTP API.
Signals: SIGUSR2 reloads the databases, SIGHUP reopens the log file,
SIGTERM and SIGINT stop the daemon.

Options:
`

func runDaemon(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := daemonConfig{cache: 4096}
	opts := c.options()
	if rest, err := opts.parse(args); err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", rest[0])
		}
		fmt.Fprintf(stderr, "glassav daemon: %v\nRun 'glassav daemon --help' for the options.\n", err)
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, daemonUsage+opts.usage())
		return 0
	}
	if err := daemon(ctx, &c, stderr); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	return 0
}

func daemon(ctx context.Context, c *daemonConfig, stderr io.Writer) error {
	cfg := clamd.DefaultConfig()
	name := c.configFile
	if name == "" {
		if _, err := os.Stat(defaultDaemonConfig); err == nil {
			name = defaultDaemonConfig
		}
	}
	if name != "" {
		var err error
		if cfg, err = clamd.ReadConfigFile(name); err != nil {
			return err
		}
	}
	httpOpt, err := c.httpOptions()
	if err != nil {
		return err
	}
	for _, a := range c.tcpAllow {
		p, err := clamd.ParsePrefix(a)
		if err != nil {
			return fmt.Errorf("--tcp-allow: %w", err)
		}
		cfg.TCPAllow = append(cfg.TCPAllow, p)
	}

	lw := &logWriter{path: cfg.LogFile, stderr: stderr, stamp: cfg.LogTime}
	if err := lw.open(); err != nil {
		return err
	}
	defer lw.close()
	logger := log.New(lw, "", 0)
	logger.Printf("+++ Started at %s", time.Now().Format("Mon Jan _2 15:04:05 2006"))
	logger.Printf("glassav daemon %s", version)
	if len(cfg.Ignored) > 0 {
		logger.Printf("WARNING: options without effect in glassav: %s", strings.Join(cfg.Ignored, ", "))
	}
	if !cfg.Foreground && !c.foreground {
		logger.Printf("glassav does not fork into the background: staying in the foreground")
	}

	// Sockets first: clients that connect while the databases load wait
	// in the listen queue instead of failing.
	listeners, err := clamd.SystemdListeners()
	if err != nil {
		return err
	}
	if len(listeners) > 0 {
		logger.Printf("Received %d file descriptor(s) from systemd.", len(listeners))
	} else if listeners, err = clamd.Listen(cfg); err != nil {
		return err
	}
	if len(listeners) == 0 && c.httpAddr == "" {
		return errors.New("no socket to listen on: set LocalSocket or TCPSocket in the configuration, or --http")
	}
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, l := range listeners {
		logger.Printf("Listening on %s %s", l.Addr().Network(), l.Addr())
	}
	paths := c.databases
	if len(paths) == 0 && cfg.DatabaseDirectory != "" {
		paths = []string{cfg.DatabaseDirectory}
	}
	if len(paths) > 0 {
		logger.Printf("Reading databases from %s", strings.Join(paths, " "))
	} else {
		logger.Printf("Reading the default databases")
	}
	db, err := clamd.NewDatabase(ctx, clamd.EngineLoader(paths, cfg.DetectPUA))
	if err != nil {
		return fmt.Errorf("loading databases: %w", err)
	}
	logger.Printf("Loaded %d signatures.", db.Current().Rules.Signatures())
	db.OnReload = func(g *clamd.Generation, err error) {
		if err != nil {
			logger.Printf("Database reload failed, keeping the previous instance: %v", err)
			return
		}
		logger.Printf("Database correctly reloaded (%d signatures, generation %d)", g.Rules.Signatures(), g.Number)
	}

	metrics := clamd.NewMetrics(db)
	if dir := cfg.DatabaseDirectory; filepath.Base(filepath.Clean(dir)) == "current" {
		// A database installed by glassav update: report its freshness.
		metrics.WatchUpdates(filepath.Dir(filepath.Clean(dir)))
	}
	srv := clamd.NewServer(cfg, db, clamd.Options{Version: version, Log: logger, Metrics: metrics, CacheEntries: c.cache})

	var hs *http.Server
	var hl net.Listener
	if c.httpAddr != "" {
		if hl, err = net.Listen("tcp", c.httpAddr); err != nil {
			return fmt.Errorf("--http: %w", err)
		}
		hs = &http.Server{
			Handler:           srv.HTTPHandler(httpOpt),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       cfg.ReadTimeout,
			ErrorLog:          logger,
		}
		if c.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
			if err != nil {
				return fmt.Errorf("--tls-cert/--tls-key: %w", err)
			}
			hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			hl = tls.NewListener(hl, hs.TLSConfig)
		}
		logger.Printf("HTTP API on %s", hl.Addr())
	}

	if cfg.User != "" {
		if err := dropPrivileges(cfg.User); err != nil {
			return fmt.Errorf("dropping privileges to user %s: %w", cfg.User, err)
		}
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			logger.Printf("WARNING: PidFile: %v", err)
		}
		defer os.Remove(cfg.PidFile)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	serveErr := make(chan error, len(listeners)+1)
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, clamd.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	if hs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hs.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	if cfg.SelfCheck > 0 && len(paths) > 0 {
		go db.Watch(ctx, cfg.SelfCheck, func() string { return clamd.Fingerprint(paths) })
	}
	stopSignals := handleSignals(ctx, func() {
		logger.Printf("Reading databases (SIGUSR2)")
		db.ReloadAsync(ctx)
	}, func() {
		if err := lw.reopen(); err != nil {
			logger.Printf("reopening log: %v", err)
		}
		logger.Printf("SIGHUP caught: re-opening log file.")
	})
	defer stopSignals()

	var runErr error
	select {
	case <-ctx.Done():
		logger.Printf("Signal received, exiting")
	case <-srv.ShutdownRequested():
	case runErr = <-serveErr:
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if hs != nil {
		hs.Shutdown(cctx)
	}
	if err := srv.Close(cctx); err != nil {
		logger.Printf("closing: %v", err)
	}
	wg.Wait()
	if cfg.LocalSocket != "" {
		os.Remove(cfg.LocalSocket)
	}
	logger.Printf("--- Stopped at %s", time.Now().Format("Mon Jan _2 15:04:05 2006"))
	return runErr
}

func (c *daemonConfig) httpOptions() (clamd.HTTPOptions, error) {
	var o clamd.HTTPOptions
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return o, errors.New("--tls-cert and --tls-key go together")
	}
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return o, fmt.Errorf("--http-token-file: %w", err)
		}
		o.Token = strings.TrimSpace(string(b))
		if o.Token == "" {
			return o, errors.New("--http-token-file: empty token")
		}
	}
	for _, a := range c.allow {
		p, err := clamd.ParsePrefix(a)
		if err != nil {
			return o, fmt.Errorf("--http-allow: %w", err)
		}
		o.Allow = append(o.Allow, p)
	}
	return o, nil
}

// logWriter writes log lines to a file (reopened on SIGHUP, for log
// rotation) or to stderr, with clamd's "date -> " prefix when LogTime is
// set.
type logWriter struct {
	mu     sync.Mutex
	path   string
	stderr io.Writer
	stamp  bool
	f      *os.File
}

func (w *logWriter) open() error {
	if w.path == "" {
		return nil
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("LogFile: %w", err)
	}
	w.f = f
	return nil
}

func (w *logWriter) reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.path == "" {
		return nil
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f = f
	return nil
}

func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out io.Writer = w.stderr
	if w.f != nil {
		out = w.f
	}
	if w.stamp {
		p = append([]byte(time.Now().Format("Mon Jan _2 15:04:05 2006")+" -> "), p...)
	}
	if _, err := out.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
