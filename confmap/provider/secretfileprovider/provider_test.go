package secretfileprovider

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
)

func TestGeneratedOnceThenRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "admin")
	p := NewFactory().Create(confmap.ProviderSettings{})
	r, err := p.Retrieve(context.Background(), "secretfile:"+path, nil)
	require.NoError(t, err)
	first, err := r.AsString()
	require.NoError(t, err)
	assert.Len(t, first, 26)

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	st, err = os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	r, err = p.Retrieve(context.Background(), "secretfile:"+path, nil)
	require.NoError(t, err)
	again, err := r.AsString()
	require.NoError(t, err)
	assert.Equal(t, first, again, "the file's secret, not a new one")

	require.NoError(t, os.WriteFile(path, []byte("12345\n"), 0o600))
	r, err = p.Retrieve(context.Background(), "secretfile:"+path, nil)
	require.NoError(t, err)
	raw, err := r.AsRaw()
	require.NoError(t, err)
	assert.Equal(t, "12345", raw, "a string, never a number")
}

func TestConcurrentCallersShareOneSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	var wg sync.WaitGroup
	got := make([]string, 16)
	for i := range got {
		wg.Go(func() {
			s, err := ReadOrCreate(path)
			assert.NoError(t, err)
			got[i] = s
		})
	}
	wg.Wait()
	for _, s := range got {
		assert.Equal(t, got[0], s)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestEmptyFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := ReadOrCreate(path)
	require.ErrorContains(t, err, "is empty: write a secret into it, or delete it")
	_, err = NewFactory().Create(confmap.ProviderSettings{}).Retrieve(context.Background(), "secretfile:", nil)
	require.ErrorContains(t, err, "a path is required")
}

// As otelcol-config.yaml uses it: an environment variable wins, else the
// generated secret, with the data directory from another variable.
func TestNestedInEnvDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SECRETFILE_TEST_DATA", dir)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("password: ${env:SECRETFILE_TEST_PASSWORD:-${secretfile:${env:SECRETFILE_TEST_DATA}/secrets/admin}}\n"), 0o600))
	resolve := func() string {
		res, err := confmap.NewResolver(confmap.ResolverSettings{
			URIs:              []string{"yaml:" + mustRead(t, cfgPath)},
			ProviderFactories: []confmap.ProviderFactory{NewFactory(), envprovider.NewFactory(), yamlFactory()},
			DefaultScheme:     "env",
		})
		require.NoError(t, err)
		conf, err := res.Resolve(context.Background())
		require.NoError(t, err)
		return conf.Get("password").(string)
	}
	generated := resolve()
	b, err := os.ReadFile(filepath.Join(dir, "secrets", "admin"))
	require.NoError(t, err)
	assert.Equal(t, generated+"\n", string(b))
	t.Setenv("SECRETFILE_TEST_PASSWORD", "from-env")
	assert.Equal(t, "from-env", resolve())
}

func yamlFactory() confmap.ProviderFactory { return yamlprovider.NewFactory() }

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
