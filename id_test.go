package labelhub

import "testing"

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
