package runner

import "time"

// Evict forgets m's idle runs last used before cutoff, for tests.
func Evict(m *Manager, cutoff time.Time) int { return m.evict(cutoff) }
