package sqlstore

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// canonicalAnswers are stored answers with whether CanonicalAnswer must
// accept them: the stored answers of the answer writer's tests encoded
// as the export writes them (canonical), and forms that must take the
// checked path.
func canonicalAnswers(t testing.TB) []struct {
	text      string
	canonical bool
} {
	list := []struct {
		text      string
		canonical bool
	}{
		{emptyAnswer, true},
		{`{"tools":[{"objectId":"a","createdAt":"2026-11-22T12:00:00Z","createdBy":"u1","updatedBy":"u2","createdIn":"La\"bel\n"}],` +
			`"classifications":[],"relations":[{"objectId":"r","updatedAt":"2026-11-22T12:00:00.5Z","updatedIn":"x"}]}`, true},
		{`{"tools":[{"createdBy":"u1","updatedBy":"gone"}],"classifications":[{"objectId":"c","answer":null,"createdBy":"u2"}],"relations":[]}`, true},
		{`{"tools":[{"objectId":"rotated-bounding-box"}],"classifications":[{"answer":"updated \"createdAt\" upd ated"}],"relations":[]}`, true},
		{"", false},
		{`{}`, false},
		{`{"tools":[]}`, false},
		{`{"tools":[],"classifications":[],"relations":[]} `, false},
		{`{"tools": [],"classifications":[],"relations":[]}`, false},
		{`{"tools":[{"title":"\u003cb\u003e"}],"classifications":[],"relations":[]}`, false}, // json.Marshal's HTML escapes
		{`{"tools":[{"title":"<b>"}],"classifications":[],"relations":[]}`, true},
		{`{"tools":[{"title":"\u00e9"}],"classifications":[],"relations":[]}`, false},
		{`{"tools":[{"createdBy":""}],"classifications":[],"relations":[]}`, false},
		{`{"tools":[{"createdBy":"u\u0031"}],"classifications":[],"relations":[]}`, false},
		{`{"tools":[{"point":[1.0,2]}],"classifications":[],"relations":[]}`, false},
		// The keys of item metadata where they are not item metadata.
		{`{"tools":[],"classifications":[{"answer":{"createdBy":"u1"}}],"relations":[]}`, false},
		{`{"tools":[{"pdf":{"updatedAt":"x"},"createdAt":"2026-11-22T12:00:00Z"}],"classifications":[],"relations":[]}`, false},
		{`{"tools":[{"brush":["\"createdIn\":"]}],"classifications":[],"relations":[]}`, true}, // escaped quotes: not the key
		{`{"tools":[],"classifications":[{"answer":"x","createdBy":"u1","updatedBy":"u1"}],"relations":[]}`, true},
	}
	for _, c := range storedAnswers(t) {
		text, ok := exportForm(t, c.text)
		if ok {
			list = append(list, struct {
				text      string
				canonical bool
			}{text, true})
		}
	}
	return list
}

// exportForm returns the answer stored as text as the export writes it
// with item metadata when every user id is its own email, as a JSON
// object, when the answer writer's fast path takes it (the form of an
// answer it gives up on is not canonical: a null list, say).
func exportForm(t testing.TB, text string) (string, bool) {
	w := newAnswerWriter(true)
	out, ok := w.fast(nil, []byte(text))
	if !ok {
		return "", false
	}
	return "{" + string(out) + "}", true
}

// TestCanonicalAnswer checks which stored forms CanonicalAnswer accepts
// and that appendCanonical writes for them what appendAnswer writes, with
// and without item metadata.
func TestCanonicalAnswer(t *testing.T) {
	for i, c := range canonicalAnswers(t) {
		if got := CanonicalAnswer(c.text); got != c.canonical {
			t.Errorf("answer %d: CanonicalAnswer %v, want %v: %s", i, got, c.canonical, c.text)
			continue
		}
		if c.canonical {
			checkCanonical(t, c.text)
		}
	}
}

// checkCanonical checks that appendCanonical writes the canonical text as
// appendAnswer does and records the same users as missing.
func checkCanonical(t *testing.T, text string) {
	t.Helper()
	for _, meta := range []bool{false, true} {
		want := newAnswerWriter(meta)
		got := newAnswerWriter(meta)
		for _, w := range []*answerWriter{want, got} {
			w.emails["u1"], w.emails["u2"] = "one@example.com", `t<w>o"&@example.com`
		}
		wantOut, err := want.appendAnswer([]byte(`x,`), []byte(text))
		if err != nil {
			t.Fatalf("meta %v: %v: %s", meta, err, text)
		}
		gotOut, ok := got.appendCanonical([]byte(`x,`), []byte(text))
		if !ok {
			t.Errorf("meta %v: appendCanonical gave up on %s", meta, text)
			continue
		}
		if !bytes.Equal(gotOut, wantOut) {
			t.Errorf("meta %v:\n got %s\nwant %s", meta, gotOut, wantOut)
		}
		if len(got.missing) != len(want.missing) {
			t.Errorf("meta %v: missing %v, want %v: %s", meta, got.missing, want.missing, text)
		}
	}
}

// FuzzCanonicalAnswer checks on any input that an answer CanonicalAnswer
// accepts is written by appendCanonical as by appendAnswer.
func FuzzCanonicalAnswer(f *testing.F) {
	for _, c := range canonicalAnswers(f) {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if CanonicalAnswer(text) {
			checkCanonical(t, text)
		}
	})
}

// TestAppendCanonicalEmptyEmail: a user whose email is empty is left out
// by appendAnswer; appendCanonical leaves such an answer to it.
func TestAppendCanonicalEmptyEmail(t *testing.T) {
	w := newAnswerWriter(true)
	w.emails["u1"] = ""
	text := `{"tools":[{"objectId":"a","createdBy":"u1"}],"classifications":[],"relations":[]}`
	if !CanonicalAnswer(text) {
		t.Fatal("not canonical")
	}
	if _, ok := w.appendCanonical(nil, []byte(text)); ok {
		t.Fatal("appendCanonical wrote a user without an email")
	}
	out, err := w.appendAnswer(nil, []byte(text))
	if err != nil || strings.Contains(string(out), "createdBy") {
		t.Fatalf("%s %v", out, err)
	}
}

// StoredCanonical returns the answer_canonical of the task of the asset
// with externalID in the project and of its history entries in order.
func StoredCanonical(t testing.TB, s *Store, projectID, externalID string) (task bool, history []bool) {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT t.id, t.answer_canonical FROM tasks t JOIN assets a ON a.id = t.asset_id
		WHERE a.project_id = $1 AND a.external_id = $2`, projectID, externalID).Scan(&id, &task); err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT answer_canonical FROM task_history WHERE task_id = $1 ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c bool
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		history = append(history, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return task, history
}

// ClearCanonical sets answer_canonical false on every task and history
// entry, as for rows written before migration 18.
func ClearCanonical(t testing.TB, s *Store) {
	t.Helper()
	for _, q := range []string{`UPDATE tasks SET answer_canonical = FALSE`, `UPDATE task_history SET answer_canonical = FALSE`} {
		if _, err := s.db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}
