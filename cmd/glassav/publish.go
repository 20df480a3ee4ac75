package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/internal/atomicfile"
	"github.com/glassav/glassav/translog"
	"github.com/glassav/glassav/witness"
)

// publishConfig holds the publish command's flags.
type publishConfig struct {
	source    string
	state     string
	keyFiles  []string
	init      bool
	origin    string
	witnesses []string
	delta     bool
	version   int64
	keyLeaves []*translog.KeyChange
	help      bool
}

func (c *publishConfig) options() options {
	keyChange := func(action, role string) func(string) error {
		return func(s string) error {
			k, err := loadVKey(s)
			if err != nil {
				return err
			}
			c.keyLeaves = append(c.keyLeaves, &translog.KeyChange{Action: action, Role: role, Key: k})
			return nil
		}
	}
	return options{
		{long: "help", short: 'h', flag: &c.help, help: "show this help"},
		{long: "source", arg: "SRCDIR", set: stringVar(&c.source), help: "publish the database files of SRCDIR (ClamAV formats, YARA rules; official .cvd/.cdiff are verified and applied)"},
		{long: "state", arg: "STATEDIR", set: stringVar(&c.state), help: "the publisher's private log state (never inside DIR)"},
		{long: "key", arg: "FILE", set: listVar(&c.keyFiles), help: "the publisher's signer key (glassav keygen); repeat it during a key rotation to sign with the old and the new key"},
		{long: "init", flag: &c.init, help: "create a new log in STATEDIR"},
		{long: "origin", arg: "ORIGIN", set: stringVar(&c.origin), help: "log origin line for --init (default " + defaultOrigin + ")"},
		{long: "witness", arg: "URL[=VKEY]", set: listVar(&c.witnesses), help: "collect a cosignature from the witness at URL (repeatable); with =VKEY (a key or .pub file) its lines are verified before they are published"},
		{long: "delta", flag: &c.delta, help: "also publish a delta bundle from the previous release"},
		{long: "version", arg: "N", set: func(s string) error {
			_, err := fmt.Sscanf(s, "%d", &c.version)
			if err != nil || c.version < 1 {
				return fmt.Errorf("%q: not a positive version", s)
			}
			return nil
		}, help: "release version (default: the previous one plus 1)"},
		{long: "add-publisher", arg: "VKEY", set: keyChange(translog.ActionAdd, translog.RolePublisher), help: "append a key leaf trusting this publisher key (a vkey or a .pub file; repeatable)"},
		{long: "revoke-publisher", arg: "VKEY", set: keyChange(translog.ActionRevoke, translog.RolePublisher), help: "append a key leaf revoking a publisher key"},
		{long: "add-witness", arg: "VKEY", set: keyChange(translog.ActionAdd, translog.RoleWitness), help: "append a key leaf trusting a witness key"},
		{long: "revoke-witness", arg: "VKEY", set: keyChange(translog.ActionRevoke, translog.RoleWitness), help: "append a key leaf revoking a witness key"},
	}
}

const defaultOrigin = "glassav.example/avdb"

const publishUsage = `Usage: glassav publish [options] --state STATEDIR --key KEY [--source SRCDIR] DIR

Builds a reproducible bundle of the databases in SRCDIR, refuses it unless
every rule compiles, appends its release record to the transparency log,
signs the checkpoint, collects witness cosignatures and writes the static
tree that mirrors serve into DIR:

  DIR/checkpoint, DIR/tile/...          the log
  DIR/bundles/<v>.tar                   the bundle
  DIR/bundles/<v>.manifest              its release record (the log leaf)
  DIR/bundles/<v>-from-<old>.tar        the delta bundle (--delta)
  DIR/proofs/<v>.proof                  offline proof of the release
  DIR/keys.txt                          the publisher's verifier key

Without --source, only the key leaves given are appended and the log is
signed again. With neither, the log is signed again with a new time and the
witnesses cosign it: run that regularly (e.g. daily), since installations
refuse a checkpoint older than their max-age (default 7 days) to defeat
freeze attacks, even when no release was due.

Options:
`

func runPublish(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var c publishConfig
	opts := c.options()
	rest, err := opts.parse(args)
	if err == nil && !c.help && len(rest) != 1 {
		err = errors.New("need exactly one output directory DIR")
	}
	if err == nil && !c.help && (c.state == "" || len(c.keyFiles) == 0) {
		err = errors.New("--state and --key are required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav publish: %v\nRun 'glassav publish --help' for the options.\n", err)
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, publishUsage+opts.usage())
		return 0
	}
	if err := publish(ctx, &c, rest[0], stdout); err != nil {
		fmt.Fprintf(stderr, "glassav publish: %v\n", err)
		return 1
	}
	return 0
}

func publish(ctx context.Context, c *publishConfig, dir string, stdout io.Writer) error {
	var signers, vkeys []string
	for _, name := range c.keyFiles {
		skey, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		signer := strings.TrimSpace(string(skey))
		vkey, err := translog.VKeyFromSigner(signer)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		signers, vkeys = append(signers, signer), append(vkeys, vkey)
	}
	var err error
	if abs, _ := filepath.Abs(c.state); strings.HasPrefix(abs+"/", mustAbs(dir)+"/") {
		return fmt.Errorf("the state directory %s must not be inside the published directory %s", c.state, dir)
	}

	// Build and check the bundle before touching the log, so that a
	// refused bundle leaves no trace.
	var src *bundle.Source
	var check *bundle.CheckResult
	if c.source != "" {
		if src, err = bundle.ReadSource(c.source, bundle.DefaultLimits()); err != nil {
			return err
		}
		if len(src.Files) == 0 {
			return fmt.Errorf("%s: no database files", c.source)
		}
		for _, s := range src.Skipped {
			fmt.Fprintf(stdout, "skipped %s: not a database file\n", s)
		}
		for _, s := range src.Imported {
			fmt.Fprintf(stdout, "imported %s\n", s)
		}
		if check, err = bundle.CheckFiles(ctx, src.Files); err != nil {
			return fmt.Errorf("refusing to publish %s: %w", c.source, err)
		}
		for _, w := range check.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	} else if len(c.keyLeaves) == 0 && (c.init || len(c.witnesses) == 0) {
		return errors.New("nothing to publish: give --source, a key change, or --witness to sign the log again")
	}

	var l *translog.Log
	if c.init {
		origin := c.origin
		if origin == "" {
			origin = defaultOrigin
		}
		l, err = translog.Create(c.state, dir, origin)
	} else {
		l, err = translog.Open(c.state, dir)
	}
	if err != nil {
		return err
	}
	defer l.Close()

	var leaves [][]byte
	for _, k := range c.keyLeaves {
		leaves = append(leaves, k.Leaf())
	}
	var rel *translog.Release
	if src != nil {
		if rel, err = writeRelease(l, c, dir, src, check); err != nil {
			return err
		}
		leaves = append(leaves, rel.Leaf())
	}
	tree, err := l.Append(leaves...)
	if err != nil {
		return err
	}
	if _, err := l.SignWith(time.Now(), signers...); err != nil {
		return err
	}
	for _, w := range c.witnesses {
		if err := cosign(ctx, l, w, vkeys); err != nil {
			return fmt.Errorf("witness %s: %w", w, err)
		}
		fmt.Fprintf(stdout, "cosigned by %s\n", w)
	}
	if err := writePublic(filepath.Join(dir, "keys.txt"), []byte("publisher "+strings.Join(vkeys, "\npublisher ")+"\n")); err != nil {
		return err
	}
	if rel != nil {
		p, err := l.Proof(tree.N - 1)
		if err != nil {
			return err
		}
		if err := writePublic(filepath.Join(dir, "proofs", fmt.Sprintf("%d.proof", rel.Version)), p.Format()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published version %d: %d files, %d signatures, bundle %d bytes sha256 %x\n", rel.Version, rel.Files, rel.Signatures, rel.Size, rel.SHA256)
		if rel.Delta != nil {
			fmt.Fprintf(stdout, "delta from version %d: %d bytes sha256 %x\n", rel.Delta.From, rel.Delta.Size, rel.Delta.SHA256)
		}
	}
	for _, k := range c.keyLeaves {
		fmt.Fprintf(stdout, "key leaf: %s %s %s\n", k.Action, k.Role, k.Key)
	}
	fmt.Fprintf(stdout, "log size %d, root %s\n", tree.N, tree.Hash)
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// writeRelease writes the bundle (and delta) of src into DIR/bundles and
// returns the release record to log.
func writeRelease(l *translog.Log, c *publishConfig, dir string, src *bundle.Source, check *bundle.CheckResult) (*translog.Release, error) {
	var last int64
	for _, leaf := range l.Leaves() {
		if translog.IsRelease(leaf) {
			r, err := translog.ParseRelease(leaf)
			if err != nil {
				return nil, err
			}
			last = r.Version
		}
	}
	version := c.version
	if version == 0 {
		version = last + 1
	}
	if version <= last {
		return nil, fmt.Errorf("version %d is not newer than the last release %d", version, last)
	}
	full, m, err := bundle.Build(version, src.Files)
	if err != nil {
		return nil, err
	}
	rel := &translog.Release{
		Version:    version,
		SHA256:     sha256.Sum256(full),
		Size:       int64(len(full)),
		Manifest:   sha256.Sum256(m.Format()),
		Files:      len(m.Files),
		Signatures: check.Signatures,
	}
	if c.delta && last > 0 {
		prev, err := os.Open(filepath.Join(dir, "bundles", fmt.Sprintf("%d.tar", last)))
		if err != nil {
			return nil, fmt.Errorf("delta: %w", err)
		}
		pb, err := bundle.Read(prev, bundle.DefaultLimits())
		prev.Close()
		if err != nil {
			return nil, fmt.Errorf("delta: previous release: %w", err)
		}
		d, _, err := bundle.BuildDelta(pb.Manifest, version, src.Files)
		if err != nil {
			return nil, err
		}
		rel.Delta = &translog.Delta{From: last, SHA256: sha256.Sum256(d), Size: int64(len(d))}
		if err := writePublic(filepath.Join(dir, "bundles", fmt.Sprintf("%d-from-%d.tar", version, last)), d); err != nil {
			return nil, err
		}
	}
	if err := writePublic(filepath.Join(dir, "bundles", fmt.Sprintf("%d.tar", version)), full); err != nil {
		return nil, err
	}
	if err := writePublic(filepath.Join(dir, "bundles", fmt.Sprintf("%d.manifest", version)), rel.Leaf()); err != nil {
		return nil, err
	}
	return rel, nil
}

// writePublic writes a file of the static tree atomically, so a mirror
// syncing the tree never copies half a file.
func writePublic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(name, data, 0o644)
}

// cosign collects the witness's cosignature of the log's current
// checkpoint and adds it to DIR/checkpoint. Given as URL=VKEY, the
// witness's lines must hold a valid cosignature by VKEY and nothing else:
// clients refuse a checkpoint carrying a bad signature by a key they
// know, so publishing a witness's lines unchecked would let one broken or
// hostile witness stop every installation.
func cosign(ctx context.Context, l *translog.Log, w string, publishers []string) error {
	url, wkey, pinned := strings.Cut(w, "=")
	c := &witness.Client{HTTP: &http.Client{Timeout: time.Minute}}
	lines, err := c.Cosign(ctx, url, l)
	if err != nil {
		return err
	}
	if pinned {
		if wkey, err = loadVKey(wkey); err != nil {
			return err
		}
		cur, err := l.Checkpoint()
		if err != nil {
			return err
		}
		merged, err := translog.AppendSignatureLines(cur, lines)
		if err != nil {
			return err
		}
		// Only the publisher's and this witness's lines may be present
		// beside the ones already published.
		if n := strings.Count(string(lines), "\n"); n != 1 {
			return fmt.Errorf("returned %d signature lines, want 1", n)
		}
		pol := &translog.Policy{Origin: l.Origin(), Publishers: publishers, Witnesses: []string{wkey}, Threshold: 1}
		if _, err := pol.Verify(merged, translog.NewKeyState(pol)); err != nil {
			return fmt.Errorf("its cosignature does not verify with the pinned key: %w", err)
		}
	}
	return l.AddSignatureLines(lines)
}
