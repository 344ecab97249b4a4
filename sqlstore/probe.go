package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/labelhub/labelhub"
)

// Probe states of an asset (assets.probe_state).
const (
	ProbeNone    = "none"
	ProbePending = "pending"
	ProbeDone    = "done"
	ProbeFailed  = "failed"
)

// ProbeTask is an asset claimed for the metadata probe.
type ProbeTask struct {
	AssetID   string
	OrgID     string
	Type      labelhub.AssetType
	URL       string // data, or the first page of a multi-page asset
	StorageID string
	// Metadata is the asset's metadata when it was claimed.
	Metadata json.RawMessage
	// Attempts counts the transient failures of this round so far.
	Attempts int
	// Claim is the token of the claim; FinishProbe applies only with it.
	Claim string
}

// ProbeValue is one metadata value found by a probe.
type ProbeValue struct {
	Key   string
	Value json.RawMessage
}

// ProbeOutcome is what FinishProbe writes.
type ProbeOutcome struct {
	// State is ProbeDone, ProbeFailed, or ProbePending to try again at
	// RetryAt (a transient failure; Attempts goes up by one).
	State   string
	Error   string
	RetryAt time.Time
	// Fill holds the values found; each is added to the asset's metadata
	// only where the metadata lacks the key (or has null there).
	Fill []ProbeValue
}

// ClaimProbes claims up to limit assets whose probe is due at now, for
// lease: until now+lease no other claim takes them. A claim abandoned by
// a process that died is due again when its lease ends. On PostgreSQL
// concurrent claimers skip each other's rows (FOR UPDATE SKIP LOCKED); on
// SQLite the write lock serialises them.
func (s *Store) ClaimProbes(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ProbeTask, error) {
	if limit <= 0 {
		return nil, nil
	}
	claim := labelhub.NewID()
	t := micros(now)
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []ProbeTask
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		// The CTE is evaluated once: an IN subquery with SKIP LOCKED may
		// be run again by PostgreSQL's planner and claim more than limit.
		rows, err := tx.QueryContext(ctx, `WITH due AS (SELECT id FROM assets WHERE probe_state = 'pending' AND probe_next <= $3
				ORDER BY probe_next, id LIMIT $4`+lock+`)
			UPDATE assets SET probe_next = $1, probe_claim = $2
			WHERE id IN (SELECT id FROM due) AND probe_state = 'pending' AND probe_next <= $3
			RETURNING id, org_id, type, data, doc, storage_id, probe_attempts`, micros(now.Add(lease)), claim, t, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var pt ProbeTask
			var doc string
			if err := rows.Scan(&pt.AssetID, &pt.OrgID, &pt.Type, &pt.URL, &doc, &pt.StorageID, &pt.Attempts); err != nil {
				return err
			}
			var d assetDoc
			if doc != "" {
				if err := json.Unmarshal([]byte(doc), &d); err != nil {
					return err
				}
			}
			if len(d.Dataset) > 0 {
				pt.URL = d.Dataset[0]
			}
			pt.Metadata, pt.Claim = d.Metadata, claim
			out = append(out, pt)
		}
		return rows.Err()
	})
	return out, err
}

// FinishProbe writes the outcome of a claimed probe. It reports false, and
// writes nothing, when the claim no longer holds: another claim took the
// asset after the lease ended, or an import changed it meanwhile (then,
// if it still needs a probe, it is due again at once).
func (s *Store) FinishProbe(ctx context.Context, pt ProbeTask, o ProbeOutcome) (bool, error) {
	switch o.State {
	case ProbeDone, ProbeFailed, ProbePending:
	default:
		return false, errors.New("sqlstore: FinishProbe: state must be done, failed or pending, not " + o.State)
	}
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE"
	}
	applied := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		applied = false
		var data, doc, storageID, state, claim string
		err := tx.QueryRowContext(ctx, `SELECT data, doc, storage_id, probe_state, probe_claim FROM assets WHERE id = $1`+lock, pt.AssetID).
			Scan(&data, &doc, &storageID, &state, &claim)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // deleted meanwhile (a rollback)
		}
		if err != nil {
			return err
		}
		if state != ProbePending || claim != pt.Claim {
			return nil
		}
		url := data
		var d assetDoc
		if doc != "" {
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				return err
			}
		}
		if len(d.Dataset) > 0 {
			url = d.Dataset[0]
		}
		if url != pt.URL || storageID != pt.StorageID {
			// Re-imported with another file: what was read is not its.
			_, err := tx.ExecContext(ctx, `UPDATE assets SET probe_next = 0, probe_claim = '', probe_attempts = 0 WHERE id = $1`, pt.AssetID)
			return err
		}
		if len(o.Fill) > 0 {
			merged, err := MergeMetadata(doc, o.Fill)
			if err != nil {
				o = ProbeOutcome{State: ProbeFailed, Error: "the asset's metadata could not be updated: its stored document is damaged"}
			} else {
				doc = merged
			}
		}
		next, attempts := int64(0), 0
		if o.State == ProbePending {
			next, attempts = micros(o.RetryAt), pt.Attempts+1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET doc = $1, probe_state = $2, probe_error = $3, probe_next = $4, probe_claim = '', probe_attempts = $5
			WHERE id = $6`, doc, o.State, o.Error, next, attempts, pt.AssetID); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// ReleaseProbes gives claimed assets back, due at once (a worker that
// shuts down before it probed them). Claims that no longer hold are left
// alone.
func (s *Store) ReleaseProbes(ctx context.Context, list []ProbeTask) error {
	for _, pt := range list {
		if _, err := s.db.ExecContext(ctx, `UPDATE assets SET probe_next = 0, probe_claim = ''
			WHERE id = $1 AND probe_claim = $2 AND probe_state = 'pending'`, pt.AssetID, pt.Claim); err != nil {
			return err
		}
	}
	return nil
}

// NextProbeDue returns when the earliest pending probe is due, and false
// when none is pending.
func (s *Store) NextProbeDue(ctx context.Context) (time.Time, bool, error) {
	var next int64
	err := s.db.QueryRowContext(ctx, `SELECT probe_next FROM assets WHERE probe_state = 'pending' ORDER BY probe_next LIMIT 1`).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return fromMicros(next), true, nil
}

// ImportProbeCounts counts the assets of an import of the organisation
// whose probe is pending and whose probe failed.
func (s *Store) ImportProbeCounts(ctx context.Context, orgID, importID string) (pending, failed int64, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT probe_state, COUNT(*) FROM assets
		WHERE import_id = $1 AND probe_state IN ('pending', 'failed') AND org_id = $2 GROUP BY probe_state`, importID, orgID)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return 0, 0, err
		}
		if state == ProbePending {
			pending = n
		} else {
			failed = n
		}
	}
	return pending, failed, rows.Err()
}

// member is one name and raw value of a JSON object.
type member struct {
	name  string
	value []byte
}

// members reads the members of a JSON object in their order; ok is false
// when raw is not an object.
func members(raw []byte) (list []member, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return nil, false
	}
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, false
		}
		if tok.Kind() == '}' {
			break
		}
		name := tok.String() // the token is valid until the next read
		v, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		list = append(list, member{name: name, value: bytes.Clone(v)})
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return list, true
}

// appendObject writes members as a compact JSON object.
func appendObject(b []byte, list []member) []byte {
	b = append(b, '{')
	for i, m := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, m.name)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return append(b, '}')
}

// MergeMetadata adds to the metadata of an asset document each value of
// fill whose key the metadata lacks or has as null; every other member
// of the document and of its metadata keeps its value and its place.
func MergeMetadata(doc string, fill []ProbeValue) (string, error) {
	top := []member{}
	if strings.TrimSpace(doc) != "" {
		var ok bool
		if top, ok = members([]byte(doc)); !ok {
			return "", errors.New("sqlstore: an asset's doc is not a JSON object")
		}
	}
	at := -1
	meta := []member{}
	for i, m := range top {
		if m.name == "metadata" {
			at = i
			if string(m.value) != "null" {
				var ok bool
				if meta, ok = members(m.value); !ok {
					// Not an object: nothing can be added to it.
					return doc, nil
				}
			}
		}
	}
	changed := false
	for _, f := range fill {
		found := false
		for i := range meta {
			if meta[i].name == f.Key {
				found = true
				if string(meta[i].value) == "null" {
					meta[i].value, changed = f.Value, true
				}
			}
		}
		if !found {
			meta, changed = append(meta, member{name: f.Key, value: f.Value}), true
		}
	}
	if !changed {
		return doc, nil
	}
	obj := appendObject(nil, meta)
	if at >= 0 {
		top[at].value = obj
	} else {
		top = append(top, member{name: "metadata", value: obj})
	}
	return string(appendObject(nil, top)), nil
}
