package clamd

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"
)

// Listen opens the sockets the configuration names: the unix socket
// (removing a stale one when FixStaleSocket is set, then applying
// LocalSocketMode and LocalSocketGroup) and one TCP listener per TCPAddr.
func Listen(cfg *Config) ([]net.Listener, error) {
	var ls []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	if cfg.LocalSocket != "" {
		l, err := listenUnix(cfg)
		if err != nil {
			return fail(err)
		}
		ls = append(ls, l)
	}
	if cfg.TCPSocket > 0 {
		addrs := cfg.TCPAddr
		if len(addrs) == 0 {
			addrs = []string{""}
		}
		for _, a := range addrs {
			l, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(cfg.TCPSocket)))
			if err != nil {
				return fail(fmt.Errorf("TCP: %w", err))
			}
			ls = append(ls, l)
		}
	}
	return ls, nil
}

func listenUnix(cfg *Config) (net.Listener, error) {
	p := cfg.LocalSocket
	if fi, err := os.Lstat(p); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("LOCAL: %s exists and is not a socket", p)
		}
		c, err := net.DialTimeout("unix", p, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("LOCAL: socket file %s is in use by another process", p)
		}
		if !cfg.FixStaleSocket {
			return nil, fmt.Errorf("LOCAL: socket file %s exists; FixStaleSocket is off", p)
		}
		if err := os.Remove(p); err != nil {
			return nil, fmt.Errorf("LOCAL: removing stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("LOCAL: %w", err)
	}
	if err := os.Chmod(p, cfg.LocalSocketMode); err != nil {
		l.Close()
		return nil, fmt.Errorf("LOCAL: LocalSocketMode: %w", err)
	}
	if cfg.LocalSocketGroup != "" {
		gid, err := lookupGroup(cfg.LocalSocketGroup)
		if err == nil {
			err = os.Chown(p, -1, gid)
		}
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("LOCAL: LocalSocketGroup %s: %w", cfg.LocalSocketGroup, err)
		}
	}
	return l, nil
}

func lookupGroup(name string) (int, error) {
	if id, err := strconv.Atoi(name); err == nil {
		return id, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}
