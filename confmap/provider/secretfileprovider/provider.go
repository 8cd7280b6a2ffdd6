// Package secretfileprovider is a confmap provider for secrets kept in
// files that are generated on first use: ${secretfile:<path>} is the
// content of <path>, and when <path> does not exist a random secret is
// written there first (mode 0600, its directory 0700). A collector and the
// programs beside it (the exporters and the HTTP interface of the embedded
// ClickHouse, the MCP server, `make run`) can so share a password nobody
// typed, stored nowhere but the data directory.
package secretfileprovider // import "github.com/otelcol-agentic/otelcol-agentic/confmap/provider/secretfileprovider"

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

const schemeName = "secretfile"

type provider struct{}

// NewFactory returns the factory of the secretfile provider.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return &provider{} })
}

func (*provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	path, ok := strings.CutPrefix(uri, schemeName+":")
	if !ok {
		return nil, fmt.Errorf("%q uri is not supported by %q provider", uri, schemeName)
	}
	if path == "" {
		return nil, fmt.Errorf("%s: a path is required, e.g. ${secretfile:data/secrets/clickhouse-admin}", schemeName)
	}
	secret, err := ReadOrCreate(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	// A string, whatever it looks like: it is never parsed as YAML.
	return confmap.NewRetrieved(secret)
}

func (*provider) Scheme() string { return schemeName }

func (*provider) Shutdown(context.Context) error { return nil }

// ReadOrCreate returns the secret in path, generating it first when the
// file does not exist. Concurrent callers get the same secret.
func ReadOrCreate(path string) (string, error) {
	if s, err := read(path); !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create the directory of secret %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", fmt.Errorf("write secret %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(Generate() + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return "", fmt.Errorf("write secret %s: %w", path, err)
	}
	// Link fails when another process created the file in the meantime:
	// then its secret is the one.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("write secret %s: %w", path, err)
	}
	return read(path)
}

func read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", path, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret %s is empty: write a secret into it, or delete it to have one generated", path)
	}
	return s, nil
}

// Generate returns a new random secret of 26 characters (130 bits) that
// starts with a letter, so that no configuration language reads it as a
// number.
func Generate() string {
	for {
		if s := rand.Text(); s[0] >= 'A' && s[0] <= 'Z' {
			return s
		}
	}
}
