package scan

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/glassav/glassav/report"
)

// task is one unit of the walk, in walk order: either an object decided
// without reading (obj) or a file to read and scan (path/stdin).
type task struct {
	seq   int
	obj   *report.Object
	path  string
	stdin bool
}

// walker turns arguments into tasks. It runs on one goroutine; submit
// blocks while the window of tasks in flight is full and returns false once
// the scan is cancelled.
type walker struct {
	opt    *Options
	submit func(task) bool
	dirs   int64 // directories listed
}

// stdinName is how clamscan names "-" in its output.
const stdinName = "stdin"

// args walks the command-line paths in order.
func (w *walker) args(paths []string) {
	for _, p := range paths {
		if !w.arg(p) {
			return
		}
	}
}

func (w *walker) arg(p string) bool {
	if p == "-" {
		return w.submit(task{path: stdinName, stdin: true})
	}
	p = trimSlash(p)
	fi, err := os.Lstat(p)
	if err != nil {
		o := report.NewObject(p, report.StatusError)
		o.SetError(report.CodeCantAccess, errnoText(err))
		return w.emit(o)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			// clamscan says nothing about a dangling link argument.
			return w.skip(p, report.CodeBrokenSymlink)
		case st.IsDir() && w.opt.FollowDirSymlinks == FollowNever,
			!st.IsDir() && w.opt.FollowFileSymlinks == FollowNever:
			return w.emit(report.NewObject(p, report.StatusSymlink))
		}
		fi = st
	}
	switch {
	case fi.IsDir():
		if !w.opt.Filter.Dir(p) {
			return w.excluded(p, report.CodePattern)
		}
		return w.dir(p, realPath(p), fi, 1, nil)
	case fi.Mode().IsRegular():
		return w.file(p, realPath(p), sizeOf(fi))
	}
	o := report.NewObject(p, report.StatusError)
	o.SetError(report.CodeUnsupported, "not a regular file or directory")
	return w.emit(o)
}

// dir lists a directory at the given level and walks its entries sorted
// by name. real is its absolute path with links resolved, the base of its
// files' real paths. ancestors holds the directories above it, used to stop
// loops when directory links are followed.
func (w *walker) dir(p, real string, fi fs.FileInfo, level int, ancestors []fs.FileInfo) bool {
	if level > w.opt.MaxDirRecursion {
		return true
	}
	for _, a := range ancestors {
		if os.SameFile(a, fi) {
			return w.skip(p, report.CodeSymlinkLoop)
		}
	}
	entries, err := os.ReadDir(p)
	if err != nil && len(entries) == 0 {
		o := report.NewObject(p, report.StatusError)
		o.SetError(report.CodeOpenDir, errnoText(err))
		return w.emit(o)
	}
	w.dirs++
	follow := w.opt.FollowDirSymlinks == FollowAlways || w.opt.FollowFileSymlinks == FollowAlways
	if w.opt.FollowDirSymlinks == FollowAlways {
		ancestors = append(ancestors, fi)
	}
	for _, e := range entries {
		child := join(p, e.Name())
		var ok bool
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			ok = w.link(child, level, ancestors, follow)
		case t.IsDir():
			if !w.opt.Filter.Dir(child) {
				ok = w.excluded(child, report.CodePattern)
				break
			}
			var cfi fs.FileInfo // needed only to detect loops
			if w.opt.FollowDirSymlinks == FollowAlways {
				var ierr error
				if cfi, ierr = e.Info(); ierr != nil {
					o := report.NewObject(child, report.StatusError)
					o.SetError(report.CodeOpenDir, errnoText(ierr))
					ok = w.emit(o)
					break
				}
			}
			ok = w.dir(child, join(real, e.Name()), cfi, level+1, ancestors)
		case t.IsRegular():
			ok = w.file(child, join(real, e.Name()), func() (int64, error) {
				fi, err := e.Info()
				if err != nil {
					return 0, err
				}
				return fi.Size(), nil
			})
		default:
			// FIFOs, devices and sockets inside directories are skipped
			// without a word, as clamscan does.
			ok = w.skip(child, report.CodeSpecial)
		}
		if !ok {
			return false
		}
	}
	if err != nil {
		o := report.NewObject(p, report.StatusError)
		o.SetError(report.CodeOpenDir, errnoText(err))
		return w.emit(o)
	}
	return true
}

// link handles a symbolic link met while walking.
func (w *walker) link(p string, level int, ancestors []fs.FileInfo, follow bool) bool {
	if !follow {
		return w.emit(report.NewObject(p, report.StatusSymlink))
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return w.skip(p, report.CodeBrokenSymlink)
	case st.IsDir():
		if w.opt.FollowDirSymlinks != FollowAlways {
			return w.emit(report.NewObject(p, report.StatusSymlink))
		}
		if !w.opt.Filter.Dir(p) {
			return w.excluded(p, report.CodePattern)
		}
		return w.dir(p, realPath(p), st, level+1, ancestors)
	case st.Mode().IsRegular():
		if w.opt.FollowFileSymlinks != FollowAlways {
			return w.emit(report.NewObject(p, report.StatusSymlink))
		}
		return w.file(p, realPath(p), sizeOf(st))
	}
	return w.skip(p, report.CodeSpecial)
}

// file decides on a regular file: excluded, empty, or to be scanned. The
// size is asked for last, so that excluded files are not even looked at.
func (w *walker) file(p, real string, size func() (int64, error)) bool {
	if isProc(real) {
		return w.excluded(p, report.CodeProc)
	}
	if !w.opt.Filter.File(real) {
		return w.excluded(p, report.CodePattern)
	}
	n, err := size()
	if err != nil {
		// Removed while we walked; clamscan would fail to open it.
		o := report.NewObject(p, report.StatusError)
		o.SetError(report.CodeRead, "Can't open file or directory")
		return w.emit(o)
	}
	if n == 0 {
		return w.emit(report.NewObject(p, report.StatusEmpty))
	}
	return w.submit(task{path: p})
}

func sizeOf(fi fs.FileInfo) func() (int64, error) {
	return func() (int64, error) { return fi.Size(), nil }
}

func (w *walker) emit(o *report.Object) bool { return w.submit(task{obj: o}) }

func (w *walker) skip(p string, c report.Code) bool {
	o := report.NewObject(p, report.StatusSkipped)
	o.Code = c
	return w.emit(o)
}

func (w *walker) excluded(p string, c report.Code) bool {
	o := report.NewObject(p, report.StatusExcluded)
	o.Code = c
	return w.emit(o)
}

// join appends a name to a walked path without cleaning it, so "./t" and
// "t//sub" stay as the user wrote them, as in clamscan's output.
func join(dir, name string) string {
	if strings.HasSuffix(dir, string(filepath.Separator)) || strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

// trimSlash removes trailing separators ("t/" is reported as "t"), keeping
// a lone root.
func trimSlash(p string) string {
	for len(p) > 1 && os.IsPathSeparator(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	return p
}

// realPath returns the absolute path of p with links resolved, or the
// absolute path when resolution fails.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

// isProc reports whether a real path lies under /proc, whose files are
// never scanned: reading some of them blocks or never ends.
func isProc(real string) bool { return strings.HasPrefix(real, "/proc/") }

// errnoText returns the C library wording of a file system error
// ("No such file or directory"), which clamscan prints.
func errnoText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
