package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// Embedder turns texts into L2-normalised float32 vectors of a fixed dimension.
//
// Implementations are safe for concurrent use. The returned vectors may be
// shared with other callers and must not be modified.
type Embedder interface {
	// Embed returns one vector per text, in the same order. A text with
	// nothing to embed yields EmptyVector(Dims()).
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the model and, for the hash provider, the algorithm
	// version; it is stored next to each vector so that vectors of different
	// models are never compared.
	Model() string
	// Dims is the length of every returned vector.
	Dims() int
}

// Provider names accepted in Config.Provider.
const (
	ProviderHash   = "hash"
	ProviderOpenAI = "openai"
)

// Config selects and tunes an Embedder. Only Dims and CacheSize matter for
// the hash provider; the rest configure the openai provider.
type Config struct {
	// Provider is "hash" (the default; an empty string means the same) or
	// "openai".
	Provider string `mapstructure:"provider"`
	// Dims is the vector length. It must match the vector columns of the
	// tables the vectors are written to.
	Dims int `mapstructure:"dims"`
	// Model is the embeddings model (openai: required), or the deployment
	// name when BaseURL points at Azure OpenAI.
	Model string `mapstructure:"model"`
	// BaseURL of an OpenAI-compatible API including its version path, e.g.
	// http://localhost:11434/v1 for Ollama; empty means api.openai.com/v1.
	// A host containing "azure" switches to Azure OpenAI conventions (api-key
	// header, deployments/<Model> path, api-version query parameter).
	BaseURL string `mapstructure:"base_url"`
	// APIKeyEnv is the name of the environment variable that holds the API
	// key. The key itself is never part of the configuration so that it
	// cannot end up in a logged config dump, and it is never put in an error.
	APIKeyEnv string `mapstructure:"api_key_env"`
	// BatchSize is the number of texts sent per request.
	BatchSize int `mapstructure:"batch_size"`
	// Concurrency bounds the requests in flight per Embed call.
	Concurrency int `mapstructure:"concurrency"`
	// Timeout applies to each HTTP attempt, not to a whole Embed call; the
	// caller's context bounds the latter.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxRetries is the number of retries after the first attempt on 408,
	// 429, 5xx, timeouts and network errors.
	MaxRetries int `mapstructure:"max_retries"`
	// CacheSize is the number of vectors the LRU in front of the provider
	// keeps; 0 disables caching.
	CacheSize int `mapstructure:"cache_size"`
}

// DefaultConfig returns the offline hash provider at 384 dimensions, with
// openai settings that suit the public API.
func DefaultConfig() Config {
	return Config{
		Provider:    ProviderHash,
		Dims:        384,
		APIKeyEnv:   "OPENAI_API_KEY",
		BatchSize:   64,
		Concurrency: 4,
		Timeout:     10 * time.Second,
		MaxRetries:  4,
		CacheSize:   10000,
	}
}

// maxDims guards against a typo (dims: 38400) allocating huge vectors per
// record; the largest common embedding models stop at 4096.
const maxDims = 16384

// Validate reports every problem at once so that a collector config can be
// fixed in one go. It does not read the API key: a missing key is reported by
// New, when the provider is actually built.
func (c Config) Validate() error {
	var errs []error
	switch c.Provider {
	case "", ProviderHash, ProviderOpenAI:
	default:
		errs = append(errs, fmt.Errorf("embed: unknown provider %q (want %q or %q)", c.Provider, ProviderHash, ProviderOpenAI))
	}
	if c.Dims <= 0 || c.Dims > maxDims {
		errs = append(errs, fmt.Errorf("embed: dims must be between 1 and %d, got %d", maxDims, c.Dims))
	}
	if c.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("embed: cache_size must be >= 0 (0 disables the cache), got %d", c.CacheSize))
	}
	if c.Provider == ProviderOpenAI {
		if strings.TrimSpace(c.Model) == "" {
			errs = append(errs, errors.New("embed: model is required for provider openai (e.g. text-embedding-3-small)"))
		}
		if c.BaseURL != "" {
			if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("embed: base_url must be an absolute http(s) URL such as http://localhost:11434/v1, got %q", c.BaseURL))
			}
		}
		if !validEnvName(c.APIKeyEnv) {
			// The value is not echoed: a bad one is most often the key itself.
			errs = append(errs, errors.New("embed: api_key_env must be the name of an environment variable holding the key (letters, digits, underscore, e.g. OPENAI_API_KEY), not the key"))
		}
		if c.BatchSize <= 0 {
			errs = append(errs, fmt.Errorf("embed: batch_size must be > 0, got %d", c.BatchSize))
		}
		if c.Concurrency <= 0 {
			errs = append(errs, fmt.Errorf("embed: concurrency must be > 0, got %d", c.Concurrency))
		}
		if c.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("embed: timeout must be > 0, got %s", c.Timeout))
		}
		if c.MaxRetries < 0 {
			errs = append(errs, fmt.Errorf("embed: max_retries must be >= 0, got %d", c.MaxRetries))
		}
	}
	return errors.Join(errs...)
}

// validEnvName accepts POSIX-style names; anything else is more likely a
// pasted key than a variable name, and must not be echoed back.
func validEnvName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// New builds the configured provider. The cache is left to the caller
// (NewCached with c.CacheSize) because the collector keys it by template hash
// while other callers may not have one.
func New(c Config) (Embedder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.Provider {
	case ProviderOpenAI:
		return newOpenAI(c)
	default:
		return NewHash(c.Dims), nil
	}
}

// EmptyVector is what every provider returns for a text with nothing to
// embed: the constant unit vector 1/sqrt(dims) in every component. It is unit
// norm so that cosine distances stay finite, and for the hash provider it is
// nearly orthogonal to real texts because their bucket signs are balanced.
func EmptyVector(dims int) []float32 {
	v := make([]float32, dims)
	if dims == 0 {
		return v
	}
	x := float32(1 / math.Sqrt(float64(dims)))
	for i := range v {
		v[i] = x
	}
	return v
}

// normalize scales v to unit L2 norm in place and reports false when v has
// no direction (all zeros) or holds NaN/Inf.
func normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return true
}

var (
	_ Embedder = (*Hash)(nil)
	_ Embedder = (*openAIEmbedder)(nil)
	_ Embedder = (*Cached)(nil)
)
