package importer

import (
	"errors"

	"github.com/labelhub/labelhub"
)

// decodePreLabels decodes the raw preLabels object of an item
// (labelhub.DecodeLabels) and validates it against the schema
// (Labels.Validate); problems carry paths under path ("[3].preLabels").
// pages is the number of pages of a multi-page asset, 0 when not one.
func decodePreLabels(raw []byte, idx labelhub.SchemaIndex, path string, pages int) (*labelhub.Labels, []labelhub.FieldError) {
	l, err := labelhub.DecodeLabels(raw)
	if err != nil {
		var e *labelhub.Error
		if errors.As(err, &e) && len(e.Details) > 0 {
			return nil, labelhub.PrefixFieldErrors(path, e.Details)
		}
		return nil, []labelhub.FieldError{{Path: path, Message: err.Error()}}
	}
	if errs := l.Validate(idx, labelhub.LabelLimits{Pages: pages}, path); len(errs) > 0 {
		return nil, errs
	}
	return &l, nil
}
