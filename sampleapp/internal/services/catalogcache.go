package services

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/store"
)

// catalogCache is inventory's in-memory copy of the catalog with stock
// levels, refreshed by the maintenance job. Browsing and the soft
// availability check when adding to a cart are served from it; searches,
// bulk checks and reservations go to the database.
type catalogCache struct {
	mu   sync.RWMutex
	list []productView // by id
	byID map[int]productView
}

func (c *catalogCache) get(id int) (productView, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.byID[id]
	return p, ok
}

func (c *catalogCache) loaded() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.list != nil
}

// page filters by category, sorts and paginates.
func (c *catalogCache) page(category, sortBy string, page, size int) ([]productView, int) {
	c.mu.RLock()
	var hits []productView
	for _, p := range c.list {
		if category == "" || p.Category == category {
			hits = append(hits, p)
		}
	}
	c.mu.RUnlock()
	switch sortBy {
	case "price":
		slices.SortStableFunc(hits, func(a, b productView) int { return cmp.Compare(a.PriceCents, b.PriceCents) })
	case "price_desc":
		slices.SortStableFunc(hits, func(a, b productView) int { return cmp.Compare(b.PriceCents, a.PriceCents) })
	case "name":
		slices.SortStableFunc(hits, func(a, b productView) int { return strings.Compare(a.Name, b.Name) })
	}
	total := len(hits)
	from := min((page-1)*size, total)
	to := min(from+size, total)
	out := make([]productView, 0, to-from)
	for _, p := range hits[from:to] {
		p.Description = ""
		out = append(out, p)
	}
	return out, total
}

// refreshCatalog reloads the cache from the database.
func (s *InventoryService) refreshCatalog(ctx context.Context) error {
	var list []productView
	err := s.db.Do(ctx, "load_catalog", func(ctx context.Context, c *store.Conn) error {
		return c.Query(ctx, `SELECT p.id, p.sku, p.name, p.description, p.category, p.price_cents, s.on_hand - s.reserved
			FROM products p JOIN stock s ON s.sku = p.sku ORDER BY p.id`, nil, func(rows *sql.Rows) error {
			var p productView
			if err := rows.Scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.Category, &p.PriceCents, &p.Available); err != nil {
				return err
			}
			p.Available = max(p.Available, 0)
			list = append(list, p)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	byID := make(map[int]productView, len(list))
	for _, p := range list {
		byID[p.ID] = p
	}
	s.cache.mu.Lock()
	s.cache.list, s.cache.byID = list, byID
	s.cache.mu.Unlock()
	return nil
}
