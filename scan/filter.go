package scan

import (
	"regexp"
	"strings"
)

// Filter holds clamscan's selection patterns. As in clamscan 1.4.6, file
// patterns (Exclude, Include) are matched against the file's absolute path
// with symbolic links resolved, and directory patterns (ExcludeDir,
// IncludeDir) against the directory's path as walked (the argument joined
// with the names below it). A pattern ending in "/" is matched against the
// path with a "/" appended, so "tmp/" matches a directory named tmp.
type Filter struct {
	Exclude    []*regexp.Regexp
	Include    []*regexp.Regexp
	ExcludeDir []*regexp.Regexp
	IncludeDir []*regexp.Regexp
}

// File reports whether the file with the given real path is scanned: it
// matches no Exclude pattern and, when there are Include patterns, one of
// them.
func (f *Filter) File(real string) bool {
	return selected(real, f.Exclude, f.Include)
}

// Dir reports whether the directory at path is entered.
func (f *Filter) Dir(path string) bool {
	return selected(path, f.ExcludeDir, f.IncludeDir)
}

func selected(s string, exclude, include []*regexp.Regexp) bool {
	if matchAny(s, exclude) {
		return false
	}
	return len(include) == 0 || matchAny(s, include)
}

func matchAny(s string, res []*regexp.Regexp) bool {
	for _, re := range res {
		t := s
		if strings.HasSuffix(re.String(), "/") {
			t += "/"
		}
		if re.MatchString(t) {
			return true
		}
	}
	return false
}
