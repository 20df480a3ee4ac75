package scan

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct {
		name        string
		data        string
		hint, limit int64
		want        int
		tooBig      bool
	}{
		{"exact hint", "hello", 5, 0, 5, false},
		{"no hint", long, 0, 0, 10000, false},
		{"hint too small (file grew)", long, 10, 0, 10000, false},
		{"hint too large (file shrank)", "abc", 100, 0, 3, false},
		{"at limit", "12345", 5, 5, 5, false},
		{"over limit", "123456", 5, 5, 6, true},
		{"grew past limit", long, 10, 100, 101, true},
		{"empty", "", 0, 10, 0, false},
	} {
		for _, r := range []io.Reader{strings.NewReader(tc.data), iotest.OneByteReader(strings.NewReader(tc.data))} {
			got, err := readAll(r, tc.hint, tc.limit, nil)
			if errors.Is(err, errTooBig) != tc.tooBig || (err != nil && !tc.tooBig) {
				t.Errorf("%s: err %v", tc.name, err)
			}
			if len(got) != tc.want || !bytes.Equal(got, []byte(tc.data[:tc.want])) {
				t.Errorf("%s: read %d bytes, want %d", tc.name, len(got), tc.want)
			}
		}
	}
}

func TestReadAllReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 100)
	got, err := readAll(strings.NewReader("abc"), 3, 0, buf)
	if err != nil || &got[0] != &buf[:1][0] {
		t.Errorf("buffer not reused (err %v)", err)
	}
}

func TestReadAllError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := readAll(iotest.ErrReader(boom), 10, 0, nil); !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
}
