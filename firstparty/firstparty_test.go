package firstparty_test

import (
	"regexp"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/firstparty"
)

// TestListIsValid: every entry can become a plugin row and a process.
func TestListIsValid(t *testing.T) {
	name := regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	seen := map[string]bool{}
	for _, p := range firstparty.All() {
		if !name.MatchString(p.Name) || seen[p.Name] {
			t.Errorf("%q: the name must be unique, lower case letters, digits and dashes", p.Name)
		}
		seen[p.Name] = true
		title, typ := p.Title, p.Type
		in := labelhub.PluginInput{Name: &title, Type: &typ, Description: &p.Description, DefaultConfig: &p.DefaultConfig}
		if err := in.Validate(true); err != nil {
			t.Errorf("%q: %v", p.Name, err)
		}
		if p.Handler == nil || p.Handler() == nil {
			t.Errorf("%q: no handler", p.Name)
		}
		if got, ok := firstparty.Lookup(p.Name); !ok || got.Title != p.Title {
			t.Errorf("Lookup(%q) = %+v, %v", p.Name, got, ok)
		}
	}
	if _, ok := firstparty.Lookup("no-such-plugin"); ok {
		t.Error("Lookup found a plugin that does not exist")
	}
}
