package converters

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"time"

	"github.com/labelhub/labelhub/plugin"
)

// WriteFunc is the core of a converter: it reads the export's assets one
// at a time and writes the format's files into zw, reporting what it
// skipped to rep. It neither closes zw nor holds the assets in memory.
// cfg is the converter's Config, its defaults overridden by the run's
// Config JSON.
type WriteFunc[C any] func(ctx context.Context, p plugin.Project, cfg C, assets iter.Seq2[*plugin.ExportedAsset, error], zw *zip.Writer, rep *Report) error

// Converter describes a converter for Handler.
type Converter[C any] struct {
	Name   string // the format's short name ("coco"); the zip is named PROJECT-NAME.zip
	Config C      // the defaults; the run's Config JSON overrides the fields it gives
	Write  WriteFunc[C]
}

// Handler serves export runs with c: it decodes the run's Config JSON
// over c.Config (unknown fields are an error), reads the project,
// streams the export's assets to c.Write with progress reports (against
// the run's numTasks; without the stage history unless the run's params
// ask for it), writes the zip to a temporary file and returns it
// as the result, which the SDK uploads (retrying from the start of the
// file if needed) and then closes, removing the file. The result's Info
// is the Report's summary; skipped items are in the run's log.
func Handler[C any](c Converter[C]) plugin.ExportFunc {
	return func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
		cfg := c.Config
		if err := r.DecodeConfig(&cfg); err != nil {
			return plugin.ExportResult{}, err
		}
		p, err := r.Project(ctx)
		if err != nil {
			return plugin.ExportResult{}, err
		}
		zf, err := NewZipFile()
		if err != nil {
			return plugin.ExportResult{}, err
		}
		if r.IncludeHistory == nil {
			// No converter writes the stage history: leave it out of the
			// stream unless the run asks for it.
			r.IncludeHistory = new(bool)
		}
		rep := NewReport(r.Log)
		prog := &progress{total: r.NumTasks, report: r.Progress, every: time.Second}
		err = c.Write(ctx, p, cfg, prog.wrap(r.Assets(ctx)), zf.Zip, rep)
		if err == nil {
			err = zf.Finish()
		}
		if err != nil {
			zf.Close()
			return plugin.ExportResult{}, err
		}
		prog.report(prog.done, max(prog.done, prog.total), fmt.Sprintf("%d assets converted; uploading", prog.done))
		info := rep.Info()
		info["assets"] = prog.done
		return plugin.ExportResult{FileName: ZipName(p.Name, c.Name), Info: info, Reader: zf}, nil
	}
}

// ZipName is the result's file name: the project's name made safe, "-",
// the format and ".zip" ("Street scenes-coco.zip"); format.zip when the
// name is empty.
func ZipName(project, format string) string {
	if n := clean(project); n != "" {
		return n + "-" + format + ".zip"
	}
	return format + ".zip"
}

// progress counts the assets passing through an export stream and
// reports at most every `every`.
type progress struct {
	total  int64
	report func(done, total int64, message string)
	every  time.Duration
	done   int64
	last   time.Time
}

func (p *progress) wrap(seq iter.Seq2[*plugin.ExportedAsset, error]) iter.Seq2[*plugin.ExportedAsset, error] {
	return func(yield func(*plugin.ExportedAsset, error) bool) {
		p.last = time.Now()
		p.report(0, p.total, "reading the export")
		for a, err := range seq {
			if err == nil {
				p.done++
				if now := time.Now(); now.Sub(p.last) >= p.every {
					p.last = now
					p.report(p.done, max(p.total, p.done), fmt.Sprintf("%d of %d assets", p.done, p.total))
				}
			}
			if !yield(a, err) {
				return
			}
		}
	}
}

// ZipFile is a zip written to a temporary file, so that a result of any
// size takes constant memory. After Finish it reads (and seeks) from the
// start of the zip; Close closes and removes the file.
type ZipFile struct {
	Zip  *zip.Writer
	f    *os.File
	done bool
}

// NewZipFile creates the temporary file (os.CreateTemp in the default
// directory, $TMPDIR) with a zip writer on it.
func NewZipFile() (*ZipFile, error) {
	f, err := os.CreateTemp("", "labelhub-export-*.zip")
	if err != nil {
		return nil, fmt.Errorf("create the result's temporary file: %w", err)
	}
	return &ZipFile{Zip: zip.NewWriter(f), f: f}, nil
}

// Finish writes the zip's central directory and rewinds the file.
func (z *ZipFile) Finish() error {
	if z.done {
		return errors.New("converters: the zip is already finished")
	}
	z.done = true
	if err := z.Zip.Close(); err != nil {
		return fmt.Errorf("finish the zip: %w", err)
	}
	if _, err := z.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the zip: %w", err)
	}
	return nil
}

// Read reads the finished zip.
func (z *ZipFile) Read(p []byte) (int, error) { return z.f.Read(p) }

// Seek seeks in the finished zip (the SDK rewinds it to retry an upload).
func (z *ZipFile) Seek(offset int64, whence int) (int64, error) { return z.f.Seek(offset, whence) }

// Close closes and removes the temporary file.
func (z *ZipFile) Close() error {
	err := z.f.Close()
	if rerr := os.Remove(z.f.Name()); err == nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	return err
}
