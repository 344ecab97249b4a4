package labelhub

// CategorySchema is a project's ontology (formats.md §0): the tools that
// draw objects, the classifications that answer questions about the whole
// asset, and the relations between objects. Every entry, at any depth, has
// a schemaId unique within the schema.
type CategorySchema struct {
	Tools           []SchemaTool           `json:"tools"`
	Classifications []SchemaClassification `json:"classifications"`
	Relations       []SchemaRelation       `json:"relations"`
}

// SchemaTool is one kind of object an annotator draws.
type SchemaTool struct {
	SchemaID        string                 `json:"schemaId"`
	Title           string                 `json:"title"`
	Tool            string                 `json:"tool"`
	Color           string                 `json:"color,omitempty"`
	Required        bool                   `json:"required,omitempty"`
	Classifications []SchemaClassification `json:"classifications,omitempty"`
}

// SchemaClassification is a question with its kind and options; it may
// carry nested classifications, and so may its options.
type SchemaClassification struct {
	SchemaID        string                 `json:"schemaId"`
	Title           string                 `json:"title"`
	Tool            string                 `json:"tool"`
	Required        bool                   `json:"required,omitempty"`
	Options         []SchemaOption         `json:"options,omitempty"`
	Classifications []SchemaClassification `json:"classifications,omitempty"`
}

// SchemaOption is one answer of a classification. Tree dropdowns nest
// options in Children; an option may open nested classifications.
type SchemaOption struct {
	Value           string                 `json:"value"`
	Children        []SchemaOption         `json:"children,omitempty"`
	Classifications []SchemaClassification `json:"classifications,omitempty"`
}

// SchemaRelation is a kind of link between objects: single (from → to) or
// group (a set of objects).
type SchemaRelation struct {
	SchemaID string `json:"schemaId"`
	Title    string `json:"title"`
	Tool     string `json:"tool"`
}

// Tool kinds, classification kinds and relation kinds (formats.md §0).
var (
	ToolKinds           = []string{"bounding-box", "rotated-bounding-box", "polygon", "polyline", "point", "segmentation", "brush", "ner", "pdf"}
	ClassificationKinds = []string{"radio", "checkbox", "single-dropdown", "multi-dropdown", "text", "tree-dropdown", "rank"}
	RelationKinds       = []string{"single", "group"}
)
