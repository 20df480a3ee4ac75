package winord

import "testing"

func TestName(t *testing.T) {
	for _, tc := range []struct {
		dll  string
		ord  uint16
		want string
	}{
		{"WS2_32.dll", 1, "accept"},
		{"wsock32.DLL", 23, "socket"},
		{"ws2_32.dllx", 3, "closesocket"}, // a prefix match, as both peers compare
		{"OLEAUT32.dll", 2, "SysAllocString"},
		{"oleaut32.dll", 0, "ord0"},
		{"kernel32.dll", 1, "ord1"},
		{"ws2_32", 1, "ord1"},
	} {
		if got := Name(tc.dll, tc.ord); got != tc.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tc.dll, tc.ord, got, tc.want)
		}
	}
}
