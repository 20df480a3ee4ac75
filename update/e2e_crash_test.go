package update

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/translog"
)

// Steps are the named steps of an update, in order.
var steps = []string{
	"fetch-checkpoint", "verify-checkpoint", "consistency", "replay-keys", "find-release",
	"inclusion", "download", "verify-hash", "unpack", "test-compile", "install", "switch",
	"save-checkpoint", "prune",
}

// keyFiles writes a publisher key pair as glassav keygen does and returns
// the signer key file and the verifier key.
func keyFiles(t *testing.T) (skeyFile, vkey string) {
	t.Helper()
	skey, vkey, err := translog.GenerateKey("publisher")
	if err != nil {
		t.Fatal(err)
	}
	skeyFile = filepath.Join(t.TempDir(), "publisher.key")
	if err := os.WriteFile(skeyFile, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return skeyFile, vkey
}

// TestCrashSafety kills an updating child process with SIGKILL at each
// named step of a v1→v2 update (once with the delta, once with the full
// bundle); a fresh process must then find version 1 or 2 complete, and
// the next update must install version 2.
func TestCrashSafety(t *testing.T) {
	glassav(t)
	skey, vkey := keyFiles(t)
	dir := t.TempDir()
	pubState, public := filepath.Join(dir, "pstate"), filepath.Join(dir, "public")
	pub := func(v int64) {
		args := []string{"publish", "--state", pubState, "--key", skey, "--source", writeSource(t, v), "--delta"}
		if v == 1 {
			args = append(args, "--init", "--origin", e2eOrigin)
		}
		must(t, append(args, public)...)
	}
	pub(1)
	template := filepath.Join(dir, "template")
	updateArgs := func(state string) []string {
		// A directory mirror: the installer is the process under test.
		return []string{"update", "--mirror", public, "--origin", e2eOrigin, "--publisher-key", vkey, "--state", state}
	}
	must(t, updateArgs(template)...)
	checkInstalled(t, template, 1)
	pub(2)

	for _, delta := range []bool{true, false} {
		for _, step := range steps {
			t.Run(fmt.Sprintf("delta=%v/%s", delta, step), func(t *testing.T) {
				state := filepath.Join(t.TempDir(), "state")
				if out, err := exec.Command("cp", "-a", template, state).CombinedOutput(); err != nil {
					t.Fatalf("cp: %v %s", err, out)
				}
				args := updateArgs(state)
				if !delta {
					args = append(args, "--no-delta")
				}
				r := runBin(t, []string{crashEnvName + "=" + step}, args...)
				if !r.signaled {
					t.Fatalf("the child was not killed at %s: %s", step, r)
				}
				// A fresh process (this one) finds a complete old or new version.
				cur, _, err := Installed(state)
				if err != nil || (cur != 1 && cur != 2) {
					t.Fatalf("after a crash at %s: current %d, %v", step, cur, err)
				}
				checkInstalled(t, state, cur)
				wantNew := step == "save-checkpoint" || step == "prune"
				if wantNew != (cur == 2) {
					t.Errorf("after a crash at %s: version %d installed", step, cur)
				}
				// The next update completes.
				r = must(t, args...)
				checkInstalled(t, state, 2)
				if cur == 1 && !strings.Contains(r.stdout, "installed version 2") {
					t.Errorf("recovery run: %s", r)
				}
				if cur2, prev, _ := Installed(state); cur2 != 2 || prev != 1 {
					t.Errorf("after recovery: current %d previous %d", cur2, prev)
				}
				ents, _ := os.ReadDir(filepath.Join(state, "versions"))
				if len(ents) != 2 {
					t.Errorf("versions/ holds %d entries after recovery, want 2 (no leftovers)", len(ents))
				}
			})
		}
	}
}

const crashEnvName = "GLASSAV_UPDATE_CRASH_AT"

// TestPublishReproducible publishes the same source directory twice, into
// two separate logs, from copies with other modification times, another
// umask and another time zone, and expects byte-identical bundles and
// release records.
func TestPublishReproducible(t *testing.T) {
	bin := glassav(t)
	skey, _ := keyFiles(t)
	src := writeSource(t, 1)
	var outs []string
	for i, env := range [][]string{{"TZ=UTC"}, {"TZ=Pacific/Chatham"}} {
		// Another copy of the source, touched at another time.
		copyDir := t.TempDir()
		ents, _ := os.ReadDir(src)
		for j, e := range ents {
			b, _ := os.ReadFile(filepath.Join(src, e.Name()))
			p := filepath.Join(copyDir, e.Name())
			os.WriteFile(p, b, 0o600+os.FileMode(i)*0o060)
			mt := time.Unix(int64(1_500_000_000+i*86_400_000+j*7), 0)
			os.Chtimes(p, mt, mt)
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "public")
		umask := []string{"022", "077"}[i]
		cmd := exec.Command("sh", "-c", `umask `+umask+` && exec "$0" "$@"`, bin, "publish", "--init", "--origin", e2eOrigin,
			"--state", filepath.Join(dir, "state"), "--key", skey, "--source", copyDir, out)
		if r := runCmd(t, cmd, env); r.code != 0 {
			t.Fatalf("publish %d: %s", i, r)
		}
		outs = append(outs, out)
	}
	for _, name := range []string{"bundles/1.tar", "bundles/1.manifest"} {
		a, err1 := os.ReadFile(filepath.Join(outs[0], name))
		b, err2 := os.ReadFile(filepath.Join(outs[1], name))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs between the two publications", name)
		}
		if len(a) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// TestPublishRefusesBadRules: publish refuses rules that do not compile
// and leaves the log and the published tree untouched.
func TestPublishRefusesBadRules(t *testing.T) {
	skey, _ := keyFiles(t)
	dir := t.TempDir()
	pubState, public := filepath.Join(dir, "pstate"), filepath.Join(dir, "public")
	must(t, "publish", "--init", "--origin", e2eOrigin, "--state", pubState, "--key", skey, "--source", writeSource(t, 1), public)
	before, _ := os.ReadFile(filepath.Join(public, "checkpoint"))
	for name, content := range map[string]string{
		"bad.ndb": "Broken.Sig:0:*:zz\n",
		"bad.yar": "rule broken { condition: $missing }\n",
	} {
		src := writeSource(t, 2)
		os.WriteFile(filepath.Join(src, name), []byte(content), 0o644)
		refused(t, name, "publish", "--state", pubState, "--key", skey, "--source", src, public)
	}
	after, _ := os.ReadFile(filepath.Join(public, "checkpoint"))
	if string(before) != string(after) {
		t.Error("the checkpoint changed after a refused publish")
	}
	if _, err := os.Stat(filepath.Join(public, "bundles", "2.tar")); !os.IsNotExist(err) {
		t.Errorf("a refused bundle was written: %v", err)
	}
}
