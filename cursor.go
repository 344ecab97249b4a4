package labelhub

import "encoding/base64"

// EncodeCursor makes the opaque cursor that follows the item with id.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k1:" + id))
}

// DecodeCursor returns the id a cursor follows; "" for the first page. A
// cursor this hub did not make is an invalid-input error on field cursor.
func DecodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 3 || string(b[:3]) != "k1:" || !ValidID(string(b[3:])) {
		return "", Invalid("invalid page", FieldError{Path: "cursor", Message: "is not a cursor returned by this list; start again without it"})
	}
	return string(b[3:]), nil
}
