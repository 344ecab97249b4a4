package client

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// ArtifactFile describes a downloaded result file.
type ArtifactFile struct {
	// Name is the file name the hub gives (Content-Disposition), reduced
	// to a base name; "" when the hub sent none.
	Name        string
	ContentType string
	// Size is the Content-Length, or -1 when the hub sent none.
	Size int64
	// Written is how many bytes were written to w.
	Written int64
}

// DownloadRunArtifact streams a run's result file (the zip an export
// plugin made) to w. A run without one is a not_found *labelhub.Error; one
// past its time to live too, with a message starting "expired" (the hub
// answers 410 Gone).
func (c *Client) DownloadRunArtifact(ctx context.Context, runID string, w io.Writer) (ArtifactFile, error) {
	p := "/api/v1/runs/" + url.PathEscape(runID) + "/artifact"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+p, nil)
	if err != nil {
		return ArtifactFile{}, fmt.Errorf("labelhub client: %w", err)
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return ArtifactFile{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ArtifactFile{}, decodeError(resp)
	}
	f := ArtifactFile{Name: AttachmentName(resp.Header.Get("Content-Disposition")), ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength}
	f.Written, err = io.Copy(w, resp.Body)
	if err != nil {
		return f, fmt.Errorf("labelhub client: download the result file of run %s: %w", runID, err)
	}
	if f.Size >= 0 && f.Written != f.Size {
		return f, fmt.Errorf("labelhub client: the result file of run %s ended after %d of %s bytes", runID, f.Written, strconv.FormatInt(f.Size, 10))
	}
	return f, nil
}

// AttachmentName returns the file name of a Content-Disposition header
// (filename*, else filename) reduced to a safe base name: no directories,
// no control characters, not "." or ".."; "" when there is none.
func AttachmentName(header string) string {
	_, params, err := mime.ParseMediaType(header)
	if err != nil {
		return ""
	}
	name := path.Base(strings.ReplaceAll(params["filename"], "\\", "/"))
	if name == "." || name == ".." || name == "/" || strings.HasPrefix(name, ".") {
		return ""
	}
	// Control and format characters (a right-to-left override that
	// makes "piz.exe" read "exe.zip") become '_'.
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '_'
		}
		return r
	}, name)
}
