package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
)

// Presets through the API: managers save, everyone reads, names are
// unique per project and plugin, and a Config JSON that is not JSON is
// refused with its place.
func TestPresetsAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstoreStore) {
		h := newHub(t, s, httpapi.Config{})
		keyFor := func(email, role string) string {
			var u labelhub.User
			h.must(h.rootKey, "POST", "/api/v1/users", `{"email":"`+email+`","name":"x","role":"`+role+`"}`, 201, &u)
			var k struct {
				APIKey string `json:"apiKey"`
			}
			h.must(h.rootKey, "POST", "/api/v1/api-keys", `{"name":"k","userId":"`+u.ID+`"}`, 201, &k)
			return k.APIKey
		}
		pm, labeler := keyFor("pm@example.com", "project-manager"), keyFor("lab@example.com", "labeler")
		var proj labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"P"}`, 201, &proj)
		var plug labelhub.Plugin
		h.must(h.rootKey, "POST", "/api/v1/plugins", `{"name":"COCO","type":"export"}`, 201, &plug)
		base := "/api/v1/projects/" + proj.ID + "/plugins/" + plug.ID + "/presets"

		var fast labelhub.Preset
		h.must(pm, "POST", base, `{"name":"fast","configJSON":"{\"q\": 1}"}`, 201, &fast)
		if fast.Name != "fast" || fast.ConfigJSON != `{"q": 1}` || fast.ProjectID != proj.ID || fast.PluginID != plug.ID {
			t.Fatalf("created %+v", fast)
		}
		// Invalid JSON names configJSON and where.
		r := h.as(h.rootKey, "POST", base, `{"name":"bad","configJSON":"{\"q\": 1,\n}"}`)
		e := wantError(t, r, 400, labelhub.ECodeInvalid)
		if msg := wantDetail(t, r, e, "configJSON", "not valid JSON"); !strings.Contains(msg, "offset 9") || !strings.Contains(msg, "line 2, column 1") {
			t.Errorf("message %q lacks the place", msg)
		}
		// Unknown fields are refused (strict JSON).
		wantError(t, h.as(h.rootKey, "POST", base, `{"name":"x","configJSON":"{}","config":"{}"}`), 400, labelhub.ECodeInvalid)
		// Same name: conflict.
		wantError(t, h.as(h.rootKey, "POST", base, `{"name":"fast","configJSON":"[]"}`), 409, labelhub.ECodeConflict)
		// Labelers read but do not write.
		wantError(t, h.as(labeler, "POST", base, `{"name":"mine","configJSON":"{}"}`), 403, labelhub.ECodeForbidden)
		var page labelhub.Page[labelhub.Preset]
		h.must(labeler, "GET", base, "", 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != fast.ID {
			t.Fatalf("list %+v", page)
		}
		var got labelhub.Preset
		h.must(labeler, "GET", "/api/v1/presets/"+fast.ID, "", 200, &got)
		if got.ConfigJSON != fast.ConfigJSON {
			t.Fatalf("get %+v", got)
		}
		wantError(t, h.as(labeler, "PATCH", "/api/v1/presets/"+fast.ID, `{"name":"x"}`), 403, labelhub.ECodeForbidden)
		wantError(t, h.as(labeler, "DELETE", "/api/v1/presets/"+fast.ID, ""), 403, labelhub.ECodeForbidden)

		var slow labelhub.Preset
		h.must(h.rootKey, "POST", base, `{"name":"slow","configJSON":"{\"q\": 9}"}`, 201, &slow)
		wantError(t, h.as(pm, "PATCH", "/api/v1/presets/"+slow.ID, `{"name":"fast"}`), 409, labelhub.ECodeConflict)
		r = h.as(pm, "PATCH", "/api/v1/presets/"+slow.ID, `{"configJSON":"nope"}`)
		wantDetail(t, r, wantError(t, r, 400, labelhub.ECodeInvalid), "configJSON", "offset 1 (line 1, column 2)")
		h.must(pm, "PATCH", "/api/v1/presets/"+slow.ID, `{"name":"thorough"}`, 200, &got)
		if got.Name != "thorough" || got.ConfigJSON != `{"q": 9}` {
			t.Fatalf("patched %+v", got)
		}
		h.must(pm, "DELETE", "/api/v1/presets/"+fast.ID, "", 204, nil)
		wantError(t, h.as(pm, "GET", "/api/v1/presets/"+fast.ID, ""), 404, labelhub.ECodeNotFound)
		h.must(labeler, "GET", base, "", 200, &page)
		if b, _ := json.Marshal(page.Items); len(page.Items) != 1 || page.Items[0].Name != "thorough" {
			t.Fatalf("list after delete %s", b)
		}
		// A plugin or project that is not there is 404 for everyone.
		wantError(t, h.as(h.rootKey, "GET", "/api/v1/projects/"+proj.ID+"/plugins/"+proj.ID+"/presets", ""), 404, labelhub.ECodeNotFound)
		wantError(t, h.as(h.rootKey, "POST", "/api/v1/projects/"+plug.ID+"/plugins/"+plug.ID+"/presets", `{"name":"x","configJSON":"{}"}`), 404, labelhub.ECodeNotFound)
	})
}
