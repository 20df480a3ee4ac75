package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/clamav"
	"github.com/glassav/glassav/internal/atomicfile"
	"github.com/glassav/glassav/translog"
)

const logUsage = `Usage: glassav log audit [options] URL

Replays a signature transparency log the way a monitor does: verifies the
checkpoint under the pinned keys, checks every leaf against the signed tree,
replays key rotations and revocations, downloads every release's bundle and
checks its size, SHA-256, manifest and file hashes (and any delta bundle),
and prints what each release added, removed and changed: files, rule names
and signature counts. URL is the log's base URL or directory.

With --state DIR the audit remembers the checkpoint it verified: the next run
checks the log is consistent with it, so a rewritten history or a split view
is detected (both signed checkpoints are kept in DIR/evidence).

Exit status: 0 when everything verified, 1 when anything did not.

Options:
`

type auditConfig struct {
	help       bool
	publishers []string
	witnesses  []string
	threshold  int
	origin     string
	maxAge     string
	state      string
	noBundles  bool
	compile    bool
	maxNames   int
}

func runLog(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var c auditConfig
	c.maxNames = 20
	opts := options{
		{long: "help", short: 'h', flag: &c.help, help: "show this help"},
		{long: "publisher", arg: "KEY", set: listVar(&c.publishers), help: "trust this publisher verifier key or .pub file (repeatable; default: the log's keys.txt, trusted on first use)"},
		{long: "witness", arg: "KEY", set: listVar(&c.witnesses), help: "a witness verifier key or .pub file (repeatable)"},
		{long: "threshold", short: 'k', arg: "N", set: countVar(&c.threshold, 100), help: "require N witness cosignatures (default 0)"},
		{long: "origin", arg: "ORIGIN", set: stringVar(&c.origin), help: "the log's origin line (default: the checkpoint's)"},
		{long: "max-age", arg: "DURATION", set: stringVar(&c.maxAge), help: "refuse a checkpoint older than DURATION (e.g. 48h)"},
		{long: "state", arg: "DIR", set: stringVar(&c.state), help: "remember the verified checkpoint and keys in DIR and check the next run against them"},
		{long: "no-bundles", flag: &c.noBundles, help: "check the leaves only, do not download bundles"},
		{long: "compile", flag: &c.compile, help: "test-compile every release and check the signature count the log claims"},
		{long: "names", arg: "N", set: countVar(&c.maxNames, 1<<30), help: "print at most N rule names per file and kind of change (default 20)"},
	}
	rest, err := opts.parse(args)
	if err == nil && !c.help && (len(rest) != 2 || rest[0] != "audit") {
		err = errors.New("usage: glassav log audit [options] URL")
	}
	if err != nil {
		fmt.Fprintf(stderr, "glassav log: %v\nRun 'glassav log --help' for the options.\n", err)
		return 2
	}
	if c.help {
		fmt.Fprint(stdout, logUsage+opts.usage())
		return 0
	}
	a := &auditor{cfg: &c, out: stdout, client: translog.NewClient(rest[1], &http.Client{Timeout: 10 * time.Minute})}
	if err := a.run(ctx); err != nil {
		fmt.Fprintf(stderr, "glassav log audit: %v\n", err)
		return 1
	}
	if a.problems > 0 {
		fmt.Fprintf(stderr, "glassav log audit: %d problem(s) found\n", a.problems)
		return 1
	}
	return 0
}

type auditor struct {
	cfg      *auditConfig
	out      io.Writer
	client   *translog.Client
	problems int

	// The previous release, for the differences.
	prevVersion int64
	prevFiles   map[string][32]byte          // file name → SHA-256
	prevRules   map[string]map[string]uint64 // file name → rule name → definition hash
	prevSigs    int

	// For proof files: the audited checkpoint and the historical keys.
	tree        *translog.Checkpoint
	proofPolicy *translog.Policy
	proofKeys   *translog.KeyState
}

func (a *auditor) problem(format string, args ...any) {
	a.problems++
	fmt.Fprintf(a.out, "  PROBLEM: "+format+"\n", args...)
}

func (a *auditor) run(ctx context.Context) error {
	msg, err := a.client.Checkpoint(ctx)
	if err != nil {
		return err
	}
	origin := a.cfg.origin
	if origin == "" {
		if origin, _, _, err = translog.ParseUnverified(msg); err != nil {
			return err
		}
	}
	pol := &translog.Policy{Origin: origin, Threshold: a.cfg.threshold}
	if a.cfg.maxAge != "" {
		if pol.MaxAge, err = time.ParseDuration(a.cfg.maxAge); err != nil {
			return fmt.Errorf("--max-age: %w", err)
		}
	}
	for _, k := range a.cfg.publishers {
		v, err := loadVKey(k)
		if err != nil {
			return err
		}
		pol.Publishers = append(pol.Publishers, v)
	}
	for _, k := range a.cfg.witnesses {
		v, err := loadVKey(k)
		if err != nil {
			return err
		}
		pol.Witnesses = append(pol.Witnesses, v)
	}
	if len(pol.Publishers) == 0 {
		keys, err := a.client.ReadFile(ctx, "keys.txt", 64<<10)
		if err != nil {
			return fmt.Errorf("no --publisher key given and the log has no keys.txt: %w", err)
		}
		for _, line := range strings.Split(string(keys), "\n") {
			if k, ok := strings.CutPrefix(strings.TrimSpace(line), "publisher "); ok {
				pol.Publishers = append(pol.Publishers, strings.TrimSpace(k))
			}
		}
		fmt.Fprintf(a.out, "WARNING: no pinned publisher key: trusting %d key(s) from the log's own keys.txt (pin them with --publisher)\n", len(pol.Publishers))
	}

	keys := translog.NewKeyState(pol)
	var prev *translog.Checkpoint
	if a.cfg.state != "" {
		if prev, keys, err = a.loadState(pol); err != nil {
			return err
		}
	}
	cp, err := pol.Verify(msg, keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "log %s: checkpoint of size %d signed by %s at %s", origin, cp.Tree.N, cp.Publisher, cp.Time.Format(time.RFC3339))
	if len(cp.Witnesses) > 0 {
		fmt.Fprintf(a.out, ", cosigned by %s", strings.Join(cp.Witnesses, ", "))
	}
	fmt.Fprintln(a.out)
	if prev != nil {
		if err := a.client.Consistency(ctx, prev.Tree, cp.Tree); err != nil {
			if errors.Is(err, translog.ErrFork) || errors.Is(err, translog.ErrRollback) {
				paths, serr := translog.SaveEvidence(filepath.Join(a.cfg.state, "evidence"), time.Now().UTC().Format("20060102T150405Z"), prev.Raw, msg)
				if serr == nil {
					err = fmt.Errorf("%w\nevidence (both signed checkpoints): %s", err, strings.Join(paths, " "))
				}
			}
			return err
		}
		fmt.Fprintf(a.out, "consistent with the checkpoint of size %d audited before\n", prev.Tree.N)
	}

	leaves, err := a.client.Leaves(ctx, cp.Tree, 0, cp.Tree.N)
	if err != nil {
		return err
	}
	// Replay from the start: the key state is rebuilt from the pins so
	// that the printed history is complete.
	replay := translog.NewKeyState(pol)
	// Proof files carry the checkpoint of their day, signed by the keys
	// trusted then: check them against every publisher key the log ever
	// added (revocation does not undo a past signature).
	a.proofPolicy = &translog.Policy{Origin: pol.Origin, Publishers: pol.Publishers, Witnesses: pol.Witnesses}
	hist := translog.NewKeyState(a.proofPolicy)
	for _, leaf := range leaves {
		if k, err := translog.ParseKeyChange(leaf); err == nil && k.Action == translog.ActionAdd {
			hist.Apply(leaf)
		}
	}
	a.proofKeys, a.tree = hist, cp
	var releases, keyChanges int
	for i, leaf := range leaves {
		switch {
		case translog.IsRelease(leaf):
			releases++
			r, err := translog.ParseRelease(leaf)
			if err != nil {
				fmt.Fprintf(a.out, "leaf %d: release\n", i)
				a.problem("malformed release leaf: %v", err)
				continue
			}
			a.release(ctx, int64(i), r)
			a.checkProof(ctx, int64(i), leaf, r.Version)
		case translog.IsKeyChange(leaf):
			keyChanges++
			k, err := translog.ParseKeyChange(leaf)
			if err != nil {
				fmt.Fprintf(a.out, "leaf %d: key change\n", i)
				a.problem("%v", err)
				continue
			}
			fmt.Fprintf(a.out, "leaf %d: key %s %s %s\n", i, k.Action, k.Role, k.Key)
			if err := replay.Apply(leaf); err != nil {
				a.problem("%v", err)
			}
		default:
			first, _, _ := strings.Cut(string(leaf), "\n")
			fmt.Fprintf(a.out, "leaf %d: unknown kind %q\n", i, first)
			a.problem("leaf of unknown kind")
		}
	}
	replay.Size = cp.Tree.N
	// The checkpoint was verified with the keys trusted before its leaves;
	// it must also hold under the keys they leave trusted, or a key (or a
	// counted witness) revoked inside this very log signed for it.
	if _, err := pol.Verify(msg, replay); err != nil {
		a.problem("the checkpoint does not verify under the keys its own leaves leave trusted: %v", err)
	}
	fmt.Fprintf(a.out, "audited %d leaves: %d releases, %d key changes; %d problem(s)\n", len(leaves), releases, keyChanges, a.problems)
	fmt.Fprintf(a.out, "trusted publisher keys now: %s\n", strings.Join(replay.Publishers(), " "))
	if a.cfg.state != "" && a.problems == 0 {
		return a.saveState(cp, replay)
	}
	return nil
}

// The audit state: the last verified checkpoint and the replayed keys.
func (a *auditor) loadState(pol *translog.Policy) (*translog.Checkpoint, *translog.KeyState, error) {
	keys := translog.NewKeyState(pol)
	b, err := os.ReadFile(filepath.Join(a.cfg.state, "keys"))
	if err == nil {
		err = keys.UnmarshalText(b)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	msg, err := os.ReadFile(filepath.Join(a.cfg.state, "checkpoint"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, keys, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// The stored checkpoint was verified when saved; check its signature
	// again (not its age) so a tampered state file is noticed.
	p := *pol
	p.MaxAge = 0
	prev, err := p.Verify(msg, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("stored checkpoint: %w", err)
	}
	return prev, keys, nil
}

func (a *auditor) saveState(cp *translog.Checkpoint, keys *translog.KeyState) error {
	if err := os.MkdirAll(a.cfg.state, 0o700); err != nil {
		return err
	}
	kb, _ := keys.MarshalText()
	if err := atomicfile.WriteFile(filepath.Join(a.cfg.state, "keys"), kb, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(a.cfg.state, "checkpoint"), cp.Raw, 0o600)
}

// release checks one release leaf and prints what it changed.
func (a *auditor) release(ctx context.Context, index int64, r *translog.Release) {
	fmt.Fprintf(a.out, "leaf %d: release %d: %d files, %d signatures (%+d), bundle %x (%d bytes)\n",
		index, r.Version, r.Files, r.Signatures, r.Signatures-a.prevSigs, r.SHA256[:8], r.Size)
	if r.Version <= a.prevVersion {
		a.problem("version %d does not increase (previous release %d)", r.Version, a.prevVersion)
	}
	defer func() { a.prevVersion, a.prevSigs = r.Version, r.Signatures }()
	if a.cfg.noBundles {
		return
	}
	b, err := a.fetchBundle(ctx, fmt.Sprintf("bundles/%d.tar", r.Version), r.SHA256, r.Size)
	if err != nil {
		a.problem("%v", err)
		a.prevFiles, a.prevRules = nil, nil
		return
	}
	mtext := b.Manifest.Format()
	if sha256.Sum256(mtext) != r.Manifest {
		a.problem("bundle MANIFEST hash %x differs from the logged %x", sha256.Sum256(mtext), r.Manifest)
	}
	if b.Manifest.Version != r.Version || len(b.Manifest.Files) != r.Files {
		a.problem("bundle MANIFEST says version %d with %d files, the leaf %d with %d", b.Manifest.Version, len(b.Manifest.Files), r.Version, r.Files)
	}
	if b.IsDelta() {
		a.problem("the full bundle lacks files of its MANIFEST")
	}
	if r.Delta != nil {
		name := fmt.Sprintf("bundles/%d-from-%d.tar", r.Version, r.Delta.From)
		d, err := a.fetchBundle(ctx, name, r.Delta.SHA256, r.Delta.Size)
		switch {
		case err != nil:
			a.problem("delta: %v", err)
		case !bytes.Equal(d.Manifest.Format(), mtext):
			a.problem("delta %s carries a different MANIFEST than the full bundle", name)
		default:
			fmt.Fprintf(a.out, "  delta from %d: %d files, verified\n", r.Delta.From, len(d.Files))
		}
	}

	if a.cfg.compile {
		res, err := bundle.CheckFiles(ctx, b.Files)
		switch {
		case err != nil:
			a.problem("release %d does not compile: %v", r.Version, err)
		case res.Signatures != r.Signatures:
			a.problem("release %d compiles to %d signatures, the log claims %d", r.Version, res.Signatures, r.Signatures)
		default:
			fmt.Fprintf(a.out, "  compiled: %d signatures, as logged\n", res.Signatures)
		}
	}
	if m, err := a.client.ReadFile(ctx, fmt.Sprintf("bundles/%d.manifest", r.Version), translog.MaxLeafSize); err == nil && !bytes.Equal(m, r.Leaf()) {
		a.problem("bundles/%d.manifest differs from the logged release record", r.Version)
	}

	files := map[string][32]byte{}
	rules := map[string]map[string]uint64{}
	for _, f := range b.Manifest.Files {
		files[f.Name] = f.SHA256
		rules[f.Name] = ruleNames(f.Name, b.Files[f.Name])
	}
	if a.prevFiles != nil || a.prevVersion == 0 {
		a.diff(files, rules)
	}
	a.prevFiles, a.prevRules = files, rules
}

// checkProof checks the release's offline proof file, if published: it
// must prove this leaf at this index in a signed tree that is a prefix of
// the audited one.
func (a *auditor) checkProof(ctx context.Context, index int64, leaf []byte, version int64) {
	name := fmt.Sprintf("proofs/%d.proof", version)
	b, err := a.client.ReadFile(ctx, name, translog.MaxProofSize)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(a.out, "  no %s\n", name)
		return
	}
	if err != nil {
		a.problem("%v", err)
		return
	}
	p, err := translog.ParseProof(b)
	if err != nil {
		a.problem("%s: %v", name, err)
		return
	}
	if p.Index != index || !bytes.Equal(p.Leaf, leaf) {
		a.problem("%s proves leaf %d with different text, not leaf %d of the log", name, p.Index, index)
		return
	}
	cp, err := p.Verify(a.proofPolicy, a.proofKeys)
	if err != nil {
		a.problem("%s: %v", name, err)
		return
	}
	if err := a.client.Consistency(ctx, cp.Tree, a.tree.Tree); err != nil {
		a.problem("%s: its checkpoint is not part of the audited log: %v", name, err)
		return
	}
	fmt.Fprintf(a.out, "  %s verified (tree %d, %d cosignatures)\n", name, cp.Tree.N, len(cp.Witnessed))
}

func (a *auditor) fetchBundle(ctx context.Context, name string, sum [32]byte, size int64) (*bundle.Bundle, error) {
	data, err := a.client.ReadFile(ctx, name, size)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%s has %d bytes, the log says %d", name, len(data), size)
	}
	if got := sha256.Sum256(data); got != sum {
		return nil, fmt.Errorf("%s has SHA-256 %x, the log says %x (tampered bundle)", name, got, sum)
	}
	b, err := bundle.Read(bytes.NewReader(data), bundle.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// diff prints the files and rules that differ from the previous release.
func (a *auditor) diff(files map[string][32]byte, rules map[string]map[string]uint64) {
	names := make([]string, 0, len(files)+len(a.prevFiles))
	for n := range files {
		names = append(names, n)
	}
	for n := range a.prevFiles {
		if _, ok := files[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		old, had := a.prevFiles[n]
		cur, has := files[n]
		switch {
		case !had:
			fmt.Fprintf(a.out, "  + %s (%d rules)\n", n, len(rules[n]))
			a.names("+", rules[n], nil)
		case !has:
			fmt.Fprintf(a.out, "  - %s (%d rules)\n", n, len(a.prevRules[n]))
			a.names("-", a.prevRules[n], nil)
		case old != cur:
			added, removed, changed := diffRules(a.prevRules[n], rules[n])
			fmt.Fprintf(a.out, "  ~ %s: %d rules (+%d -%d ~%d)\n", n, len(rules[n]), len(added), len(removed), len(changed))
			a.names("+", nil, added)
			a.names("-", nil, removed)
			a.names("~", nil, changed)
		}
	}
}

// names prints up to maxNames rule names, from a set or a sorted list.
func (a *auditor) names(mark string, set map[string]uint64, list []string) {
	if set != nil {
		for n := range set {
			list = append(list, n)
		}
		sort.Strings(list)
	}
	for i, n := range list {
		if i == a.cfg.maxNames {
			fmt.Fprintf(a.out, "      %s ... and %d more\n", mark, len(list)-i)
			break
		}
		fmt.Fprintf(a.out, "      %s %s\n", mark, n)
	}
}

func diffRules(old, cur map[string]uint64) (added, removed, changed []string) {
	for n, h := range cur {
		oh, ok := old[n]
		switch {
		case !ok:
			added = append(added, n)
		case oh != h:
			changed = append(changed, n)
		}
	}
	for n := range old {
		if _, ok := cur[n]; !ok {
			removed = append(removed, n)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return
}

var yaraRule = regexp.MustCompile(`^\s*(?:(?:private|global)\s+)*rule\s+([A-Za-z_][A-Za-z0-9_]*)`)

// ruleNames returns the rules a database file defines, by name, each with
// a hash of its definition so that a changed rule is told from an
// unchanged one. It reads names only: ClamAV text databases by their name
// field, YARA files by their rule headers, and the members of .cvd/.cld
// containers. Other files (ignore lists, file-type magic) have no rules.
// A name defined twice in one file keeps its last definition.
func ruleNames(name string, data []byte) map[string]uint64 {
	out := map[string]uint64{}
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".cvd", ".cld", ".cud":
		c, err := clamav.ReadContainer(path.Base(name), data)
		if err != nil {
			return out
		}
		for _, f := range c.Files {
			for n, h := range ruleNames(f.Name, f.Data) {
				out[n] = h
			}
		}
		return out
	case ".yar", ".yara":
		var cur string
		var def bytes.Buffer
		flush := func() {
			if cur != "" {
				out[cur] = hash64(def.Bytes())
			}
			def.Reset()
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if m := yaraRule.FindSubmatch(sc.Bytes()); m != nil {
				flush()
				cur = string(m[1])
			}
			def.Write(sc.Bytes())
			def.WriteByte('\n')
		}
		flush()
		return out
	}
	field := -1
	sep := byte(':')
	switch ext {
	case ".hdb", ".hsb", ".hdu", ".hsu", ".mdb", ".msb", ".mdu", ".msu", ".imp", ".fp", ".sfp":
		field = 2
	case ".ndb", ".ndu", ".cdb", ".idb":
		field = 0
	case ".ldb", ".ldu":
		field, sep = 0, ';'
	case ".db":
		field, sep = 0, '='
	default:
		return out
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := bytes.Split(line, []byte{sep})
		if field < len(f) && len(f[field]) > 0 {
			out[string(f[field])] = hash64(line)
		}
	}
	return out
}

func hash64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
