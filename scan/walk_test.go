package scan

import "testing"

func TestPathHelpers(t *testing.T) {
	for _, tc := range []struct{ dir, name, want string }{
		{"t", "a", "t/a"}, {"./t", "a", "./t/a"}, {"t//sub", "a", "t//sub/a"}, {"/", "proc", "/proc"},
	} {
		if got := join(tc.dir, tc.name); got != tc.want {
			t.Errorf("join(%q, %q) = %q, want %q", tc.dir, tc.name, got, tc.want)
		}
	}
	for in, want := range map[string]string{"t/": "t", "t//": "t", "/": "/", "t": "t", "//": "/"} {
		if got := trimSlash(in); got != want {
			t.Errorf("trimSlash(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"/proc/self/status": true, "/proc": false, "/procfs/x": false, "/tmp/proc/x": false} {
		if got := isProc(in); got != want {
			t.Errorf("isProc(%q) = %v", in, got)
		}
	}
}
