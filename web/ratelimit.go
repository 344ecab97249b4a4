package web

import (
	"sync"
	"time"
)

// maxLimiterKeys bounds the limiter's memory. When that many clients and
// emails are being tracked at once (an attack from thousands of addresses),
// new keys are refused until old ones expire: failing closed keeps the
// limit meaningful.
const maxLimiterKeys = 100_000

// limiter counts failed sign-in attempts per key (client IP, email) in a
// sliding window. An attempt is reserved before the password is checked,
// so concurrent attempts cannot slip past the limit, and refunded when it
// succeeds: only failures count.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	hits   map[string][]time.Time // times of the attempts in the window, oldest first
	swept  time.Time
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, now: now, hits: map[string][]time.Time{}}
}

// reserve records an attempt for every key, unless one of them is at the
// limit; then it records nothing and says how long until a slot frees up.
func (l *limiter) reserve(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	var wait time.Duration
	for _, k := range keys {
		h := l.prune(k, now)
		if len(h) >= l.limit {
			wait = max(wait, h[len(h)-l.limit].Add(l.window).Sub(now))
		} else if h == nil && len(l.hits) >= maxLimiterKeys {
			wait = max(wait, l.window)
		}
	}
	if wait > 0 {
		return false, wait
	}
	for _, k := range keys {
		l.hits[k] = append(l.hits[k], now)
	}
	return true, 0
}

// refund takes back the latest attempt of every key.
func (l *limiter) refund(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if h := l.hits[k]; len(h) > 1 {
			l.hits[k] = h[:len(h)-1]
		} else {
			delete(l.hits, k)
		}
	}
}

// prune drops the attempts of k that left the window.
func (l *limiter) prune(k string, now time.Time) []time.Time {
	h := l.hits[k]
	i := 0
	for i < len(h) && !h[i].After(now.Add(-l.window)) {
		i++
	}
	switch {
	case i == len(h):
		delete(l.hits, k)
		return nil
	case i > 0:
		h = append(h[:0:0], h[i:]...)
		l.hits[k] = h
	}
	return h
}

// sweep forgets expired keys, at most once a window (every ten seconds
// while the limiter is full).
func (l *limiter) sweep(now time.Time) {
	every := l.window
	if len(l.hits) >= maxLimiterKeys {
		every = min(every, 10*time.Second)
	}
	if now.Sub(l.swept) < every {
		return
	}
	l.swept = now
	for k := range l.hits {
		l.prune(k, now)
	}
}
