package backpressureprocessor

import (
	"errors"
	"time"
)

// Config configures the backpressure processor.
type Config struct {
	// RetryAfter is the delay a refusal asks senders to wait (Retry-After,
	// in whole seconds).
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	return &Config{RetryAfter: 5 * time.Second}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	if cfg.RetryAfter < time.Second {
		return errors.New("retry_after must be at least 1s (Retry-After counts whole seconds)")
	}
	return nil
}
