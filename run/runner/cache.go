package runner

import (
	"container/list"
	"sync"

	"github.com/contrastive-explorer/explorer/run"
)

// epochCacheBytes bounds the epochs the manager keeps decoded: enough for
// the few epochs viewers are looking at (a Fashion-MNIST epoch is 1.3 MB).
const epochCacheBytes = 64 << 20

// epochCache keeps recently used epochs' records, evicting the least
// recently used past its byte budget, so that neighbours and search of the
// epoch on screen do not read the store every time.
type epochCache struct {
	max int64

	mu    sync.Mutex
	bytes int64
	order *list.List // of *cached, most recent first
	byKey map[epochKey]*list.Element
}

type epochKey struct {
	run   string
	epoch int
}

type cached struct {
	key epochKey
	rec run.EpochRecord
}

func newEpochCache(max int64) *epochCache {
	return &epochCache{max: max, order: list.New(), byKey: make(map[epochKey]*list.Element)}
}

func recordBytes(rec run.EpochRecord) int64 {
	n := 4*int64(len(rec.Embeddings)) + int64(len(rec.Metrics))
	for _, p := range rec.Pairs {
		n += int64(len(p.ViewA)+len(p.ViewB)+len(p.TextA)+len(p.TextB)) + 64
	}
	return n
}

// get returns a cached epoch.
func (c *epochCache) get(id string, e int) (run.EpochRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[epochKey{id, e}]
	if !ok {
		return run.EpochRecord{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).rec, true
}

// put caches an epoch (without its checkpoint).
func (c *epochCache) put(id string, rec run.EpochRecord) {
	rec.Checkpoint = nil
	size := recordBytes(rec)
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := epochKey{id, rec.Epoch}
	if el, ok := c.byKey[k]; ok {
		c.bytes -= recordBytes(el.Value.(*cached).rec)
		el.Value.(*cached).rec = rec
		c.order.MoveToFront(el)
	} else {
		c.byKey[k] = c.order.PushFront(&cached{key: k, rec: rec})
	}
	c.bytes += size
	for c.bytes > c.max {
		el := c.order.Back()
		v := el.Value.(*cached)
		c.order.Remove(el)
		delete(c.byKey, v.key)
		c.bytes -= recordBytes(v.rec)
	}
}

// drop forgets every epoch of a run.
func (c *epochCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if v := el.Value.(*cached); v.key.run == id {
			c.order.Remove(el)
			delete(c.byKey, v.key)
			c.bytes -= recordBytes(v.rec)
		}
		el = next
	}
}
