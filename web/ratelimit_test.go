package web

import (
	"testing"
	"time"
)

func TestLimiterSlidingWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(3, 5*time.Minute, func() time.Time { return now })

	for i := 0; i < 3; i++ {
		if ok, _ := l.reserve("ip:a", "email:x"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		now = now.Add(time.Minute)
	}
	// 12:03: the attempts of 12:00, 12:01, 12:02 fill the window; the
	// first leaves it at 12:05.
	ok, wait := l.reserve("ip:a", "email:y")
	if ok || wait != 2*time.Minute {
		t.Fatalf("4th attempt: ok=%v wait=%v, want refused for 2m", ok, wait)
	}
	// A refused attempt records nothing: email:y is still free elsewhere.
	if ok, _ := l.reserve("ip:b", "email:y"); !ok {
		t.Fatal("email:y was charged for a refused attempt")
	}
	l.refund("ip:b", "email:y")

	now = now.Add(2 * time.Minute) // 12:05
	if ok, _ := l.reserve("ip:a"); !ok {
		t.Fatal("a slot should be free once the oldest attempt left the window")
	}
	if ok, wait := l.reserve("ip:a"); ok || wait != time.Minute {
		t.Fatalf("ok=%v wait=%v, want refused for 1m", ok, wait)
	}

	// Refunds give the slot back (successful logins do not count).
	now = now.Add(time.Hour)
	for i := 0; i < 10; i++ {
		if ok, _ := l.reserve("ip:c"); !ok {
			t.Fatalf("refunded attempts still count (attempt %d)", i+1)
		}
		l.refund("ip:c")
	}
	// Old keys are swept.
	now = now.Add(time.Hour)
	l.reserve("ip:d")
	if len(l.hits) != 1 {
		t.Fatalf("%d keys kept after sweeping, want 1", len(l.hits))
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]bool{
		"/projects":              true,
		"/projects/x?cursor=a#b": true,
		"":                       false,
		"projects":               false,
		"//evil.example":         false,
		"///evil.example":        false,
		`/\evil.example`:         false,
		"/%2F/evil.example":      false, // decodes to "//evil.example": refused to be safe
		"https://evil.example":   false,
		"/ok\r\nSet-Cookie: x=y": false,
		"javascript:alert(1)":    false,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %v, want %v", next, got, want)
		}
	}
}
