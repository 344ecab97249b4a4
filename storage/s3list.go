package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Listing S3 buckets: ListObjectsV2 through the AWS SDK's client (signing,
// retries, redirects and error replies stay the SDK's), but a successful
// reply's XML is read here. The SDK's decoder (encoding/xml tokens, an
// Object of pointers per key) cost about 9 µs of CPU per listed key in the
// hub's profile of a folder import — most of its share besides the
// database's — and this reader about 1 µs. A reply it does not understand (CDATA, a DOCTYPE, an
// entity it does not know, text that is not XML characters, a date in
// another layout) goes to the SDK's decoder as it came.

// pageLister is a provider that lists pages itself instead of through
// gocloud.dev/blob.
type pageLister interface {
	// listPage lists up to max entries under prefix (raw), after the
	// provider's token (nil: from the start). With delimiter "/" the
	// sub-folders come in dirs. next is nil after the last page.
	listPage(ctx context.Context, prefix, delimiter string, token []byte, max int) (files []File, dirs []string, next []byte, err error)
}

// listReply is one ListObjectsV2 reply as read by readListReply.
type listReply struct {
	files     []File
	dirs      []string
	next      string
	truncated bool
}

func (p *s3Provider) listPage(ctx context.Context, prefix, delimiter string, token []byte, max int) ([]File, []string, []byte, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(p.bucket), MaxKeys: aws.Int32(int32(max))}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if len(token) > 0 {
		in.ContinuationToken = aws.String(string(token))
	}
	var reply *listReply
	out, err := p.client.ListObjectsV2(ctx, in, func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			// Last in the deserialize step: next to the transport, so it
			// sees the reply before the SDK's decoder does. A retried
			// request passes here again; the last reply wins.
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("LabelhubListReply",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 || resp.Body == nil {
						return out, md, err
					}
					body, rerr := readBody(resp)
					if rerr != nil {
						// The SDK's decoder reports the broken body.
						resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
						return out, md, nil
					}
					if r, perr := readListReply(body); perr == nil {
						reply = r
						resp.Body = io.NopCloser(strings.NewReader("")) // the SDK's decoder gives an empty output
					} else {
						reply = nil
						resp.Body = io.NopCloser(bytes.NewReader(body))
					}
					return out, md, nil
				}), middleware.After)
		})
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if reply == nil {
		reply = sdkListReply(out)
	}
	var next []byte
	if reply.next != "" {
		next = []byte(reply.next)
	}
	return reply.files, reply.dirs, next, nil
}

// readBody reads and closes a reply's body.
func readBody(resp *smithyhttp.Response) ([]byte, error) {
	defer resp.Body.Close()
	n := resp.ContentLength
	if n <= 0 || n > 64<<20 {
		n = 64 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	_, err := buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// sdkListReply is what the SDK's decoder made of a reply.
func sdkListReply(out *s3.ListObjectsV2Output) *listReply {
	r := &listReply{next: aws.ToString(out.NextContinuationToken), truncated: aws.ToBool(out.IsTruncated)}
	for _, o := range out.Contents {
		r.files = append(r.files, File{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified).UTC()})
	}
	for _, cp := range out.CommonPrefixes {
		r.dirs = append(r.dirs, aws.ToString(cp.Prefix))
	}
	return r
}

var errListReply = errors.New("storage: a ListObjectsV2 reply this reader does not handle")

// readListReply reads a ListBucketResult: the Key, Size and LastModified
// of each Contents, the Prefix of each CommonPrefixes, IsTruncated and
// NextContinuationToken; every other element is skipped. Element names are
// compared without their namespace prefix, as encoding/xml does.
func readListReply(doc []byte) (*listReply, error) {
	r := &listReply{}
	var (
		stack [8][]byte // open elements' local names
		depth int
		text  int // where the text of the innermost open element starts
		leaf  bool
		cur   File
		has   int  // fields of cur seen: 1 Key, 2 LastModified
		root  bool // the ListBucketResult was opened
	)
	i := 0
	for {
		lt := bytes.IndexByte(doc[i:], '<')
		if lt < 0 {
			if depth != 0 || !root || len(bytes.TrimSpace(doc[i:])) > 0 {
				return nil, errListReply
			}
			break
		}
		lt += i
		if lt+1 >= len(doc) {
			return nil, errListReply
		}
		switch doc[lt+1] {
		case '?': // declaration or processing instruction
			end := bytes.Index(doc[lt:], []byte("?>"))
			if end < 0 {
				return nil, errListReply
			}
			i = lt + end + 2
			continue
		case '!':
			if !bytes.HasPrefix(doc[lt:], []byte("<!--")) {
				return nil, errListReply // CDATA, DOCTYPE
			}
			end := bytes.Index(doc[lt+4:], []byte("-->"))
			if end < 0 || leaf && depth > 0 {
				return nil, errListReply // a comment inside a value
			}
			i = lt + 4 + end + 3
			continue
		case '/':
			gt := bytes.IndexByte(doc[lt:], '>')
			if gt < 0 || depth == 0 {
				return nil, errListReply
			}
			gt += lt
			name := localName(bytes.TrimRight(doc[lt+2:gt], " \t\r\n"))
			if !bytes.Equal(name, stack[depth-1]) {
				return nil, errListReply
			}
			if leaf {
				if err := r.value(stack[:depth], doc[text:lt], &cur, &has); err != nil {
					return nil, err
				}
			}
			if depth == 2 && string(name) == "Contents" {
				if has != 3 {
					return nil, errListReply
				}
				r.files = append(r.files, cur)
				cur, has = File{}, 0
			}
			depth--
			leaf = false
			i = gt + 1
			continue
		}
		// A start tag; attribute values may hold '>'.
		gt, self := -1, false
		var quote byte
		for j := lt + 1; j < len(doc); j++ {
			c := doc[j]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				gt, self = j, doc[j-1] == '/'
			}
			if gt >= 0 {
				break
			}
		}
		if gt < 0 || depth == len(stack) {
			return nil, errListReply
		}
		end := lt + 1
		for end < gt && !isXMLSpace(doc[end]) && doc[end] != '/' {
			end++
		}
		name := localName(doc[lt+1 : end])
		if depth == 0 {
			if root || string(name) != "ListBucketResult" {
				return nil, errListReply
			}
			root = true
		}
		if len(name) == 0 {
			return nil, errListReply
		}
		if depth > 0 && leaf && len(bytes.TrimSpace(doc[text:lt])) > 0 {
			return nil, errListReply // mixed content
		}
		i = gt + 1
		if self {
			if depth == 1 && string(name) == "Contents" {
				return nil, errListReply
			}
			stack[depth] = name
			if err := r.value(stack[:depth+1], nil, &cur, &has); err != nil {
				return nil, err
			}
			leaf = false
			continue
		}
		stack[depth] = name
		depth++
		text, leaf = i, true
	}
	if r.next != "" && !r.truncated {
		r.next = ""
	}
	return r, nil
}

// value takes the text of a leaf element whose path is path.
func (r *listReply) value(path [][]byte, raw []byte, cur *File, has *int) error {
	switch len(path) {
	case 2:
		switch string(path[1]) {
		case "IsTruncated":
			switch string(bytes.TrimSpace(raw)) {
			case "true":
				r.truncated = true
			case "false":
				r.truncated = false
			default:
				return errListReply
			}
		case "NextContinuationToken":
			s, err := xmlText(raw)
			if err != nil {
				return err
			}
			r.next = s
		case "Contents", "CommonPrefixes":
			return errListReply // text where elements belong
		}
	case 3:
		switch string(path[1]) {
		case "Contents":
			switch string(path[2]) {
			case "Key":
				s, err := xmlText(raw)
				if err != nil {
					return err
				}
				cur.Key = s
				*has |= 1
			case "Size":
				n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
				if err != nil {
					return errListReply
				}
				cur.Size = n
			case "LastModified":
				t, err := parseListTime(bytes.TrimSpace(raw))
				if err != nil {
					return errListReply
				}
				cur.ModTime = t
				*has |= 2
			}
		case "CommonPrefixes":
			if string(path[2]) == "Prefix" {
				s, err := xmlText(raw)
				if err != nil {
					return err
				}
				r.dirs = append(r.dirs, s)
			}
		}
	}
	return nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// localName drops a namespace prefix ("s3:Key" → "Key").
func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// xmlText decodes character data as encoding/xml does: the five entities
// and character references, "\r\n" and "\r" read as "\n". Text that is not
// valid UTF-8 or holds a character XML does not allow is refused.
func xmlText(raw []byte) (string, error) {
	plain := true
	for _, c := range raw {
		if c == '&' || c == '\r' || c >= 0x80 || c < 0x20 && c != '\t' && c != '\n' || c == '<' || c == ']' {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), nil
	}
	if bytes.Contains(raw, []byte("]]>")) {
		return "", errListReply // as encoding/xml: only in CDATA
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&':
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				return "", errListReply
			}
			ent := raw[i+1 : i+semi]
			i += semi + 1
			switch string(ent) {
			case "lt":
				b.WriteByte('<')
			case "gt":
				b.WriteByte('>')
			case "amp":
				b.WriteByte('&')
			case "apos":
				b.WriteByte('\'')
			case "quot":
				b.WriteByte('"')
			default:
				if len(ent) < 2 || ent[0] != '#' {
					return "", errListReply
				}
				var n uint64
				var err error
				if ent[1] == 'x' {
					n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
				} else {
					n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
				}
				if err != nil || !isXMLChar(rune(n)) {
					return "", errListReply
				}
				b.WriteRune(rune(n))
			}
		case c == '\r':
			b.WriteByte('\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		case c == '<':
			return "", errListReply
		case c < utf8.RuneSelf:
			if !isXMLChar(rune(c)) {
				return "", errListReply
			}
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
				return "", errListReply
			}
			b.Write(raw[i : i+size])
			i += size
		}
	}
	return b.String(), nil
}

// isXMLChar is XML 1.0's Char production, as encoding/xml checks it.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// parseListTime reads LastModified: "2006-01-02T15:04:05.000Z" as S3 and
// MinIO write it, or any RFC 3339 time.
func parseListTime(s []byte) (time.Time, error) {
	if len(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z' {
		num := func(b []byte) int {
			n := 0
			for _, c := range b {
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d, h, mi, sec, ms := num(s[0:4]), num(s[5:7]), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19]), num(s[20:23])
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 && ms >= 0 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
			if t.Day() == d {
				return t, nil
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
