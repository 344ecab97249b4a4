package converters

import (
	"fmt"
	"slices"
	"strings"

	"github.com/labelhub/labelhub"
)

// ToolsConfig is the part of a converter's Config JSON that chooses the
// tools exported, each as one category (class):
//
//	{"tools": ["Car", "c3f1…"]}
//
// names tools of the category schema by title or schemaId; the categories
// get their ids in that order. Without "tools" (or with an empty list),
// every top-level tool of a kind the format can express is a category, in
// the schema's order.
type ToolsConfig struct {
	Tools []string `json:"tools,omitempty"`
}

// Category is a tool of the category schema exported as a category.
// Index counts from 0 in the order of the mapping (YOLO's class ids);
// formats that count from 1 (COCO) use Index+1.
type Category struct {
	Index    int
	SchemaID string
	Title    string
	Kind     string // the tool's kind: bounding-box, polygon, …
}

// Categories maps the objects of answers to categories.
type Categories struct {
	List    []Category
	byID    map[string]int
	byTitle map[string]int
}

// SchemaTools lists the top-level tools of the schema as categories, in
// the schema's order (their Index is their position).
func SchemaTools(s labelhub.CategorySchema) []Category {
	out := make([]Category, len(s.Tools))
	for i, t := range s.Tools {
		out[i] = Category{Index: i, SchemaID: t.SchemaID, Title: t.Title, Kind: t.Tool}
	}
	return out
}

// SelectCategories chooses the categories of an export: the tools named
// in selected (by schemaId first, else by title), or, when selected is
// empty, every tool whose kind is one of kinds. Naming a tool that is not
// in the schema, or whose kind is not one of kinds, is an error that names
// it (format is the format's name, for the message); a tool named twice
// counts once.
func SelectCategories(s labelhub.CategorySchema, selected []string, kinds []string, format string) (*Categories, error) {
	tools := SchemaTools(s)
	c := &Categories{byID: map[string]int{}, byTitle: map[string]int{}}
	add := func(t Category) {
		if _, dup := c.byID[t.SchemaID]; dup {
			return
		}
		t.Index = len(c.List)
		c.byID[t.SchemaID] = t.Index
		if _, ok := c.byTitle[t.Title]; !ok {
			c.byTitle[t.Title] = t.Index
		}
		c.List = append(c.List, t)
	}
	if len(selected) == 0 {
		for _, t := range tools {
			if slices.Contains(kinds, t.Kind) {
				add(t)
			}
		}
		return c, nil
	}
	for i, name := range selected {
		j := slices.IndexFunc(tools, func(t Category) bool { return t.SchemaID == name })
		if j < 0 {
			j = slices.IndexFunc(tools, func(t Category) bool { return t.Title == name })
		}
		if j < 0 {
			return nil, fmt.Errorf("the Config JSON's tools[%d]: %q is neither the title nor the schemaId of a tool of the category schema (tools: %s)", i, name, toolNames(tools))
		}
		if t := tools[j]; !slices.Contains(kinds, t.Kind) {
			return nil, fmt.Errorf("the Config JSON's tools[%d]: the tool %q is a %s tool; %s exports %s tools", i, t.Title, t.Kind, format, strings.Join(kinds, ", "))
		}
		add(tools[j])
	}
	return c, nil
}

func toolNames(tools []Category) string {
	if len(tools) == 0 {
		return "none"
	}
	const max = 20
	var b strings.Builder
	for i, t := range tools {
		if i == max {
			fmt.Fprintf(&b, ", … %d more", len(tools)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.Title)
	}
	return b.String()
}

// Of returns the category of an object: by its schemaId (an answer the
// hub stored always has it), else by its title. ok is false for objects of
// tools that are not exported.
func (c *Categories) Of(o *labelhub.Object) (Category, bool) {
	if o.SchemaID != "" {
		if i, ok := c.byID[o.SchemaID]; ok {
			return c.List[i], true
		}
		return Category{}, false
	}
	if i, ok := c.byTitle[o.Title]; ok && o.Title != "" {
		return c.List[i], true
	}
	return Category{}, false
}
