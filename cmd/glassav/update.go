package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/glassav/glassav/translog"
	"github.com/glassav/glassav/update"
)

// crashEnv names the update step at which the process kills itself with
// SIGKILL (the crash-safety test).
const crashEnv = "GLASSAV_UPDATE_CRASH_AT"

type updateConfig struct {
	configFile string
	file       update.File
	offline    string
	proof      string
	rollback   bool
	status     bool
	help       bool
}

func (c *updateConfig) options() options {
	set := func(key string) func(string) error {
		return func(v string) error {
			if strings.HasSuffix(key, "-key") {
				k, err := loadVKey(v)
				if err != nil {
					return err
				}
				v = k
				key = strings.TrimSuffix(key, "-key")
			}
			return c.file.Set(key, v)
		}
	}
	return options{
		{long: "help", short: 'h', flag: &c.help, help: "show this help"},
		{long: "config", arg: "FILE", set: stringVar(&c.configFile), help: "read settings from FILE (\"key value\" lines: mirror, origin, publisher, witness, threshold, max-age, state, proxy, delta, schedule, jitter, warn-age); flags override it"},
		{long: "mirror", arg: "URL|DIR", set: set("mirror"), help: "where the published tree is served"},
		{long: "origin", arg: "ORIGIN", set: set("origin"), help: "the log's origin line"},
		{long: "publisher-key", arg: "VKEY|FILE", set: set("publisher-key"), help: "a pinned publisher verifier key (repeatable)"},
		{long: "witness-key", arg: "VKEY|FILE", set: set("witness-key"), help: "a pinned witness verifier key (repeatable)"},
		{long: "threshold", arg: "K", set: set("threshold"), help: "witness cosignatures required"},
		{long: "max-age", arg: "DURATION", set: set("max-age"), help: "refuse checkpoints older than this (freeze attacks; default 168h, \"none\" for no limit)"},
		{long: "state", arg: "DIR", set: set("state"), help: "the installation's state directory (default " + defaultUpdateState + ")"},
		{long: "proxy", arg: "URL", set: set("proxy"), help: "HTTP proxy (default: HTTP_PROXY/HTTPS_PROXY from the environment)"},
		{long: "no-delta", flag: &c.file.NoDelta, help: "always download full bundles"},
		{long: "schedule", arg: "DURATION", set: set("schedule"), help: "keep running, updating every DURATION"},
		{long: "jitter", arg: "DURATION", set: set("jitter"), help: "add a random wait of up to DURATION to each scheduled update"},
		{long: "warn-age", arg: "DURATION", set: set("warn-age"), help: "warn when the last verified checkpoint is older than this (default 72h)"},
		{long: "offline", arg: "BUNDLE", set: stringVar(&c.offline), help: "install BUNDLE (a .tar) with its --proof, without network"},
		{long: "proof", arg: "FILE", set: stringVar(&c.proof), help: "the proof file of the --offline bundle"},
		{long: "rollback", flag: &c.rollback, help: "switch back to the previous installed version"},
		{long: "status", flag: &c.status, help: "print the installed versions and the database age"},
	}
}

const defaultUpdateState = "/var/lib/glassav"

const updateUsage = `Usage: glassav update [options]

Installs the newest signature release from a glassav transparency log: the
checkpoint must carry a pinned publisher's signature and K witness
cosignatures, be fresh, and extend the last checkpoint this installation
verified; the release must be in the log, and the bundle must match it and
compile. The databases are installed as STATE/versions/<v> and STATE/current
is switched to them (point the daemon's DatabaseDirectory at STATE).
Exit status: 0 installed or up to date, 1 refused or failed, 2 usage.

Options:
`

func runUpdate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var c updateConfig
	opts := c.options()
	rest, err := opts.parse(args)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err == nil && c.configFile != "" {
		// Settings from the file first, then the flags again over them.
		var f *update.File
		if f, err = update.ReadFile(c.configFile); err == nil {
			noDelta := c.file.NoDelta
			c.file = *f
			c.file.NoDelta = c.file.NoDelta || noDelta
			_, err = opts.parse(args)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav update: %v\nRun 'glassav update --help' for the options.\n", err)
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, updateUsage+opts.usage())
		return 0
	}
	f := &c.file
	if f.State == "" {
		f.State = defaultUpdateState
	}
	if f.WarnAge == 0 {
		f.WarnAge = 72 * time.Hour
	}
	logger := log.New(stderr, "", log.LstdFlags)
	switch {
	case c.status:
		return updateStatus(f, stdout)
	case c.rollback:
		from, to, err := update.Rollback(f.State)
		if err != nil {
			fmt.Fprintf(stderr, "glassav update: rollback: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "rolled back from version %d to version %d\n", from, to)
		return 0
	}
	cfg, err := updateSettings(f, logger)
	if err != nil {
		fmt.Fprintf(stderr, "glassav update: %v\n", err)
		return 2
	}
	if c.offline != "" || c.proof != "" {
		if c.offline == "" || c.proof == "" {
			fmt.Fprintln(stderr, "glassav update: --offline and --proof go together")
			return 2
		}
		res, err := update.Offline(ctx, cfg, c.offline, c.proof)
		return reportUpdate(res, err, f, stdout, stderr)
	}
	if f.Mirror == "" {
		fmt.Fprintln(stderr, "glassav update: no --mirror")
		return 2
	}
	if f.Schedule <= 0 {
		res, err := update.Update(ctx, cfg)
		return reportUpdate(res, err, f, stdout, stderr)
	}
	logger.Printf("updating every %v with up to %v of jitter", f.Schedule, f.Jitter)
	update.Schedule(ctx, f.Schedule, f.Jitter, func(ctx context.Context) {
		res, err := update.Update(ctx, cfg)
		reportUpdate(res, err, f, stdout, stderr)
	})
	return 0
}

// DefaultMaxAge is how old a checkpoint may be unless configured: without a
// limit a mirror could freeze an installation on old databases forever.
const DefaultMaxAge = 7 * 24 * time.Hour

// maxAge maps the max-age setting to the policy's: unset means the
// default, "none" (negative) means no limit.
func maxAge(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultMaxAge
	case d < 0:
		return 0
	}
	return d
}

// updateSettings turns the settings into an update.Config.
func updateSettings(f *update.File, logger *log.Logger) (*update.Config, error) {
	hc, err := update.NewHTTPClient(f.Proxy)
	if err != nil {
		return nil, err
	}
	// Keys in the configuration file may name .pub files, as flags may.
	for _, keys := range []*[]string{&f.Publishers, &f.Witnesses} {
		for i, k := range *keys {
			if (*keys)[i], err = loadVKey(k); err != nil {
				return nil, err
			}
		}
	}
	cfg := &update.Config{
		Mirror: f.Mirror,
		Policy: translog.Policy{
			Origin:     f.Origin,
			Publishers: f.Publishers,
			Witnesses:  f.Witnesses,
			Threshold:  f.Threshold,
			MaxAge:     maxAge(f.MaxAge),
		},
		StateDir:   f.State,
		HTTPClient: hc,
		NoDelta:    f.NoDelta,
		Logf:       logger.Printf,
	}
	if cfg.Policy.Origin == "" {
		cfg.Policy.Origin = defaultOrigin
	}
	if step := os.Getenv(crashEnv); step != "" {
		cfg.Hook = func(s string) {
			if s == step {
				// Die as abruptly as a power cut allows a process to:
				// no deferred functions, no flushing.
				p, _ := os.FindProcess(os.Getpid())
				p.Kill()
				select {}
			}
		}
	}
	return cfg, nil
}

func reportUpdate(res *update.Result, err error, f *update.File, stdout, stderr io.Writer) int {
	if err != nil {
		// The package's errors start with "update: ".
		fmt.Fprintf(stderr, "glassav %v\n", err)
		if errors.Is(err, translog.ErrFork) || errors.Is(err, translog.ErrRollback) {
			fmt.Fprintln(stderr, "glassav update: SECURITY ERROR: the log is not consistent with what this installation saw before; nothing was installed")
		}
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "glassav update: warning: %s\n", w)
	}
	switch {
	case res.UpToDate:
		fmt.Fprintf(stdout, "up to date: version %d (log size %d)\n", res.To, res.TreeSize)
	default:
		how := "full bundle"
		if res.Delta {
			how = "delta bundle"
		}
		fmt.Fprintf(stdout, "installed version %d (was %d) from the %s: %d signatures (log size %d)\n", res.To, res.From, how, res.Signatures, res.TreeSize)
	}
	if age, ok := update.DatabaseAge(f.State, time.Now()); ok && age > f.WarnAge {
		fmt.Fprintf(stderr, "glassav update: warning: the newest verified checkpoint is %v old (more than %v)\n", age.Round(time.Minute), f.WarnAge)
	}
	return 0
}

func updateStatus(f *update.File, stdout io.Writer) int {
	cur, prev, err := update.Installed(f.State)
	if err != nil {
		fmt.Fprintf(stdout, "error: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "current version %d\nprevious version %d\n", cur, prev)
	if age, ok := update.DatabaseAge(f.State, time.Now()); ok {
		fmt.Fprintf(stdout, "database age %v\n", age.Round(time.Second))
	}
	return 0
}
