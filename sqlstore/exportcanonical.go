package sqlstore

import "bytes"

// An answer the store writes itself (PutAnswer, and the history's copy of
// it) is almost always already in the form the export writes. The write
// paths record that in answer_canonical (migration 18), so that the export
// copies such an answer without checking every token (appendCanonical):
// with item metadata it only maps the user ids to emails, without it it
// only leaves the metadata fields out. Every other answer (written before
// the migration, imported, restored by a rollback) is false and takes
// answerWriter as before.

// metaKeyNames are the keys of item metadata (labelhub.ItemMeta), as the
// export writes them.
var metaKeyNames = [][]byte{[]byte(`"createdAt":`), []byte(`"updatedAt":`), []byte(`"createdBy":`),
	[]byte(`"updatedBy":`), []byte(`"createdIn":`), []byte(`"updatedIn":`)}

// CanonicalAnswer reports whether a stored answer may be written by
// appendCanonical: it is a JSON object whose fields are byte for byte what
// the export writes with item metadata when every user id is its own
// email, and the six keys of item metadata occur in it only as the keys of
// item metadata (not in a classification's answer, say), so that finding
// them by their text is finding the metadata.
func CanonicalAnswer(text string) bool {
	if len(text) < 2 {
		return false
	}
	w := newAnswerWriter(true)
	out, ok := w.fast(nil, []byte(text))
	if !ok || string(out) != text[1:len(text)-1] {
		return false
	}
	n := 0
	for _, k := range metaKeyNames {
		n += bytes.Count([]byte(text), k)
	}
	return n == w.metaKeys
}

// appendCanonical appends the fields of an answer for which
// CanonicalAnswer is true (the object without its braces), as appendAnswer
// would: with item metadata the user ids become emails (ids not known yet
// are written as they are and recorded as missing), without it the
// metadata fields are left out. It reports false, having appended nothing,
// when the answer needs appendAnswer after all (a user whose email is
// empty, or text that is not what CanonicalAnswer accepts).
func (w *answerWriter) appendCanonical(dst, text []byte) ([]byte, bool) {
	if len(text) < 2 || text[0] != '{' || text[len(text)-1] != '}' {
		return dst, false
	}
	body := text[1 : len(text)-1]
	out, cp := dst, 0
	key := -1 // the next key of item metadata, when known
	for i := 0; ; {
		if key < 0 {
			// Each key of item metadata holds "ated" ("createdBy",
			// "updatedAt", …).
			j := bytes.Index(body[i:], []byte("ated"))
			if j < 0 {
				break
			}
			j += i
			i = j + 4
			if j < 4 || !isMetaKey(body[j-4:]) {
				continue
			}
			key = j - 4
		}
		user := body[key+len(`"created`)] == 'B'
		value := key + len(`"createdAt":`)
		end := stringEnd(body, value)
		if end < 0 {
			return dst, false
		}
		switch {
		case w.meta && user:
			id := body[value+1 : end-1]
			e, ok := w.emails[string(id)]
			if !ok {
				w.missing[string(id)] = true
				break // written as it is
			}
			if e == "" {
				return dst, false
			}
			out = append(out, body[cp:value]...)
			out = appendJSONString(out, e)
			cp = end
		case !w.meta:
			// Left out with the comma before it or, first in its
			// object, the one after it.
			out = append(out, body[cp:key]...)
			cp = end
			if len(out) == len(dst) {
				return dst, false
			}
			switch out[len(out)-1] {
			case ',':
				out = out[:len(out)-1]
			case '{':
				if cp < len(body) && body[cp] == ',' {
					cp++
				}
			default:
				return dst, false
			}
		}
		// The fields of item metadata come together: the next key is
		// often right after this value.
		i, key = end, -1
		if end+1 < len(body) && body[end] == ',' && isMetaKey(body[end+1:]) {
			key = end + 1
		}
	}
	return append(out, body[cp:]...), true
}

// isMetaKey reports whether b starts with a key of item metadata.
func isMetaKey(b []byte) bool {
	if len(b) < len(`"createdAt":`) {
		return false
	}
	switch string(b[:len(`"cre`)]) {
	case `"cre`, `"upd`:
	default:
		return false
	}
	if string(b[4:8]) != "ated" {
		return false
	}
	switch string(b[8:12]) {
	case `At":`, `By":`, `In":`:
		return true
	}
	return false
}

// stringEnd returns the index after the JSON string that starts at
// body[i] (-1 if there is no string there).
func stringEnd(body []byte, i int) int {
	if i >= len(body) || body[i] != '"' {
		return -1
	}
	for j := i + 1; ; {
		k := bytes.IndexByte(body[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// Escaped when an odd number of backslashes comes before it.
		n := 0
		for j-1-n > i && body[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}
