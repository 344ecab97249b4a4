package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/artifacts"
)

// Signed URLs of the /v2 calls (docs/python-plugins.md, "REST calls").
// Python plugins fetch the export, upload their result file and hand out
// its download link with plain HTTP clients that send no header, so these
// URLs carry their own authorisation: a token that grants one thing (one
// export with its filters, one run's upload, one run's download) until it
// expires, and never the run token itself.
//
// A token is base64url(claims) "." base64url(MAC), where claims is a
// compact JSON object and MAC is HMAC-SHA256 over the claims' bytes with
// a key of the token's kind (derived from Config.URLKey), so that a token
// of one kind is worthless as another. Its alphabet is A-Z a-z 0-9 - _
// and ".": no '&', ';', '+', '#' or '%', so it survives being pasted
// unencoded into a query string, as the SDK does with upload URLs.

// urlKind says what a signed URL grants.
type urlKind string

const (
	urlExport   urlKind = "export"   // GET /v2/exports/{token}: one export of a project, with its filters
	urlUpload   urlKind = "upload"   // PUT /v2/upload/{token}: a run's result file, while the run is running
	urlDownload urlKind = "download" // GET /v2/download/{token}: a run's result file
)

var urlKinds = []urlKind{urlExport, urlUpload, urlDownload}

// maxURLToken bounds the token the parser looks at; an export with the
// most batches signs to about 4 KiB.
const maxURLToken = 8 << 10

// maxURLBatches bounds the batches of an export, like the export's batch=.
const maxURLBatches = 100

// urlClaims is what a token grants; the MAC covers all of it. Times are
// RFC 3339 (exact to the nanosecond), Exp a Unix time in seconds.
type urlClaims struct {
	V       int      `json:"v"`
	Kind    urlKind  `json:"k"`
	Org     string   `json:"o"`
	Project string   `json:"p,omitempty"`
	Run     string   `json:"r,omitempty"` // upload, download; export: the run whose token asked for it
	Name    string   `json:"n,omitempty"` // upload: the result file's name
	Exp     int64    `json:"e"`
	Stage   string   `json:"s,omitempty"` // export filters and options
	Batches []string `json:"b,omitempty"`
	After   string   `json:"ua,omitempty"`
	Before  string   `json:"ub,omitempty"`
	Format  string   `json:"f,omitempty"`
	History bool     `json:"h,omitempty"`
	Meta    bool     `json:"m,omitempty"`
}

// URLKeyFrom derives the key of the signed URLs of the /v2 calls from the
// server's secret key (the one that encrypts storage credentials), with a
// label of its own: replicas that share the server key accept each
// other's URLs, and the key is never stored.
func URLKeyFrom(serverKey []byte) []byte {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte("labelhub v2 signed URLs"))
	return m.Sum(nil)
}

// urlSigner signs and checks tokens.
type urlSigner struct {
	keys map[urlKind][]byte
	now  func() time.Time
}

// newURLSigner derives a key per kind from master; an empty master is a
// random key, good for this process only.
func newURLSigner(master []byte) *urlSigner {
	if len(master) == 0 {
		master = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, master); err != nil {
			panic(err)
		}
	}
	s := &urlSigner{keys: map[urlKind][]byte{}, now: time.Now}
	for _, k := range urlKinds {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("signed URL kind: " + string(k)))
		s.keys[k] = m.Sum(nil)
	}
	return s
}

var tokenEncoding = base64.RawURLEncoding.Strict()

func (s *urlSigner) mac(kind urlKind, payload []byte) []byte {
	m := hmac.New(sha256.New, s.keys[kind])
	m.Write(payload)
	return m.Sum(nil)
}

// sign returns the token of c (V is set to 1).
func (s *urlSigner) sign(c urlClaims) string {
	c.V = 1
	payload, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings, bools and numbers only
	}
	return tokenEncoding.EncodeToString(payload) + "." + tokenEncoding.EncodeToString(s.mac(c.Kind, payload))
}

// Refusals of tokens: 403, never a hint at which part was wrong, except
// for expiry, which the holder can act on.
var (
	errBadURLToken = labelhub.Errorf(labelhub.ECodeForbidden, "this link is not valid (it was changed, cut short, or is not one of this hub's); ask the hub for a new one")
)

func errExpiredURL(exp time.Time) error {
	return labelhub.Errorf(labelhub.ECodeForbidden, "this link expired at %s; ask the hub for a new one", exp.UTC().Format(time.RFC3339))
}

// parse checks a token of kind and returns its claims: the MAC first (in
// constant time, before the claims are decoded), then the claims' shape
// (strict JSON, ids, names, times), then the expiry.
func (s *urlSigner) parse(kind urlKind, tok string) (urlClaims, error) {
	var c urlClaims
	key := s.keys[kind]
	if key == nil || len(tok) == 0 || len(tok) > maxURLToken {
		return c, errBadURLToken
	}
	p64, m64, ok := strings.Cut(tok, ".")
	if !ok || strings.Contains(m64, ".") {
		return c, errBadURLToken
	}
	payload, err := tokenEncoding.DecodeString(p64)
	if err != nil {
		return c, errBadURLToken
	}
	mac, err := tokenEncoding.DecodeString(m64)
	if err != nil || len(mac) != sha256.Size || !hmac.Equal(mac, s.mac(kind, payload)) {
		return c, errBadURLToken
	}
	if err := decodeClaims(payload, &c); err != nil || !c.valid(kind) {
		// Signed by this hub but not a shape it makes: a key shared with
		// another version, or a bug. Refused all the same.
		return urlClaims{}, errBadURLToken
	}
	exp := time.Unix(c.Exp, 0)
	if !s.now().Before(exp) {
		return urlClaims{}, errExpiredURL(exp)
	}
	return c, nil
}

func decodeClaims(payload []byte, c *urlClaims) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadURLToken
	}
	return nil
}

var claimStageRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// valid checks the claims of a token of kind: what sign is given by the
// handlers, nothing else.
func (c *urlClaims) valid(kind urlKind) bool {
	if c.V != 1 || c.Kind != kind || !labelhub.ValidID(c.Org) || c.Exp <= 0 {
		return false
	}
	optID := func(id string) bool { return id == "" || labelhub.ValidID(id) }
	noExport := c.Stage == "" && c.Batches == nil && c.After == "" && c.Before == "" && c.Format == "" && !c.History && !c.Meta
	switch kind {
	case urlExport:
		if !labelhub.ValidID(c.Project) || !optID(c.Run) || c.Name != "" {
			return false
		}
		if c.Format != labelhub.ExportJSON && c.Format != labelhub.ExportNDJSON {
			return false
		}
		if c.Stage != "" && !claimStageRE.MatchString(c.Stage) {
			return false
		}
		if len(c.Batches) > maxURLBatches || (c.Batches != nil && len(c.Batches) == 0) {
			return false
		}
		for _, b := range c.Batches {
			if !labelhub.ValidID(b) {
				return false
			}
		}
		for _, t := range []string{c.After, c.Before} {
			if t == "" {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
				return false
			}
		}
		return true
	case urlUpload:
		var p labelhub.Problems
		artifacts.ValidName(&p, "name", c.Name)
		return labelhub.ValidID(c.Project) && labelhub.ValidID(c.Run) && p.Err("") == nil && noExport
	case urlDownload:
		return optID(c.Project) && labelhub.ValidID(c.Run) && c.Name == "" && noExport
	}
	return false
}

// exportFilter is the export the claims of an export token describe.
func (c *urlClaims) exportFilter() (labelhub.ExportFilter, labelhub.ExportOptions) {
	f := labelhub.ExportFilter{StageID: c.Stage, BatchIDs: c.Batches}
	if c.After != "" {
		f.UpdatedAfter, _ = time.Parse(time.RFC3339Nano, c.After)
	}
	if c.Before != "" {
		f.UpdatedBefore, _ = time.Parse(time.RFC3339Nano, c.Before)
	}
	o := labelhub.ExportOptions{Format: c.Format, IncludeHistory: c.History, IncludeMetadata: c.Meta, URLTTL: labelhub.DefaultExportURLTTL}
	return f, o
}
