package hcloudsim

import (
	"sync"
	"time"
)

// rateLimiter is Hetzner's token bucket: limit requests per hour, a burst of
// the whole limit, refilled evenly (3600/h gains one request per second).
type rateLimiter struct {
	mu        sync.Mutex
	limit     int
	available float64
	last      time.Time
	now       func() time.Time
}

func newRateLimiter(limit int, now func() time.Time) *rateLimiter {
	return &rateLimiter{limit: limit, available: float64(limit), last: now(), now: now}
}

// take spends one request if available and reports the headers' values.
func (l *rateLimiter) take() (ok bool, limit, remaining int, reset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	perSecond := float64(l.limit) / 3600
	l.available = min(float64(l.limit), l.available+t.Sub(l.last).Seconds()*perSecond)
	l.last = t
	if l.available >= 1 {
		l.available--
		ok = true
	}
	missing := float64(l.limit) - l.available
	reset = t.Add(time.Duration(missing / perSecond * float64(time.Second))).Unix()
	return ok, l.limit, int(l.available), reset
}
