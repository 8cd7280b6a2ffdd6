package embed

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{Provider: "hash", Dims: 384, APIKeyEnv: "OPENAI_API_KEY", BatchSize: 64, Concurrency: 4,
		Timeout: 10 * time.Second, MaxRetries: 4, CacheSize: 10000}
	if c != want {
		t.Errorf("DefaultConfig() = %+v, want %+v", c, want)
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if e.Model() != "hash-v3-384" || e.Dims() != 384 {
		t.Errorf("New(DefaultConfig()) = %s/%d", e.Model(), e.Dims())
	}
	// An empty provider is the hash provider, so a zero-ish config from a
	// flag parser still works.
	c.Provider = ""
	if e, err := New(c); err != nil || e.Model() != "hash-v3-384" {
		t.Errorf("empty provider: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Config{
		Provider: "openai", Dims: 0, Model: " ", BaseURL: "localhost:11434", APIKeyEnv: "sk-abc-123",
		BatchSize: 0, Concurrency: -1, Timeout: 0, MaxRetries: -1, CacheSize: -5,
	}
	before := c
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	if c != before {
		t.Error("Validate mutated the config")
	}
	msg := err.Error()
	for _, want := range []string{"dims", "cache_size", "model is required", "base_url", "api_key_env", "batch_size", "concurrency", "timeout", "max_retries"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors do not mention %s:\n%s", want, msg)
		}
	}
	// api_key_env that looks like a pasted key is not echoed.
	if strings.Contains(msg, "sk-abc-123") {
		t.Errorf("Validate echoed something that looks like a key:\n%s", msg)
	}

	if err := (Config{Provider: "bert", Dims: 8}).Validate(); err == nil || !strings.Contains(err.Error(), `unknown provider "bert"`) {
		t.Errorf("unknown provider: %v", err)
	}
	// The openai-only fields do not matter for the hash provider.
	if err := (Config{Provider: "hash", Dims: 8}).Validate(); err != nil {
		t.Errorf("minimal hash config: %v", err)
	}
	if _, err := New(Config{Provider: "hash", Dims: -1}); err == nil {
		t.Error("New must validate")
	}
}

func TestEmptyVector(t *testing.T) {
	for _, d := range []int{1, 3, 384} {
		if n := norm(EmptyVector(d)); n < 0.99999 || n > 1.00001 {
			t.Errorf("dims %d: norm %v", d, n)
		}
	}
	if len(EmptyVector(0)) != 0 {
		t.Error("dims 0")
	}
}
