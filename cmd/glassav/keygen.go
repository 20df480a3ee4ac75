package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/glassav/glassav/translog"
)

const keygenUsage = `Usage: glassav keygen [options] NAME

Generates an Ed25519 key pair in signed-note form for a publisher or a
witness: NAME.key (the signer key, mode 0600, keep it secret) and NAME.pub
(the verifier key clients pin). NAME is the key name that appears in
signature lines, for example a host name. A witness's cosignature key is the
same key in cosignature/v1 form; it is printed too, and glassav accepts
either form wherever a witness key is pinned.

Options:
`

func runKeygen(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var help bool
	dir := "."
	opts := options{
		{long: "help", short: 'h', flag: &help, help: "show this help"},
		{long: "output", short: 'o', arg: "DIR", set: stringVar(&dir), help: "write the key files into DIR (default: the current directory)"},
	}
	rest, err := opts.parse(args)
	if err == nil && !help && len(rest) != 1 {
		err = errors.New("need exactly one key NAME")
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav keygen: %v\nRun 'glassav keygen --help' for the options.\n", err)
		return 2
	}
	if help {
		fmt.Fprint(stdout, keygenUsage+opts.usage())
		return 0
	}
	name := rest[0]
	skey, vkey, err := translog.GenerateKey(name)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	base := filepath.Join(dir, filepath.Base(name))
	if err == nil {
		err = writeNew(base+".key", skey+"\n", 0o600)
	}
	if err == nil {
		err = writeNew(base+".pub", vkey+"\n", 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav keygen: %v\n", err)
		return 1
	}
	cv, _ := translog.CosignatureVKey(vkey)
	fmt.Fprintf(stdout, "signer key:   %s.key\nverifier key: %s\nas a witness: %s\n", base, vkey, cv)
	return 0
}

// writeNew creates name with data, refusing to replace an existing file
// (a key overwritten by mistake cannot be recovered).
func writeNew(name, data string, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadVKey returns a verifier key given inline or as the name of a file
// holding it (NAME.pub).
func loadVKey(s string) (string, error) {
	// A file name is tried first: verifier keys are base64 and may hold
	// '/', so the text alone cannot tell them apart.
	if b, err := os.ReadFile(s); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if strings.Count(s, "+") < 2 {
		return "", fmt.Errorf("%q is neither a verifier key nor a readable key file: %w", s, err)
	}
	return s, nil
}

// loadSignerKey reads a signer key file (NAME.key).
func loadSignerKey(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
