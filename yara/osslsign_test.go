package yara

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

// testSigner is a certificate authority made for one test and osslsigncode
// (a real Authenticode signer) signing PE files with certificates it
// issues. The pe signature tests share it.
type testSigner struct {
	t      *testing.T
	tool   string // osslsigncode
	dir    string
	ca     *x509.Certificate
	caDER  []byte
	caKey  *rsa.PrivateKey
	caFile string // the CA certificate as PEM, for osslsigncode verify
}

// newTestSigner makes a CA with the given subject, serial and validity.
func newTestSigner(t *testing.T, subject pkix.Name, serial int64, notBefore, notAfter time.Time) *testSigner {
	t.Helper()
	s := &testSigner{t: t, tool: testenv.NeedTool(t, "osslsigncode"), dir: t.TempDir()}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subject,
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s.ca, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	s.caDER, s.caKey = der, key
	s.caFile = filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// leaf makes a code-signing certificate for key, issued by the CA and
// valid from notBefore to notAfter, and writes its chain and key as PEM
// files named after name.
func (s *testSigner) leaf(name string, subject pkix.Name, serial *big.Int, key crypto.Signer, notBefore, notAfter time.Time) (certs, keyFile string) {
	t := s.t
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, key.Public(), s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certs, keyFile = filepath.Join(s.dir, name+".pem"), filepath.Join(s.dir, name+".key")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.caDER})...)
	if err := os.WriteFile(certs, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certs, keyFile
}

// sign runs osslsigncode sign with args on from and returns the signed
// file, named out in the signer's directory.
func (s *testSigner) sign(out, from string, args ...string) string {
	s.t.Helper()
	p := filepath.Join(s.dir, out)
	cmd := exec.Command(s.tool, append(append([]string{"sign"}, args...), "-in", from, "-out", p)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("osslsigncode sign %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return p
}

// unsignedTestPE returns a PE file to sign: one of Go's debug/pe test
// files.
func unsignedTestPE(t *testing.T) string {
	t.Helper()
	goroot, err := exec.Command(testenv.NeedTool(t, "go"), "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	in := filepath.Join(strings.TrimSpace(string(goroot)), "src/debug/pe/testdata/gcc-amd64-mingw-exec")
	if _, err := os.Stat(in); err != nil {
		t.Fatalf("no PE file to sign: %v", err)
	}
	return in
}
