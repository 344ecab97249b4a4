package assetref

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

const corpusFile = "../../testdata/asseturls/cases.txt"

type corpusLine struct {
	line        int
	integration string
	outcome     string
	url         string
}

// readCorpus reads corpusFile; see its header for the format.
func readCorpus() ([]corpusLine, error) {
	f, err := os.Open(corpusFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, rest, _ := strings.Cut(strings.TrimLeft(text, " \t"), " ")
		rest = strings.TrimLeft(rest, " \t")
		outcome, rest, _ := strings.Cut(rest, " ")
		u := strings.TrimSpace(rest)
		if strings.HasPrefix(u, `"`) {
			if u, err = strconv.Unquote(u); err != nil {
				return nil, fmt.Errorf("line %d: bad quoted URL: %v", n, err)
			}
		}
		if _, ok := integrations[name]; !ok {
			return nil, fmt.Errorf("line %d: unknown integration %q", n, name)
		}
		out = append(out, corpusLine{line: n, integration: name, outcome: outcome, url: u})
	}
	return out, sc.Err()
}

func TestCorpus(t *testing.T) {
	lines, err := readCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 40 {
		t.Fatalf("%s has %d cases, want at least 40", corpusFile, len(lines))
	}
	for _, l := range lines {
		in := integrations[l.integration]
		got, err := Resolve(l.url, in)
		where := fmt.Sprintf("%s:%d", corpusFile, l.line)
		switch o := l.outcome; {
		case o == "public":
			if err != nil || got != (Ref{Public: true}) {
				t.Errorf("%s: Resolve(%q) = %+v, %v; want public", where, l.url, got, err)
			}
		case o == "ok":
			if err != nil || got.Key == "" {
				t.Errorf("%s: Resolve(%q) = %+v, %v; want ok", where, l.url, got, err)
			}
		case strings.HasPrefix(o, "ok="):
			key, qerr := strconv.Unquote(o[3:])
			if qerr != nil {
				t.Fatalf("%s: bad quoted key %s", where, o[3:])
			}
			if err != nil || got.Key != key || got.Bucket != in.Bucket {
				t.Errorf("%s: Resolve(%q) = %+v, %v; want key %q", where, l.url, got, err, key)
			}
		case strings.HasPrefix(o, "err="):
			e, ok := err.(*Error)
			if !ok || e.Field != o[4:] {
				t.Errorf("%s: Resolve(%q) = %+v, %v; want an error in %s", where, l.url, got, err, o[4:])
			}
		default:
			t.Fatalf("%s: unknown outcome %q", where, o)
		}
	}
}
