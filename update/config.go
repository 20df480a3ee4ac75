package update

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/translog"
)

// Config says where updates come from, what to trust and where to install.
type Config struct {
	// Mirror is the base of the published static tree: an http(s) URL or
	// a directory.
	Mirror string
	// Policy holds the pinned publisher and witness keys, the threshold k
	// and the maximum checkpoint age.
	Policy translog.Policy
	// StateDir is the installation's state directory.
	StateDir string
	// HTTPClient fetches from the mirror; nil means one that honours
	// HTTP_PROXY and friends (http.ProxyFromEnvironment).
	HTTPClient *http.Client
	// Limits bound the bundles accepted; zero means bundle.DefaultLimits.
	Limits bundle.Limits
	// NoDelta downloads the full bundle even when a delta from the
	// installed version is published.
	NoDelta bool
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
	// Hook, when set, is called with each step's name before the step
	// runs (see the package documentation).
	Hook func(step string)
}

func (c *Config) limits() bundle.Limits {
	if c.Limits.MaxFiles == 0 {
		return bundle.DefaultLimits()
	}
	return c.Limits
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// NewHTTPClient returns the client updates use: proxy from the environment,
// or proxy when it is not empty, bounded connection and header waits, and
// requests abandoned when the mirror sends nothing for a minute.
func NewHTTPClient(proxy string) (*http.Client, error) {
	return newHTTPClient(proxy, idleTimeout)
}

func newHTTPClient(proxy string, idle time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("proxy %q: not a URL", proxy)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: &idleTransport{rt: tr, idle: idle}}, nil
}

// File is the content of an update configuration file: one "key value"
// setting per line, '#' comments. Keys: mirror, origin, publisher (a
// verifier key, repeatable), witness (repeatable), threshold, max-age (a
// Go duration, or none; unset means the command's default), state, proxy, delta (yes|no), schedule, jitter,
// warn-age.
type File struct {
	Mirror, Origin, State, Proxy string
	Publishers, Witnesses        []string
	Threshold                    int
	MaxAge                       time.Duration
	NoDelta                      bool
	Schedule, Jitter, WarnAge    time.Duration
}

// ReadFile parses the configuration file name.
func ReadFile(name string) (*File, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f := &File{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		val = strings.TrimSpace(val)
		if err := f.Set(key, val); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	return f, sc.Err()
}

// Set applies one setting.
func (f *File) Set(key, val string) error {
	var err error
	dur := func(p *time.Duration) {
		*p, err = time.ParseDuration(val)
	}
	switch key {
	case "mirror":
		f.Mirror = val
	case "origin":
		f.Origin = val
	case "state":
		f.State = val
	case "proxy":
		f.Proxy = val
	case "publisher":
		f.Publishers = append(f.Publishers, val)
	case "witness":
		f.Witnesses = append(f.Witnesses, val)
	case "threshold":
		f.Threshold, err = strconv.Atoi(val)
	case "max-age":
		if val == "none" {
			f.MaxAge = -1 // explicitly no limit
		} else {
			dur(&f.MaxAge)
		}
	case "schedule":
		dur(&f.Schedule)
	case "jitter":
		dur(&f.Jitter)
	case "warn-age":
		dur(&f.WarnAge)
	case "delta":
		switch val {
		case "yes", "true":
			f.NoDelta = false
		case "no", "false":
			f.NoDelta = true
		default:
			err = fmt.Errorf("not yes or no")
		}
	default:
		return fmt.Errorf("unknown setting %q", key)
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", key, val, err)
	}
	return nil
}
