package searcheval

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Query is one query of the set with the documents that answer it.
type Query struct {
	ID       string
	Kind     string
	Text     string
	Relevant []string // document ids, groups expanded
}

// Query kinds.
var Kinds = []string{"keyword", "paraphrase", "symptom", "foreign", "korean", "typo"}

// Queries reads testdata/queries.yaml, expanding "@group" references.
func Queries() ([]Query, error) {
	b, err := dataFS.ReadFile("testdata/queries.yaml")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Groups  map[string][]string `yaml:"groups"`
		Queries []struct {
			ID       string   `yaml:"id"`
			Kind     string   `yaml:"kind"`
			Text     string   `yaml:"text"`
			Relevant []string `yaml:"relevant"`
		} `yaml:"queries"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse queries.yaml: %w", err)
	}
	var out []Query
	ids := map[string]bool{}
	for _, q := range doc.Queries {
		if q.ID == "" || ids[q.ID] {
			return nil, fmt.Errorf("queries.yaml: query id %q is empty or repeated", q.ID)
		}
		ids[q.ID] = true
		if !slices.Contains(Kinds, q.Kind) {
			return nil, fmt.Errorf("queries.yaml: query %s has kind %q, want one of %v", q.ID, q.Kind, Kinds)
		}
		var rel []string
		for _, r := range q.Relevant {
			if name, ok := strings.CutPrefix(r, "@"); ok {
				g, ok := doc.Groups[name]
				if !ok {
					return nil, fmt.Errorf("queries.yaml: query %s names group %q, which is not defined", q.ID, name)
				}
				rel = append(rel, g...)
				continue
			}
			rel = append(rel, r)
		}
		slices.Sort(rel)
		out = append(out, Query{ID: q.ID, Kind: q.Kind, Text: q.Text, Relevant: slices.Compact(rel)})
	}
	return out, nil
}
