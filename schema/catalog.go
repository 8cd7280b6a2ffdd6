package schema

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed queries/*.sql patterns/catalogue.yaml
var dataFS embed.FS

// Query returns a named query of schema/queries (the seed plan's §5 queries
// rewritten for our tables). Parameters are {name:Type} placeholders, bound
// by ClickHouse; tables are unqualified and resolve in the connection's
// database.
func Query(name string) (string, error) {
	b, err := dataFS.ReadFile(path.Join("queries", name+".sql"))
	if err != nil {
		return "", fmt.Errorf("no query named %q", name)
	}
	return string(b), nil
}

// QueryNames lists the named queries.
func QueryNames() []string {
	entries, _ := dataFS.ReadDir("queries")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".sql"))
	}
	sort.Strings(names)
	return names
}

// Pattern is a known error pattern of the seed catalogue.
type Pattern struct {
	Signature  string `yaml:"signature"`
	Service    string `yaml:"service"`
	Message    string `yaml:"message"`
	RootCause  string `yaml:"root_cause"`
	Resolution string `yaml:"resolution"`
}

// Patterns returns the seed catalogue of error patterns.
func Patterns() ([]Pattern, error) {
	b, err := dataFS.ReadFile("patterns/catalogue.yaml")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Patterns []Pattern `yaml:"patterns"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse the error pattern catalogue: %w", err)
	}
	return doc.Patterns, nil
}
