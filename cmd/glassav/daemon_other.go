//go:build !unix

package main

import (
	"context"
	"errors"
)

func handleSignals(ctx context.Context, reload, reopen func()) (stop func()) { return func() {} }

func dropPrivileges(string) error { return errors.New("User is supported on unix systems only") }
