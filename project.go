package labelhub

import (
	"context"
	"time"
)

// Project is a body of annotation work with one category schema.
type Project struct {
	ID             string         `json:"id"`
	OrgID          string         `json:"orgId"`
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	CategorySchema CategorySchema `json:"categorySchema"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
	CreatedBy      string         `json:"createdBy"`
}

// ProjectInput is the writable part of a project. On update, nil fields
// are left as they are.
type ProjectInput struct {
	Name           *string         `json:"name"`
	Description    *string         `json:"description"`
	CategorySchema *CategorySchema `json:"categorySchema"`
}

// Limits on project fields.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 10000
)

// Validate checks the input; creating requires a name. On success the
// category schema is normalised (missing schemaIds generated).
func (in *ProjectInput) Validate(creating bool) error {
	var p Problems
	if in.Name != nil || creating {
		validName(&p, "name", in.Name)
	}
	if in.Description != nil && len(*in.Description) > MaxDescriptionLength {
		p.Add("description", "is longer than %d bytes", MaxDescriptionLength)
	}
	if in.CategorySchema != nil {
		for _, fe := range in.CategorySchema.Validate() {
			fe.Path = "categorySchema." + fe.Path
			p = append(p, fe)
		}
	}
	return p.Err("invalid project")
}

func validName(p *Problems, path string, name *string) {
	switch {
	case name == nil || *name == "":
		p.Add(path, "is required")
	case len(*name) > MaxNameLength:
		p.Add(path, "is longer than %d bytes", MaxNameLength)
	}
}

// Batch is a named group of assets inside a project.
type Batch struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"projectId"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// ValidateBatchName checks a batch name.
func ValidateBatchName(name string) error {
	var p Problems
	validName(&p, "name", &name)
	return p.Err("invalid batch")
}

// ProjectStore keeps projects and batches, always inside one organisation.
type ProjectStore interface {
	CreateProject(ctx context.Context, orgID, userID string, in ProjectInput) (Project, error)
	GetProject(ctx context.Context, orgID, id string) (Project, error)
	ListProjects(ctx context.Context, orgID string, p PageRequest) (Page[Project], error)
	UpdateProject(ctx context.Context, orgID, id string, in ProjectInput) (Project, error)
	DeleteProject(ctx context.Context, orgID, id string) error

	CreateBatch(ctx context.Context, orgID, projectID, name string) (Batch, error)
	GetBatch(ctx context.Context, orgID, id string) (Batch, error)
	ListBatches(ctx context.Context, orgID, projectID string, p PageRequest) (Page[Batch], error)
	DeleteBatch(ctx context.Context, orgID, id string) error
}
