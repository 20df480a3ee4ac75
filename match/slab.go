package match

// slab hands out small slices carved from shared chunks, so that a
// Matcher of 100,000 patterns costs a few hundred allocations instead of
// several per pattern, and the garbage collector has few objects to scan.
// Each slice is capped at its length, so appending to it copies rather
// than overwriting its neighbour.
type slab[T any] struct {
	buf  []T
	next int // size of the next chunk
}

const (
	slabFirst = 64
	slabMax   = 1 << 13
)

func (s *slab[T]) alloc(n int) []T {
	if n == 0 {
		return nil
	}
	if n > cap(s.buf)-len(s.buf) {
		s.next = min(max(s.next*2, slabFirst), slabMax)
		s.buf = make([]T, 0, max(n, s.next))
	}
	l := len(s.buf)
	s.buf = s.buf[:l+n]
	return s.buf[l : l+n : l+n]
}
