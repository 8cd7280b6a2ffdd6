package clickhousevectorexporter

import (
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
)

func TestCompressionFollowsTheEndpoint(t *testing.T) {
	cfg := createDefaultConfig()
	for host, want := range map[string]clickhouse.CompressionMethod{
		"127.0.0.1": clickhouse.CompressionNone, "::1": clickhouse.CompressionNone, "localhost": clickhouse.CompressionNone,
		"10.0.0.7": clickhouse.CompressionLZ4, "abc.clickhouse.cloud": clickhouse.CompressionLZ4,
	} {
		assert.Equal(t, want, cfg.compression(host), host)
	}
	cfg.Compress = "zstd"
	assert.Equal(t, clickhouse.CompressionZSTD, cfg.compression("127.0.0.1"))
	cfg.Compress = "lz4"
	assert.Equal(t, clickhouse.CompressionLZ4, cfg.compression("127.0.0.1"))
	cfg.Compress = "none"
	assert.Equal(t, clickhouse.CompressionNone, cfg.compression("abc.clickhouse.cloud"))
}

func TestValidateNamesTheFix(t *testing.T) {
	cfg := createDefaultConfig()
	assert.NoError(t, cfg.Validate())
	cfg.Compress = "gzip"
	cfg.StatsFlushInterval = -1
	err := cfg.Validate()
	assert.ErrorContains(t, err, `compress "gzip": use lz4, zstd or none`)
	assert.ErrorContains(t, err, "stats_flush_interval must not be negative")
}
