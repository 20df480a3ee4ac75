package engine

import (
	"crypto/sha256"
	"sync"

	"github.com/glassav/glassav/filetype"
)

// cleanCache remembers the members of one top-level object found clean, so
// that an identical member met again in the same object (the same file
// stored a thousand times in an archive, the same attachment in every
// message of a mailbox) is not scanned again. ClamAV keeps such a cache
// per engine, keyed by the MD5 and size of every object it scanned clean
// (SHA2-256 since 1.5); this one lives as long as one top-level scan and
// keys by SHA-256, so no collision crafted in MD5 hides a member behind a
// clean one.
//
// The key also holds the member's type and its ancestors' types: a
// logical signature's Container: constraint sees the ancestors, so the
// same bytes in another container may match where the first did not.
//
// Only complete scans are remembered: once any limit has cut the object's
// unpacking short, nothing more is added (ClamAV marks every parent of a
// cut-short scan uncacheable — clam_cache_emax.tgz in its test corpus).
type cleanCache struct {
	mu  sync.Mutex
	max int
	set map[cacheKey]struct{}
}

type cacheKey struct {
	sum [sha256.Size]byte
	typ filetype.Type
	anc string
}

// cacheEntries bounds one top-level object's cache, as ClamAV bounds its
// engine's (65,536 entries): about 6 MiB at most.
const cacheEntries = 1 << 16

func newCleanCache(max int) *cleanCache {
	return &cleanCache{max: max, set: make(map[cacheKey]struct{})}
}

func keyOf(o *Object) cacheKey {
	anc := make([]byte, 0, 2*len(o.Ancestors))
	for _, a := range o.Ancestors {
		anc = append(anc, byte(a), byte(a>>8))
	}
	return cacheKey{sum: sha256.Sum256(o.Data), typ: o.Type, anc: string(anc)}
}

// clean reports whether k was scanned clean before.
func (c *cleanCache) clean(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.set[k]
	return ok
}

// add remembers k as clean, unless the cache is full.
func (c *cleanCache) add(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.set) < c.max {
		c.set[k] = struct{}{}
	}
}
