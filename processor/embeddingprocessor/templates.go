package embeddingprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/internal/templatestore"
)

// templates is the logs processor's online template miner and, when
// configured, the store that keeps its state in ClickHouse.
type templates struct {
	cfg    TemplatesConfig
	logger *zap.Logger
	miner  *logtemplate.Miner
	store  *templatestore.Store

	stop chan struct{}
	wg   sync.WaitGroup

	// Reported once per sync: evictions and dropped aliases since the last
	// report, so that reaching a bound is said, not hidden.
	evictsSeen, droppedSeen, overflowSeen uint64
}

func newTemplates(cfg TemplatesConfig, logger *zap.Logger) *templates {
	return &templates{cfg: cfg, logger: logger, miner: logtemplate.NewMiner(logtemplate.MinerConfig{
		MaxTemplates: cfg.MaxTemplates,
		MaxValues:    cfg.MaxValues,
		Similarity:   cfg.Similarity,
		NewTemplates: cfg.NewTemplates,
		RefillEvery:  cfg.RefillEvery,
	})}
}

// start opens the store and learns the stored templates. ClickHouse being
// unreachable does not stop the collector: the miner starts empty and the
// next sync tries again.
func (t *templates) start(ctx context.Context, _ component.Host) error {
	st := t.cfg.Store
	t.stop = make(chan struct{})
	if st.Endpoint != "" {
		s, err := templatestore.Open(templatestore.Options{Endpoint: st.Endpoint, Username: st.Username, Password: string(st.Password), Database: st.Database})
		if err != nil {
			return err
		}
		t.store = s
		t.sync(ctx, true)
	}
	interval := st.SyncInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t.wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), interval)
				t.sync(ctx, false)
				cancel()
			}
		}
	})
	return nil
}

func (t *templates) sync(ctx context.Context, first bool) {
	if t.store != nil {
		aliases, learned, err := templatestore.Sync(ctx, t.store, t.miner, t.cfg.MaxTemplates)
		switch {
		case err != nil:
			t.logger.Warn("Could not sync log templates with ClickHouse; the miner goes on with what it has and tries again",
				zap.Error(err), zap.Duration("retry_in", t.cfg.Store.SyncInterval))
		case first:
			t.logger.Info("Learned the stored log templates", zap.Int("templates", learned))
		default:
			t.logger.Debug("Synced log templates", zap.Int("aliases_written", aliases), zap.Int("templates_read", learned))
		}
		if d := t.store.Dropped(); d > t.droppedSeen {
			t.logger.Warn("Template aliases dropped while ClickHouse was unreachable (they are found again at the next start)", zap.Uint64("dropped", d-t.droppedSeen))
			t.droppedSeen = d
		}
	}
	if o := t.miner.Stats().Overflow; o > t.overflowSeen {
		t.logger.Warn("Lines like no other arrived faster than the budget of new templates: they are stored under the overflow template until one like them comes again (a flood of unique messages, or ids as whole messages?)",
			zap.Uint64("lines", o-t.overflowSeen), zap.String("template", logtemplate.OverflowTemplate))
		t.overflowSeen = o
	}
	if e := t.miner.Evictions(); e > t.evictsSeen {
		t.logger.Warn("Template store full: least recently matched templates evicted (raise logs.templates.max_templates if these are not floods of unique lines)",
			zap.Uint64("evicted", e-t.evictsSeen), zap.Int("max_templates", t.cfg.MaxTemplates))
		t.evictsSeen = e
	}
}

func (t *templates) shutdown(ctx context.Context) error {
	if t.stop == nil {
		return nil
	}
	close(t.stop)
	t.wg.Wait()
	t.stop = nil
	if t.store == nil {
		return nil
	}
	for _, a := range t.miner.Aliases() {
		t.store.Alias(a.Old, a.Canonical)
	}
	if _, err := t.store.Flush(ctx); err != nil {
		t.logger.Warn("Could not write the last template aliases; they are found again at the next start", zap.Error(err))
	}
	err := t.store.Close()
	t.store = nil
	return err
}
