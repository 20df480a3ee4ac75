package yara

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/yara/pe"
)

// osslDigests are the digests osslsigncode verify prints for one
// signature: the file digest the signature claims ("Current"), the one it
// computes ("Calculated") and the signer's messageDigest attribute.
type osslDigests struct {
	current, calculated, signer string
	timestamp                   int64 // its first "Timestamp time", Unix seconds; 0 without
}

// osslVerify runs osslsigncode verify on file (trusting caFile when not
// empty) and returns its digests per signature, in its order (which for
// nested signatures is not the file's), and whether it exited 0.
func osslVerify(t *testing.T, tool, file, caFile string) ([]osslDigests, bool) {
	t.Helper()
	args := []string{"verify", "-in", file}
	if caFile != "" {
		args = append(args, "-CAfile", caFile)
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("osslsigncode verify %s: %v", file, err)
	}
	var ds []osslDigests
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Timestamp time: "); ok && len(ds) > 0 && ds[len(ds)-1].timestamp == 0 {
			tm, err := time.Parse("Jan _2 15:04:05 2006 MST", v)
			if err != nil {
				t.Fatalf("osslsigncode timestamp %q: %v", v, err)
			}
			ds[len(ds)-1].timestamp = tm.Unix()
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		// The value is the hex digest, perhaps followed by a remark
		// ("MISMATCH!!!").
		if fs := strings.Fields(v); len(fs) > 0 {
			v = strings.ToLower(fs[0])
		}
		switch strings.TrimSpace(k) {
		case "Signature Index":
			ds = append(ds, osslDigests{})
		case "Current message digest":
			if len(ds) > 0 {
				ds[len(ds)-1].current = v
			}
		case "Calculated message digest":
			if len(ds) > 0 {
				ds[len(ds)-1].calculated = v
			}
		case "Message digest":
			if len(ds) > 0 && ds[len(ds)-1].signer == "" {
				ds[len(ds)-1].signer = v
			}
		}
	}
	return ds, err == nil
}

// peerFor returns osslsigncode's digests of the signature claiming
// digest.
func peerFor(peer []osslDigests, digest string) (osslDigests, bool) {
	for _, p := range peer {
		if p.current == digest {
			return p, true
		}
	}
	return osslDigests{}, false
}

// sig43 are the yara 4.3 values of one loaded signature.
type sig43 struct {
	verified                   int64
	digestAlg, digest, fileDig string
	signerDigest               string
	certs, chain, counters     int64
	programName                string
}

// loadSig43 loads data with the pe module and returns pe.is_signed and
// the yara 4.3 values of each signature.
func loadSig43(t *testing.T, data []byte) (isSigned int64, sigs []sig43) {
	t.Helper()
	obj, err := newPEModule().Load(&ScanContext{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	str := func(o *Object) string {
		if o == nil || !o.Defined {
			return "<undefined>"
		}
		return string(o.Str)
	}
	for _, it := range obj.Fields["signatures"].Items {
		si := it.Fields["signer_info"]
		sigs = append(sigs, sig43{
			verified:     it.Fields["verified"].Int,
			digestAlg:    str(it.Fields["digest_alg"]),
			digest:       str(it.Fields["digest"]),
			fileDig:      str(it.Fields["file_digest"]),
			signerDigest: str(si.Fields["digest"]),
			certs:        it.Fields["number_of_certificates"].Int,
			chain:        si.Fields["length_of_chain"].Int,
			counters:     it.Fields["number_of_countersignatures"].Int,
			programName:  str(si.Fields["program_name"]),
		})
	}
	return obj.Fields["is_signed"].Int, sigs
}

// TestPESignatures43Osslsigncode signs a real PE file with osslsigncode
// under certificates made here (RSA and ECDSA signers, SHA-1 to SHA-512,
// nested signatures) and checks yara 4.3's signature members against
// osslsigncode verify, the peer: the claimed and computed file digests
// and the signer's digest equal its, every signature verifies, and a
// flipped byte of the signed content makes the digests differ and the
// signatures unverified, as it makes osslsigncode fail.
func TestPESignatures43Osslsigncode(t *testing.T) {
	in := unsignedTestPE(t)
	now := time.Now().UTC().Truncate(time.Second)
	ts := newTestSigner(t, pkix.Name{Organization: []string{"Glassav Test CA"}, CommonName: "Glassav 4.3 Root"}, 77,
		now.Add(-time.Hour), now.AddDate(5, 0, 0))
	tool, caFile := ts.tool, ts.caFile
	leaf := func(name string, serial int64, key crypto.Signer) (certs, keyFile string) {
		return ts.leaf(name, pkix.Name{Organization: []string{"Glassav"}, CommonName: name}, big.NewInt(serial), key,
			now.Add(-time.Hour), now.AddDate(1, 0, 0))
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaCerts, rsaKeyFile := leaf("rsa-signer", 5, rsaKey)
	ecCerts, ecKeyFile := leaf("ec-signer", 6, ecKey)
	sign := ts.sign
	s1 := sign("s1.exe", in, "-certs", rsaCerts, "-key", rsaKeyFile, "-h", "sha256", "-n", "Glassav Program")
	s2 := sign("s2.exe", s1, "-certs", ecCerts, "-key", ecKeyFile, "-h", "sha1", "-nest")
	s3 := sign("s3.exe", s2, "-certs", rsaCerts, "-key", rsaKeyFile, "-h", "sha512", "-nest")
	s4 := sign("s4.exe", in, "-certs", ecCerts, "-key", ecKeyFile, "-h", "sha384")

	wantAlgs := map[string][]string{s1: {"sha256"}, s2: {"sha256", "sha1"}, s3: {"sha256", "sha1", "sha512"}, s4: {"sha384"}}
	checked := 0
	for _, f := range []string{s1, s2, s3, s4} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		peer, ok := osslVerify(t, tool, f, caFile)
		if !ok {
			t.Fatalf("%s: osslsigncode verify failed on the file it signed", f)
		}
		isSigned, sigs := loadSig43(t, data)
		if isSigned != 1 {
			t.Errorf("%s: is_signed = %d", f, isSigned)
		}
		if len(sigs) != len(wantAlgs[f]) || len(peer) != len(sigs) {
			t.Fatalf("%s: %d signatures, osslsigncode %d, want %d", f, len(sigs), len(peer), len(wantAlgs[f]))
		}
		for i, s := range sigs {
			p, found := peerFor(peer, s.digest)
			switch {
			case !found:
				t.Errorf("%s [%d]: osslsigncode reports no signature with digest %s: %+v", f, i, s.digest, peer)
			case s.verified != 1:
				t.Errorf("%s [%d]: not verified: %+v", f, i, s)
			case s.digestAlg != wantAlgs[f][i]:
				t.Errorf("%s [%d]: digest_alg %q, want %q", f, i, s.digestAlg, wantAlgs[f][i])
			case s.digest != p.current || s.fileDig != p.calculated || s.digest != s.fileDig:
				t.Errorf("%s [%d]: digest %s file_digest %s; osslsigncode %s %s", f, i, s.digest, s.fileDig, p.current, p.calculated)
			case s.signerDigest != p.signer:
				t.Errorf("%s [%d]: signer_info.digest %s, osslsigncode %s", f, i, s.signerDigest, p.signer)
			case s.certs != 2 || s.chain != 2:
				t.Errorf("%s [%d]: %d certificates, chain of %d; want 2 and 2", f, i, s.certs, s.chain)
			}
			checked++
		}
		if _, sigs := loadSig43(t, data); sigs[0].programName != "Glassav Program" && f != s4 {
			t.Errorf("%s: program_name %q", f, sigs[0].programName)
		}

		// Flip one byte of the first section's raw data.
		pf, err := pe.Parse(data)
		if err != nil || len(pf.Sections) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		bad := bytes.Clone(data)
		bad[pf.Sections[0].PointerToRawData+16] ^= 0x55
		badFile := f + ".bad"
		if err := os.WriteFile(badFile, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		peerBad, ok := osslVerify(t, tool, badFile, caFile)
		if ok || len(peerBad) != len(sigs) {
			t.Fatalf("%s: osslsigncode verify accepts the damaged copy (%d signatures)", badFile, len(peerBad))
		}
		isSigned, badSigs := loadSig43(t, bad)
		if isSigned != 0 {
			t.Errorf("%s: is_signed = %d", badFile, isSigned)
		}
		for i, s := range badSigs {
			p, found := peerFor(peerBad, s.digest)
			if !found || s.verified != 0 || s.digest == s.fileDig || s.fileDig != p.calculated {
				t.Errorf("%s [%d]: verified %d, digest %s file_digest %s; osslsigncode %+v",
					badFile, i, s.verified, s.digest, s.fileDig, peerBad)
			}
		}
	}

	// The members through the whole pipeline: a rule over them matches
	// the signed file and not the damaged copy.
	rules := compileTestRules(t, `import "pe"
rule signed43 { condition: pe.is_signed and pe.signatures[0].verified and
  pe.signatures[0].digest == pe.signatures[0].file_digest and pe.signatures[0].signer_info.length_of_chain == 2 }`)
	for f, want := range map[string]int{s3: 1, s3 + ".bad": 0} {
		data, _ := os.ReadFile(f)
		res, err := rules.Scan(context.Background(), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Matched()); got != want {
			t.Errorf("%s: %d rules match, want %d", f, got, want)
		}
	}
	t.Logf("%d signatures in 4 files signed by osslsigncode: digests equal to its, all verified; damaged copies unverified", checked)
}

// compileTestRules compiles src or fails the test.
func compileTestRules(t *testing.T, src string) *Rules {
	t.Helper()
	f, err := Parse("test.yar", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := Compile(&CompileConfig{}, f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPESignatures43EFI checks the signatures of Debian's signed EFI
// binaries (shim-signed, grub-efi-amd64-signed): yara 4.3 reports them
// verified (the digests match and Microsoft's or Debian's key verifies
// the signature; no trust store is consulted), and the claimed, computed
// and signer digests equal osslsigncode's for the files it reads.
func TestPESignatures43EFI(t *testing.T) {
	tool := testenv.NeedTool(t, "osslsigncode")
	files := needFiles(t, "signed EFI binaries", "/usr/lib/shim/*.efi.signed", "/usr/lib/grub/x86_64-efi-signed/*.efi.signed")
	verified, compared := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		isSigned, sigs := loadSig43(t, data)
		if len(sigs) == 0 {
			t.Errorf("%s: no signature", f)
			continue
		}
		if isSigned != 1 {
			t.Errorf("%s: is_signed = %d: %+v", f, isSigned, sigs)
		}
		for _, s := range sigs {
			if s.verified == 1 {
				verified++
			}
		}
		peer, _ := osslVerify(t, tool, f, "")
		if len(peer) == 0 {
			continue // osslsigncode cannot read the table (shimx64's)
		}
		s := sigs[0]
		p, _ := peerFor(peer, s.digest)
		if s.digest != p.current || s.fileDig != p.calculated || s.signerDigest != p.signer {
			t.Errorf("%s: digest %s file_digest %s signer %s; osslsigncode %+v", f, s.digest, s.fileDig, s.signerDigest, p)
		}
		compared++
	}
	t.Logf("%d signed EFI binaries: %d signatures verified, %d compared with osslsigncode", len(files), verified, compared)
	if compared < 1 {
		t.Fatalf("no signature compared with osslsigncode")
	}
}

// TestPESignatures43Countersignatures checks the countersignatures of
// yara's timestamped test files, a PKCS#9 one (the SHA-1 signatures) and
// a Microsoft RFC 3161 token (3b8b…'s nested SHA-256 signature): each
// verifies, its time is the timestamp time osslsigncode verify prints,
// and its chain leads from the timestamp signer to its CA.
func TestPESignatures43Countersignatures(t *testing.T) {
	tool := testenv.NeedTool(t, "osslsigncode")
	dir := sharedDir(t, "testdata/yara")
	total := 0
	for _, name := range []string{
		"079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885",
		"3b8b90159fa9b6048cc5410c5d53f116943564e4d05b04a843f9b3d0540d0c1c",
	} {
		file := filepath.Join(dir, "data", name)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		peer, _ := osslVerify(t, tool, file, "")
		obj, err := newPEModule().Load(&ScanContext{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range obj.Fields["signatures"].Items {
			p, found := peerFor(peer, string(it.Fields["digest"].Str))
			cs := it.Fields["countersignatures"].Items
			if !found || p.timestamp == 0 || len(cs) != 1 {
				t.Errorf("%s [%d]: %d countersignatures; osslsigncode %+v", name, i, len(cs), p)
				continue
			}
			c := cs[0].Fields
			if c["verified"].Int != 1 || c["sign_time"].Int != p.timestamp || c["length_of_chain"].Int != 2 || !c["digest"].Defined {
				t.Errorf("%s [%d]: verified %d sign_time %d chain %d; osslsigncode's time %d",
					name, i, c["verified"].Int, c["sign_time"].Int, c["length_of_chain"].Int, p.timestamp)
			}
			total++
		}
	}
	if total < 3 {
		t.Fatalf("%d countersignatures checked, want 3", total)
	}
}

// BenchmarkPELoadSigned measures the pe module's Load of a signed file,
// which now hashes the file once per digest algorithm and verifies each
// signature and countersignature: the price of yara 4.3's members.
func BenchmarkPELoadSigned(b *testing.B) {
	m := newPEModule()
	for _, name := range []string{
		"../../shared/testdata/yara/data/3b8b90159fa9b6048cc5410c5d53f116943564e4d05b04a843f9b3d0540d0c1c",
		"/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
	} {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Logf("skipping %s: %v", name, err)
			continue
		}
		b.Run(filepath.Base(name)[:8], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := m.Load(&ScanContext{Data: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
