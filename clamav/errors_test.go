package clamav

import (
	"testing"

	"github.com/glassav/glassav/ir"
)

// TestLoadErrors has one case per malformed construct. Every one of them
// also fails clamscan 1.4.6's load (exit 2); the message is glassav's:
// format, file, line, reason.
func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"x.ndb", "", "ndb x.ndb: empty database file"},
		{"x.ndb", "A:0:*:616263\n\n", "ndb x.ndb:2: empty line"},
		{"x.ndb", "A:0:*\n", "ndb x.ndb:1: want Name:Target:Offset:HexSig[:MinFL[:MaxFL]], got 3 fields"},
		{"x.ndb", "A:0:*:616263:1:2:3\n", "ndb x.ndb:1: want Name:Target:Offset:HexSig[:MinFL[:MaxFL]], got 7 fields"},
		{"x.ndb", ":0:*:616263\n", "ndb x.ndb:1: empty signature name"},
		{"x.ndb", "A:x:*:616263\n", "ndb x.ndb:1: target \"x\": invalid number"},
		{"x.ndb", "A:1:EP+x:616263\n", "ndb x.ndb:1: offset \"EP+x\": invalid number"},
		{"x.ndb", "A:0:EP+1:616263\n", "ndb x.ndb:1: offset \"EP+1\": EP offsets need target 1, 6 or 9, not 0"},
		{"x.ndb", "A:1:S1:616263\n", "ndb x.ndb:1: offset \"S1\": want Sx+n"},
		{"x.ndb", "A:0:10,x:616263\n", "ndb x.ndb:1: offset \"10,x\": invalid number"},
		{"x.ndb", "A:0:$40$:616263\n", "ndb x.ndb:1: offset \"$40$\": macro group must be below 32"},
		{"x.ndb", "A:0:*:616263:x\n", "ndb x.ndb:1: minimum functionality level \"x\": invalid number"},
		{"x.ndb", "A:0:*:616263:1:y\n", "ndb x.ndb:1: maximum functionality level \"y\": invalid number"},
		{"x.ndb", "A:0:*:6162\n", "ndb x.ndb:1: signature A: static signature of 2 bytes is too short (ClamAV needs 3)"},
		{"x.ndb", "A:0:*:61??63\n", "ndb x.ndb:1: signature A: part \"61??63\" has no 2 consecutive static bytes"},
		{"x.ndb", "A:0:*:6162GG\n", "ndb x.ndb:1: signature A: invalid hex \"GG\""},
		{"x.ndb", "A:0:*:61626\n", "ndb x.ndb:1: signature A: odd number of hex digits in \"61626\""},
		{"x.ndb", "A:0:*:616263*\n", "ndb x.ndb:1: signature A: empty part next to '*' or '{}' gap"},
		{"x.ndb", "A:0:*:616263()\n", "ndb x.ndb:1: signature A: empty ()"},
		{"x.ndb", "A:0:*:6162!(63|6465)\n", "ndb x.ndb:1: signature A: generic alternatives cannot be negated"},
		{"x.ndb", "A:0:*:6162[2-5]6364\n", "ndb x.ndb:1: signature A: [n-m] needs a single byte on one side"},
		{"x.ndb", "A:0:*:6162[1-40]63\n", "ndb x.ndb:1: signature A: invalid range [1-40] (0..32)"},
		{"x.ndb", "A:0:*:61(B)6263\n", "ndb x.ndb:1: signature A: part \"61(B)6263\": ClamAV cannot build a prefilter for it (fewer than 2 elements before an alternative or (B)/(L)/(W))"},
		{"x.ndb", "A:0:*:616263{1-2-3}6465\n", "ndb x.ndb:1: signature A: invalid gap {1-2-3}"},
		{"x.ndb", "A:0:*:6162(6364\n", "ndb x.ndb:1: signature A: missing ')'"},
		{"x.ndb", "A:0:*:61626364(61|*62)\n", "ndb x.ndb:1: signature A: '*' inside an alternative"},
		{"x.ndb", "A:0:*:61626364(61|{1-2}62)\n", "ndb x.ndb:1: signature A: ranged gap {..} inside an alternative"},
		{"x.ndb", "A:0:*:616263/abc/\n", "ndb x.ndb:1: regular expressions are only valid in logical signatures"},
		{"x.ldb", "L;Target:0;0;616263;\n", "ldb x.ldb:1: signature L: the logical expression uses subsignatures 0..0, the line has 2"},
		{"x.ldb", "L;Target:0;0\n", "ldb x.ldb:1: want Name;TargetDescription;LogicalExpression;Subsig0[;Subsig1...]"},
		{"x.ldb", "L;Engine:51-255;0;616263\n", "ldb x.ldb:1: signature L: no Target in the target description block"},
		{"x.ldb", "L;Target:0,Engine:51-255;0;616263\n", "ldb x.ldb:1: signature L: Engine must be the first attribute"},
		{"x.ldb", "L;Target:0,FileSize:10;0;616263\n", "ldb x.ldb:1: signature L: FileSize \"10\": want min-max"},
		{"x.ldb", "L;Target:0;0&1;616263\n", "ldb x.ldb:1: signature L: the logical expression uses subsignatures 0..1, the line has 1"},
		{"x.ldb", "L;Target:0;(0;616263\n", "ldb x.ldb:1: signature L: logical expression \"(0\": missing ')'"},
		{"x.ldb", "L;Target:0;0;6162::x\n", "ldb x.ldb:1: signature L: subsignature 0: invalid modifier 'x'"},
		{"x.ldb", "L;Target:0;0;EP+0:616263\n", "ldb x.ldb:1: signature L: subsignature 0: offset \"EP+0\": EP offsets need target 1, 6 or 9, not 0"},
		{"x.ldb", "L;Target:0;0;!(61|62)6364::i\n", "ldb x.ldb:1: signature L: subsignature 0: generic alternatives cannot be negated"},
		{"x.db", "A616263\n", "db x.db:1: want Name=HexSig"},
		{"x.ign2", "A:123\n", "ign2 x.ign2:1: MD5 \"123\": want 32 hex digits"},
		{"x.foo", "A\n", "x.foo: unknown database type"},
		{"x.ign2", "A\n\nB\n", "ign2 x.ign2:2: empty line"},
		{"x.ldb", "L;Target:0,Container:CL_TYPE_ZIP;0;616263\n", "ldb x.ldb:1: signature L: attributes other than Target need Engine:51-... (or higher) first"},
		{"x.ldb", "L;Engine:51-255,Target:0,FileSize:10-5;0;616263\n", "ldb x.ldb:1: signature L: FileSize \"10-5\": min above max"},
		{"x.hdb", "900150983cd24fb0d6963f7d28e17f72:*:X\n", ""},
	}
	for _, tt := range tests {
		err := LoadFile(ir.NewSet(), tt.name, []byte(tt.data), Options{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s %q: loaded, want an error", tt.name, tt.data)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s %q:\n got %s\nwant %s", tt.name, tt.data, got, tt.want)
		}
	}
}
