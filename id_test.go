package labelhub

import (
	"testing"
	"time"
)

func TestNewIDOrderedAndValid(t *testing.T) {
	prev := ""
	seen := map[string]bool{}
	for range 100000 {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID made %q, which ValidID refuses", id)
		}
		if id <= prev {
			t.Fatalf("ids out of order: %q after %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		prev = id
	}
	for _, bad := range []string{"", "short", "06h06m7qhnwf8nztygza0vnhpU", "06h06m7qhnwf8nztygza0vnhp0x", "../../../../etc/passwd0000"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// TestIDFloor: the floor of a moment is below every id made from then on
// and above every id made a millisecond or more before it.
func TestIDFloor(t *testing.T) {
	before := NewID()
	time.Sleep(2 * time.Millisecond)
	start := time.Now()
	floor := IDFloor(start)
	if !ValidID(floor) {
		t.Fatalf("IDFloor made %q, which ValidID refuses", floor)
	}
	if before >= floor {
		t.Fatalf("an id made before the start, %q, is not below its floor %q", before, floor)
	}
	for range 1000 {
		if id := NewID(); id < floor {
			t.Fatalf("id %q made after the start is below its floor %q", id, floor)
		}
	}
	if got := IDFloor(start.Add(-time.Millisecond)); got >= floor {
		t.Fatalf("the floor a millisecond earlier, %q, is not below %q", got, floor)
	}
	if IDFloor(time.UnixMilli(-5)) != IDFloor(time.UnixMilli(0)) {
		t.Fatal("a time before 1970 has a floor of its own")
	}
}
