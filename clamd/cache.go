package clamd

import (
	"crypto/sha256"
	"sync"
)

// verdictCache remembers stream verdicts by content digest and rule
// generation, so that the same attachment sent by a thousand clients is
// scanned once per rule set. A new generation makes every old entry miss
// (they age out); the cache never answers with stale rules.
type verdictCache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]verdict
}

type cacheKey struct {
	sum [sha256.Size]byte
	gen uint64
	all bool
}

// verdict is a cached scan outcome: the detection names (none: clean).
type verdict struct {
	names []string
}

func newVerdictCache(n int) *verdictCache {
	return &verdictCache{max: n, entries: make(map[cacheKey]verdict, n)}
}

func (c *verdictCache) get(k cacheKey) (verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[k]
	return v, ok
}

// put stores a verdict, evicting an arbitrary entry when full (map order is
// random enough, and it costs nothing to keep).
func (c *verdictCache) put(k cacheKey, v verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for old := range c.entries {
			if old.gen != k.gen || len(c.entries) >= c.max {
				delete(c.entries, old)
			}
			if len(c.entries) < c.max {
				break
			}
		}
	}
	c.entries[k] = v
}
