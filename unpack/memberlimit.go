package unpack

// memberLimited reports whether err only cut one member short — its size
// or compression ratio limit — so the container's other members are still
// read, as ClamAV skips a file over MaxFileSize and goes on. Other limits
// (files, scan size, time) end the whole object.
func memberLimited(err error) bool {
	le, ok := IsLimit(err)
	return ok && (le.Limit == LimitFileSize || le.Limit == LimitRatio)
}

// keepFirst sets *first to err unless it already holds an error.
func keepFirst(first *error, err error) {
	if *first == nil {
		*first = err
	}
}
