package rrwebreceiver

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/config/confighttp"
)

// Config configures the rrweb receiver.
type Config struct {
	// ServerConfig is the HTTP server: endpoint (default 127.0.0.1:4319),
	// cors (allowed_origins: the web application's origins),
	// max_request_body_size (default 20 MiB, enforced on the received and
	// on the decompressed body), tls, auth.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// MaxEventsPerRequest bounds the rrweb events (or session log records)
	// of one request.
	MaxEventsPerRequest int `mapstructure:"max_events_per_request"`
}

const (
	defaultEndpoint       = "127.0.0.1:4319"
	defaultMaxBodyBytes   = 20 << 20
	defaultMaxEvents      = 10000
	maxEventsPerRequestUp = 1_000_000
)

func createDefaultConfig() *Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = defaultEndpoint
	srv.MaxRequestBodySize = defaultMaxBodyBytes
	return &Config{ServerConfig: srv, MaxEventsPerRequest: defaultMaxEvents}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.ServerConfig.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint must be set, e.g. 127.0.0.1:4319"))
	}
	if cfg.ServerConfig.MaxRequestBodySize < 0 {
		errs = append(errs, fmt.Errorf("max_request_body_size must not be negative, got %d", cfg.ServerConfig.MaxRequestBodySize))
	}
	if cfg.MaxEventsPerRequest <= 0 || cfg.MaxEventsPerRequest > maxEventsPerRequestUp {
		errs = append(errs, fmt.Errorf("max_events_per_request must be within [1, %d], got %d", maxEventsPerRequestUp, cfg.MaxEventsPerRequest))
	}
	return errors.Join(errs...)
}
