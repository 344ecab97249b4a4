package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/storage"
)

// openAPIDoc is the part of an OpenAPI 3 document the tests look at.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Security   []map[string][]string  `json:"security"`
	Paths      map[string]openAPIPath `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		Parameters      map[string]openAPIParam    `json:"parameters"`
		Schemas         map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// openAPIPath is a path item: its shared parameters and its operations.
type openAPIPath struct {
	Parameters []openAPIParam
	Operations map[string]openAPIOperation // lower-case method → operation
}

var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (p *openAPIPath) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.Operations = map[string]openAPIOperation{}
	for k, v := range raw {
		switch {
		case k == "parameters":
			if err := json.Unmarshal(v, &p.Parameters); err != nil {
				return err
			}
		case contains(openAPIMethods, k):
			var op openAPIOperation
			if err := json.Unmarshal(v, &op); err != nil {
				return err
			}
			p.Operations[k] = op
		}
	}
	return nil
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Parameters  []openAPIParam             `json:"parameters"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
	// Security is nil when the operation inherits the document's.
	Security *[]map[string][]string `json:"security"`
}

type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func loadOpenAPI(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	raw := httpapi.OpenAPI()
	if !json.Valid(raw) {
		t.Fatal("openapi.json is not valid JSON")
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	return doc, generic
}

// docPath turns a route pattern into its OpenAPI path: the parameter
// syntax is the same, except for {name...} and {$}.
func docPath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return paramRE.ReplaceAllString(p, "{$1}")
}

// routes lists the API's routes; New registers them without using the store.
func routes() []httpapi.Route {
	return httpapi.New(httpapi.Config{}).Routes()
}

func TestOpenAPIIsOpenAPI3(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title != "labelhub" || doc.Info.Version == "" {
		t.Errorf("info = %+v, want title labelhub and a version", doc.Info)
	}
	for _, name := range []string{"Error", "Page", "Organization", "User", "Role", "APIKey", "APIKeyCreated", "OrgCreated",
		"Project", "ProjectInput", "CategorySchema", "SchemaTool", "SchemaClassification", "SchemaOption", "SchemaRelation", "Batch", "Me",
		"Storage", "StorageInput", "StorageCredentials", "StoragePage", "Validation", "Check", "ObjectItem", "ObjectPage"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("components.schemas has no %s", name)
		}
	}
	for _, name := range []string{"limit", "cursor"} {
		if p, ok := doc.Components.Parameters[name]; !ok || p.In != "query" || p.Name != name {
			t.Errorf("components.parameters.%s = %+v, want a query parameter %s", name, p, name)
		}
	}
	if len(doc.Components.SecuritySchemes) < 3 {
		t.Errorf("security schemes = %d, want bearer, apikey header and cookie", len(doc.Components.SecuritySchemes))
	}
}

// The enums of the document are the ones of the code.
func TestOpenAPIEnumsMatchCode(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	enum := func(schema string) []string {
		var s struct {
			Enum []string `json:"enum"`
		}
		if err := json.Unmarshal(doc.Components.Schemas[schema], &s); err != nil {
			t.Fatalf("schema %s: %v", schema, err)
		}
		return s.Enum
	}
	roles := make([]string, len(labelhub.Roles))
	for i, r := range labelhub.Roles {
		roles[i] = string(r)
	}
	codes := []string{labelhub.ECodeInvalid, labelhub.ECodeNotFound, labelhub.ECodeConflict, labelhub.ECodeUnauthorized,
		labelhub.ECodeForbidden, labelhub.ECodeTooLarge, labelhub.ECodeRateLimited, labelhub.ECodeInternal, labelhub.ECodeUnavailable}
	for _, c := range []struct {
		schema string
		want   []string
	}{
		{"Role", roles},
		{"ErrorCode", codes},
		{"ToolKind", labelhub.ToolKinds},
		{"ClassificationKind", labelhub.ClassificationKinds},
		{"RelationKind", labelhub.RelationKinds},
		{"StorageProvider", []string{string(labelhub.ProviderS3), string(labelhub.ProviderS3Compatible), string(labelhub.ProviderGCS), string(labelhub.ProviderAzure)}},
		{"Delivery", []string{string(labelhub.DeliverySigned), string(labelhub.DeliveryProxy)}},
		{"CheckName", []string{storage.CheckCredentials, storage.CheckBucket, storage.CheckList, storage.CheckRead, storage.CheckCORS}},
		{"CredentialField", labelhub.StorageCredentials{AccessKeyID: "x", SecretAccessKey: "x", SessionToken: "x", ServiceAccountJSON: "x",
			AccountName: "x", AccountKey: "x", SASToken: "x", ConnectionString: "x"}.SetFields()},
		{"AssetType", []string{string(labelhub.AssetImage), string(labelhub.AssetVideo), string(labelhub.AssetAudio), string(labelhub.AssetPDF),
			string(labelhub.AssetText), string(labelhub.AssetDICOM), string(labelhub.AssetPointCloud)}},
	} {
		got := enum(c.schema)
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s enum = %v, want %v (from the code)", c.schema, got, c.want)
		}
	}
	if ex := "01jq3v7c8m5x9t2b4n6r8w0yza"; !labelhub.ValidID(ex) || !bytes.Contains(httpapi.OpenAPI(), []byte(ex)) {
		t.Errorf("the ID example %q should be a valid id and used in the document", ex)
	}
}

// Every registered route is documented with its method.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for _, rt := range routes() {
		p := docPath(rt.Pattern)
		item, ok := doc.Paths[p]
		if !ok {
			t.Errorf("route %s %s: path %s is missing from openapi.json", rt.Method, rt.Pattern, p)
			continue
		}
		op, ok := item.Operations[strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s %s: openapi.json documents %s without method %s", rt.Method, rt.Pattern, p, rt.Method)
			continue
		}
		// Public routes say so; the others inherit the document's security.
		switch {
		case rt.Public && (op.Security == nil || len(*op.Security) != 0):
			t.Errorf("%s %s is public: its operation needs \"security\": []", rt.Method, p)
		case !rt.Public && op.Security != nil && len(*op.Security) == 0:
			t.Errorf("%s %s needs credentials but is documented as public", rt.Method, p)
		case !rt.Public:
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s %s needs credentials: document its 401", rt.Method, p)
			}
		}
		if len(routeParams(rt.Pattern)) > 0 && !rt.Public {
			if _, ok := op.Responses["404"]; !ok {
				t.Errorf("%s %s has path parameters: document its 404", rt.Method, p)
			}
		}
		if rt.Method == http.MethodPost || rt.Method == http.MethodPatch || rt.Method == http.MethodPut {
			if len(op.RequestBody) > 0 {
				for _, code := range []string{"400", "413"} {
					if _, ok := op.Responses[code]; !ok {
						t.Errorf("%s %s takes a JSON body: document its %s", rt.Method, p, code)
					}
				}
			}
		}
	}
	if len(doc.Security) == 0 {
		t.Error("the document has no top-level security requirement")
	}
}

// Every documented operation is a registered route: the document does not
// promise what the server does not serve.
func TestOpenAPIDocumentsNoPhantomRoute(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	served := map[string]bool{}
	for _, rt := range routes() {
		served[rt.Method+" "+docPath(rt.Pattern)] = true
	}
	opIDs := map[string]string{}
	for p, item := range doc.Paths {
		if len(item.Operations) == 0 {
			t.Errorf("path %s has no operation", p)
		}
		for m, op := range item.Operations {
			key := strings.ToUpper(m) + " " + p
			if !served[key] {
				t.Errorf("openapi.json documents %s, which is not a registered route", key)
			}
			if strings.TrimSpace(op.Summary) == "" || strings.TrimSpace(op.Description) == "" {
				t.Errorf("%s: needs a summary and a description (who may call it)", key)
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", key)
			} else if prev, dup := opIDs[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also used by %s", key, op.OperationID, prev)
			}
			opIDs[op.OperationID] = key
			if len(op.Responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err != nil || n < 100 || n > 599 {
					t.Errorf("%s: response key %q is not a status code", key, code)
				}
			}
			// Each {param} of the path is declared as a path parameter,
			// on the path item or on the operation, and nothing else is.
			declared := map[string]bool{}
			for _, prm := range append(append([]openAPIParam(nil), item.Parameters...), op.Parameters...) {
				if prm.Ref != "" {
					name := strings.TrimPrefix(prm.Ref, "#/components/parameters/")
					prm = doc.Components.Parameters[name]
				}
				if prm.In == "path" {
					declared[prm.Name] = true
				}
			}
			want := routeParams(p)
			for _, name := range want {
				if !declared[name] {
					t.Errorf("%s: path parameter {%s} is not declared", key, name)
				}
			}
			for name := range declared {
				if !contains(want, name) {
					t.Errorf("%s: declares path parameter %s, which is not in the path", key, name)
				}
			}
		}
	}
}

// Every $ref points at something inside the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, root := loadOpenAPI(t)
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					s, ok := x.(string)
					if !ok {
						t.Errorf("$ref %v is not a string", x)
						continue
					}
					refs = append(refs, s)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(root)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs found; the walk is broken", len(refs))
	}
	sort.Strings(refs)
	for _, ref := range refs {
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("$ref %q points outside the document", ref)
			continue
		}
		var cur any = root
		for _, tok := range strings.Split(ref[2:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[tok]
		}
		if cur == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	}
}

// The server serves the embedded document byte for byte.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Config{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(b, httpapi.OpenAPI()) {
		t.Errorf("served %d bytes that differ from the embedded document (%d bytes)", len(b), len(httpapi.OpenAPI()))
	}
	if len(b) < 10000 {
		t.Errorf("the served document is only %d bytes; is it the placeholder?", len(b))
	}
}
