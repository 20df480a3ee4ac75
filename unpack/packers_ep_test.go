package unpack_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/unpack"
)

// TestPackersEntryPointSignature checks that the engine scans the images
// the Petite, WWPack and ASPack unpackers rebuild as executables of their
// own: an EP+0 signature of the unpacked program's entry code (which the
// packed file does not hold at its own entry point) detects the packed
// file in glassav as in clamscan, and not without unpacking.
func TestPackersEntryPointSignature(t *testing.T) {
	clamscan := testenv.NeedTool(t, "clamscan")
	for _, name := range []string{"petite", "wwpack", "aspack"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("/usr/share/clamav-testfiles", "clam-"+name+".exe")
			data, err := os.ReadFile(file)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatal(err)
				}
				t.Skip(err)
			}
			fm := unpack.ByName(name)
			if fm == nil || !fm.Detect(data) {
				t.Fatalf("format %s missing or not detecting %s", name, file)
			}
			var img []byte
			err = fm.Unpack(context.Background(), data, unpack.NewBudget(unpack.Limits{}), func(m unpack.Member) error {
				img = m.Data
				return nil
			})
			if err != nil || img == nil {
				t.Fatalf("unpack: %v", err)
			}
			info, err := exe.Parse(img)
			if err != nil || info.EntryPoint+16 > int64(len(img)) {
				t.Fatalf("rebuilt image: %v", err)
			}
			entry := img[info.EntryPoint : info.EntryPoint+16]
			sigName := "Glassav.Test.EP." + name
			db := filepath.Join(t.TempDir(), "ep.ndb")
			if err := os.WriteFile(db, []byte(sigName+":1:EP+0:"+hex.EncodeToString(entry)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			out, err := exec.Command(clamscan, "--no-summary", "-d", db, file).Output()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte(sigName+".UNOFFICIAL FOUND")) {
				t.Fatalf("clamscan: %v (want exit status 1)\n%s", err, out)
			}

			ctx := context.Background()
			rules, err := engine.Load(ctx, engine.LoadOptions{Paths: []string{db}})
			if err != nil {
				t.Fatal(err)
			}
			for _, containers := range []bool{true, false} {
				res, err := rules.Scan(ctx, &engine.Object{Name: file, Data: data}, engine.ScanOptions{Containers: engine.ContainerOptions{Enabled: containers}})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, m := range res.Matches {
					found = found || m.Name == sigName+".UNOFFICIAL"
				}
				if found != containers {
					t.Errorf("unpacking %v: found %v, want %v (matches %+v)", containers, found, containers, res.Matches)
				}
			}
		})
	}
}
