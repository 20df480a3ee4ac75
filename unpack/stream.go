package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// emitRead reads one member from r through b and emits it: a member cut
// short by a limit or by corrupt input is still emitted with the bytes read,
// so what could be read is scanned. It returns the limit or context error
// as it is and wraps any other read error as corrupt input of format at
// off.
func emitRead(ctx context.Context, b *Budget, r io.Reader, packed int64, m Member, format string, off int64, emit func(Member) error) error {
	return emitReadSized(ctx, b, r, packed, -1, m, format, off, emit)
}

// emitReadSized is emitRead for a member whose stated size is size (see
// Budget.ReadSized).
func emitReadSized(ctx context.Context, b *Budget, r io.Reader, packed, size int64, m Member, format string, off int64, emit func(Member) error) error {
	data, err := b.ReadSized(ctx, r, packed, size)
	if err == nil || len(data) > 0 {
		m.Data = data
		if eerr := emit(m); eerr != nil {
			return eerr
		}
	}
	return classify(err, format, off)
}

// emitStored accounts for data stored verbatim in the container and
// emits it, like emitRead.
func emitStored(b *Budget, data []byte, m Member, emit func(Member) error) error {
	d, err := b.Stored(data)
	if err == nil || len(d) > 0 {
		m.Data = d
		if eerr := emit(m); eerr != nil {
			return eerr
		}
	}
	return err
}

// classify returns err unchanged when it is nil, a limit, a format error or
// the context's error, and otherwise wraps it as corrupt input.
func classify(err error, format string, off int64) error {
	if err == nil {
		return nil
	}
	if _, ok := IsLimit(err); ok {
		return err
	}
	var fe *FormatError
	if errors.As(err, &fe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &FormatError{Format: format, Offset: off, Err: err}
}

var errBadMagic = errors.New("bad magic")

func errShort(want, have int) error {
	return fmt.Errorf("header needs %d bytes, %d left", want, have)
}

func cpioFieldError(enc string, err error) error {
	return fmt.Errorf("%s header field: %w", enc, err)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
