package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/translog"
)

// TestLogAuditRevokedSigner: a checkpoint signed only by a publisher key
// that a leaf of the same log revokes (a stolen key signing past its own
// revocation) is a problem the audit must report, although the key was
// trusted when the audit started.
func TestLogAuditRevokedSigner(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "public")
	l, err := translog.Create(filepath.Join(dir, "state"), pub, defaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	oldS, oldV, _ := translog.GenerateKey("pub.test")
	newS, newV, _ := translog.GenerateKey("pub2.test")
	if _, err := l.Append((&translog.KeyChange{Action: translog.ActionAdd, Role: translog.RolePublisher, Key: newV}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append((&translog.KeyChange{Action: translog.ActionRevoke, Role: translog.RolePublisher, Key: oldV}).Leaf()); err != nil {
		t.Fatal(err)
	}
	audit := func() (int, string) {
		var out, errb bytes.Buffer
		code := runLog(context.Background(), []string{"--publisher", oldV, "--no-bundles", "audit", pub}, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	if _, err := l.SignWith(time.Now(), oldS, newS); err != nil {
		t.Fatal(err)
	}
	if code, out := audit(); code != 0 {
		t.Fatalf("rotation signed by both keys: exit %d\n%s", code, out)
	}
	if _, err := l.Sign(oldS, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, out := audit()
	if code != 1 || !strings.Contains(out, "PROBLEM") || !strings.Contains(out, "revoked") {
		t.Fatalf("checkpoint signed only by the revoked key: exit %d\n%s", code, out)
	}
	t.Log(out)
}
