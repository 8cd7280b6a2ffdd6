package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/store"
)

// InventoryService owns the catalog, stock levels and reservations.
type InventoryService struct {
	*server
	db    *store.DB
	cache catalogCache
	stop  chan struct{}
	jobs  sync.WaitGroup
}

// NewInventory opens (and on first start seeds) inventory.db.
func NewInventory(ctx context.Context, env Env, products int) (*InventoryService, error) {
	db, err := openDB(ctx, env, Inventory, "inventory")
	if err != nil {
		return nil, err
	}
	s := &InventoryService{server: newServer(Inventory, env), db: db, stop: make(chan struct{})}
	if err := s.migrate(ctx, products); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.refreshCatalog(schemaCtx(ctx)); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.handleCached("GET /products", s.listProducts)
	s.handleCached("GET /products/{id}", s.getProduct)
	s.handle("GET /inventory/check", s.check)
	s.handle("POST /inventory/reserve", s.reserve)
	s.handle("POST /inventory/commit", s.commit)
	s.handle("POST /inventory/release", s.release)
	s.jobs.Go(s.maintenanceLoop)
	return s, nil
}

// DB exposes the database (tests read its pool statistics).
func (s *InventoryService) DB() *store.DB { return s.db }

// Close stops background work and closes the database.
func (s *InventoryService) Close() error {
	close(s.stop)
	s.jobs.Wait()
	s.wait()
	return s.db.Close()
}

func openDB(ctx context.Context, env Env, service, name string) (*store.DB, error) {
	return store.Open(ctx, store.Options{
		Service:        service,
		Name:           name,
		Path:           filepath.Join(env.DataDir, name+".db"),
		MaxOpenConns:   env.MaxOpenConns,
		AcquireTimeout: env.Timeouts.PoolAcquire,
		QueryTimeout:   env.Timeouts.Query,
		Tracer:         env.Tel.Tracer,
		Meter:          env.Tel.Meter,
		Faults:         env.Faults,
	})
}

// schemaCtx keeps set-up statements out of telemetry.
func schemaCtx(ctx context.Context) context.Context { return store.Untraced(ctx) }

func (s *InventoryService) migrate(ctx context.Context, n int) error {
	ctx = schemaCtx(ctx)
	return s.db.Do(ctx, "migrate", func(ctx context.Context, c *store.Conn) error {
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
				description TEXT NOT NULL, category TEXT NOT NULL, price_cents INTEGER NOT NULL, discontinued INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0,
				version INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE IF NOT EXISTS reservations (order_id TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,
				state TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (order_id, sku))`,
			`CREATE INDEX IF NOT EXISTS reservations_sku_state ON reservations (sku, state)`,
			`CREATE INDEX IF NOT EXISTS reservations_state_created ON reservations (state, created_at)`,
		} {
			if _, err := c.Exec(ctx, q); err != nil {
				return fmt.Errorf("create inventory schema: %w", err)
			}
		}
		var have int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM products`, nil, &have); err != nil {
			return fmt.Errorf("count products: %w", err)
		}
		if have > 0 {
			return nil
		}
		if err := c.Begin(ctx, true); err != nil {
			return fmt.Errorf("seed catalog: %w", err)
		}
		for _, p := range generateCatalog(n) {
			if _, err := c.Exec(ctx, `INSERT INTO products (id, sku, name, description, category, price_cents, discontinued) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				p.ID, p.SKU, p.Name, p.Description, p.Category, p.PriceCents, p.Discontinued); err != nil {
				return fmt.Errorf("seed product %d: %w", p.ID, err)
			}
			if _, err := c.Exec(ctx, `INSERT INTO stock (sku, on_hand) VALUES (?, ?)`, p.SKU, p.OnHand); err != nil {
				return fmt.Errorf("seed stock %s: %w", p.SKU, err)
			}
		}
		if err := c.Commit(ctx); err != nil {
			return fmt.Errorf("seed catalog: %w", err)
		}
		return nil
	})
}

// dbFail maps a store error to the service's answer.
func dbFail(err error, typ, op, detail string) *apiError {
	var pe *store.PoolTimeoutError
	var qe *store.QueryTimeoutError
	switch {
	case errors.As(err, &pe):
		return fail(http.StatusServiceUnavailable, typ, err, op, detail)
	case errors.As(err, &qe):
		return fail(http.StatusGatewayTimeout, typ, err, op, detail)
	default:
		return fail(http.StatusInternalServerError, typ, err, op, detail)
	}
}

type productView struct {
	ID          int    `json:"id"`
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category"`
	PriceCents  int    `json:"price_cents"`
	Available   int    `json:"available"`
}

var productOrder = map[string]string{
	"":           "p.id",
	"id":         "p.id",
	"price":      "p.price_cents, p.id",
	"price_desc": "p.price_cents DESC, p.id",
	"name":       "p.name, p.id",
}

func (s *InventoryService) listProducts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	search, category, sortBy := q.Get("q"), q.Get("category"), q.Get("sort")
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("page_size"))
	page = max(page, 1)
	if size <= 0 {
		size = 20
	}
	size = min(size, 100)
	order, ok := productOrder[sortBy]
	if !ok && sortBy != "relevance" {
		return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("unknown sort %q", sortBy), "list_products", "")
	}
	if search == "" && s.cache.loaded() {
		products, total := s.cache.page(category, sortBy, page, size)
		writeJSON(w, http.StatusOK, map[string]any{"products": products, "page": page, "page_size": size, "total": total})
		return nil
	}
	if err := s.admit(); err != nil {
		return err
	}
	like := "%" + search + "%"
	where := `(?1 = '' OR p.category = ?1) AND (?2 = '%%' OR p.name LIKE ?2 OR p.description LIKE ?2)`
	var query string
	if sortBy == "relevance" {
		// Relevance weighs each hit by how many matching products share its
		// category and price band; fine for narrow searches, quadratic in
		// the number of hits for broad ones.
		query = `SELECT p.id, p.sku, p.name, p.category, p.price_cents, s.on_hand - s.reserved,
			(SELECT count(*) FROM products a JOIN products b ON b.category = a.category
			  WHERE a.name LIKE ?2 AND b.price_cents <= p.price_cents) AS score
			FROM products p JOIN stock s ON s.sku = p.sku WHERE ` + where + `
			ORDER BY score DESC, p.id LIMIT ?3 OFFSET ?4`
	} else {
		query = `SELECT p.id, p.sku, p.name, p.category, p.price_cents, s.on_hand - s.reserved
			FROM products p JOIN stock s ON s.sku = p.sku WHERE ` + where + `
			ORDER BY ` + order + ` LIMIT ?3 OFFSET ?4`
	}
	out := struct {
		Products []productView `json:"products"`
		Page     int           `json:"page"`
		PageSize int           `json:"page_size"`
		Total    int           `json:"total"`
	}{Products: []productView{}, Page: page, PageSize: size}
	err := s.db.Do(r.Context(), "list_products", func(ctx context.Context, c *store.Conn) error {
		if err := c.QueryRow(ctx, `SELECT count(*) FROM products p WHERE `+where, []any{category, like}, &out.Total); err != nil {
			return err
		}
		return c.Query(ctx, query, []any{category, like, size, (page - 1) * size}, func(rows *sql.Rows) error {
			var p productView
			dest := []any{&p.ID, &p.SKU, &p.Name, &p.Category, &p.PriceCents, &p.Available}
			if sortBy == "relevance" {
				var score int
				dest = append(dest, &score)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			out.Products = append(out.Products, p)
			return nil
		})
	})
	if err != nil {
		return dbFail(err, "InventoryDBError", "list_products",
			fmt.Sprintf("sort=%s q=%q", cmpOr(sortBy, "id"), truncate(search, 80)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *InventoryService) getProduct(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("id")
	id, err := strconv.Atoi(raw)
	if err != nil {
		return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("product id %q is not a number", truncate(raw, 40)), "get_product", "")
	}
	if p, ok := s.cache.get(id); ok {
		writeJSON(w, http.StatusOK, p)
		return nil
	}
	// Not cached: a product added since the last refresh, or none at all.
	if err := s.admit(); err != nil {
		return err
	}
	var p productView
	err = s.db.Do(r.Context(), "get_product", func(ctx context.Context, c *store.Conn) error {
		return c.QueryRow(ctx, `SELECT p.id, p.sku, p.name, p.description, p.category, p.price_cents, s.on_hand - s.reserved
			FROM products p JOIN stock s ON s.sku = p.sku WHERE p.id = ?`, []any{id},
			&p.ID, &p.SKU, &p.Name, &p.Description, &p.Category, &p.PriceCents, &p.Available)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fail(http.StatusNotFound, "ProductNotFoundError", fmt.Errorf("no product with id %d", id), "get_product", "")
	}
	if err != nil {
		return dbFail(err, "InventoryDBError", "get_product", fmt.Sprintf("product_id=%d", id))
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

type stockView struct {
	ProductID  int    `json:"product_id"`
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int    `json:"price_cents"`
	OnHand     int    `json:"on_hand"`
	Reserved   int    `json:"reserved"`
	Pending    int    `json:"pending_reservations"`
	Available  int    `json:"available"`
	Requested  int    `json:"requested"`
	InStock    bool   `json:"in_stock"`
}

var errUnknownSKU = errors.New("unknown sku")

// check answers availability for one or more SKUs (or one product id). Each
// SKU is looked up concurrently, and each lookup consults pending
// reservations on a second connection while its first is still open.
func (s *InventoryService) check(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	qty := 1
	if v := q.Get("qty"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("qty %q must be a positive integer", truncate(v, 20)), "check_stock", "")
		}
		qty = n
	}
	var keys []string
	byID := false
	if v := q.Get("product_id"); v != "" {
		if _, err := strconv.Atoi(v); err != nil {
			return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("product_id %q is not a number", truncate(v, 40)), "check_stock", "")
		}
		keys, byID = []string{v}, true
	} else {
		for _, k := range strings.Split(q.Get("skus"), ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 || len(keys) > 100 {
		return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("give product_id or 1..100 skus, got %d", len(keys)), "check_stock", "")
	}

	results := make([]stockView, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	snap := newBarrier(len(keys))
	for i, k := range keys {
		wg.Go(func() { results[i], errs[i] = s.checkOne(r.Context(), snap, k, byID, qty) })
	}
	wg.Wait()
	keyName := "sku"
	if byID {
		keyName = "product_id"
	}
	for i, err := range errs {
		if errors.Is(err, errUnknownSKU) {
			return fail(http.StatusNotFound, "UnknownSKUError", fmt.Errorf("no stock record for %s", truncate(keys[i], 40)), "check_stock", "")
		}
		if err != nil {
			return dbFail(err, "InventoryDBError", "check_stock",
				fmt.Sprintf("%s=%s (%d in request)", keyName, truncate(keys[i], 40), len(keys)))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": results})
	return nil
}

// barrier lets the per-SKU lookups of one request commit together, so the
// answer is one consistent snapshot across SKUs.
type barrier struct {
	wg   sync.WaitGroup
	done chan struct{}
}

func newBarrier(n int) *barrier {
	b := &barrier{done: make(chan struct{})}
	b.wg.Add(n)
	go func() {
		b.wg.Wait()
		close(b.done)
	}()
	return b
}

// arrive marks one participant ready (or failed) exactly once.
func (b *barrier) arrive() func() {
	var once sync.Once
	return func() { once.Do(b.wg.Done) }
}

func (b *barrier) wait(ctx context.Context) error {
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for consistent snapshot: %w", ctx.Err())
	}
}

func (s *InventoryService) checkOne(ctx context.Context, snap *barrier, key string, byID bool, qty int) (stockView, error) {
	v := stockView{Requested: qty}
	arrive := snap.arrive()
	defer arrive()
	err := s.db.Do(ctx, "check_stock", func(ctx context.Context, c *store.Conn) error {
		if err := c.Begin(ctx, false); err != nil {
			return err
		}
		col := "p.sku"
		if byID {
			col = "p.id"
		}
		err := c.QueryRow(ctx, `SELECT p.id, p.sku, p.name, p.price_cents, s.on_hand, s.reserved
			FROM stock s JOIN products p ON p.sku = s.sku WHERE `+col+` = ?`, []any{key},
			&v.ProductID, &v.SKU, &v.Name, &v.PriceCents, &v.OnHand, &v.Reserved)
		if errors.Is(err, sql.ErrNoRows) {
			return errUnknownSKU
		}
		if err != nil {
			return err
		}
		pending, err := s.pendingReservations(ctx, v.SKU)
		if err != nil {
			return err
		}
		v.Pending = pending
		arrive()
		if err := snap.wait(ctx); err != nil {
			return err
		}
		return c.Commit(ctx)
	})
	v.Available = max(v.OnHand-v.Reserved, 0)
	v.InStock = v.Available >= qty
	return v, err
}

func (s *InventoryService) pendingReservations(ctx context.Context, sku string) (int, error) {
	var n int
	err := s.db.Do(ctx, "count_pending_reservations", func(ctx context.Context, c *store.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM reservations WHERE sku = ? AND state = 'held'`, []any{sku}, &n)
	})
	return n, err
}

type lineItem struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type reserveRequest struct {
	OrderID string     `json:"order_id"`
	Items   []lineItem `json:"items"`
}

// insufficientStock is a reservation that cannot be met.
type insufficientStock struct {
	sku                  string
	requested, available int
}

func (e *insufficientStock) Error() string {
	return fmt.Sprintf("requested %d of %s but only %d available", e.requested, e.sku, e.available)
}

func (s *InventoryService) reserve(w http.ResponseWriter, r *http.Request) error {
	var req reserveRequest
	if err := decode(r, &req, "reserve_stock"); err != nil {
		return err
	}
	if req.OrderID == "" || len(req.Items) == 0 {
		return fail(http.StatusBadRequest, "BadRequestError", errors.New("order_id and items are required"), "reserve_stock", "")
	}
	for _, it := range req.Items {
		if it.Qty <= 0 || it.SKU == "" {
			return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("invalid item %q x%d", truncate(it.SKU, 40), it.Qty), "reserve_stock", "")
		}
	}
	already := false
	err := s.db.Do(r.Context(), "reserve_stock", func(ctx context.Context, c *store.Conn) error {
		if err := c.Begin(ctx, true); err != nil {
			return err
		}
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM reservations WHERE order_id = ?`, []any{req.OrderID}, &n); err != nil {
			return err
		}
		if n > 0 {
			// A retry of a reservation that already went through.
			already = true
			return c.Commit(ctx)
		}
		now := time.Now().Unix()
		for _, it := range req.Items {
			res, err := c.Exec(ctx, `UPDATE stock SET reserved = reserved + ?1, version = version + 1
				WHERE sku = ?2 AND on_hand - reserved >= ?1`, it.Qty, it.SKU)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				var avail int
				if err := c.QueryRow(ctx, `SELECT on_hand - reserved FROM stock WHERE sku = ?`, []any{it.SKU}, &avail); errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("%w: %s", errUnknownSKU, it.SKU)
				} else if err != nil {
					return err
				}
				return &insufficientStock{sku: it.SKU, requested: it.Qty, available: max(avail, 0)}
			}
			if _, err := c.Exec(ctx, `INSERT INTO reservations (order_id, sku, qty, state, created_at) VALUES (?, ?, ?, 'held', ?)
				ON CONFLICT (order_id, sku) DO UPDATE SET qty = qty + excluded.qty`, req.OrderID, it.SKU, it.Qty, now); err != nil {
				return err
			}
		}
		return c.Commit(ctx)
	})
	detail := fmt.Sprintf("order_id=%s sku=%s", req.OrderID, req.Items[0].SKU)
	var ins *insufficientStock
	switch {
	case errors.As(err, &ins):
		return fail(http.StatusConflict, "InsufficientStockError", ins, "reserve_stock", "order_id="+req.OrderID)
	case errors.Is(err, errUnknownSKU):
		return fail(http.StatusNotFound, "UnknownSKUError", err, "reserve_stock", "order_id="+req.OrderID)
	case err != nil:
		return dbFail(err, "InventoryDBError", "reserve_stock", detail)
	}
	units := 0
	for _, it := range req.Items {
		units += it.Qty
	}
	if !already {
		s.log.InfoContext(r.Context(), fmt.Sprintf("reserved %d units across %d skus for order %s", units, len(req.Items), req.OrderID),
			slog.String("order_id", req.OrderID), slog.Int("units", units))
	}
	writeJSON(w, http.StatusCreated, map[string]any{"order_id": req.OrderID, "state": "held", "units": units})
	return nil
}

type orderRef struct {
	OrderID string `json:"order_id"`
}

func (s *InventoryService) commit(w http.ResponseWriter, r *http.Request) error {
	return s.settle(w, r, "commit_reservation", "committed",
		`UPDATE stock SET on_hand = on_hand - ?1, reserved = reserved - ?1, version = version + 1 WHERE sku = ?2`)
}

func (s *InventoryService) release(w http.ResponseWriter, r *http.Request) error {
	return s.settle(w, r, "release_reservation", "released",
		`UPDATE stock SET reserved = max(reserved - ?1, 0), version = version + 1 WHERE sku = ?2`)
}

// settle moves an order's held reservations to state, applying stockUpdate
// (?1 qty, ?2 sku) for each.
func (s *InventoryService) settle(w http.ResponseWriter, r *http.Request, op, state, stockUpdate string) error {
	var req orderRef
	if err := decode(r, &req, op); err != nil {
		return err
	}
	if req.OrderID == "" {
		return fail(http.StatusBadRequest, "BadRequestError", errors.New("order_id is required"), op, "")
	}
	var units int
	err := s.db.Do(r.Context(), op, func(ctx context.Context, c *store.Conn) error {
		if err := c.Begin(ctx, true); err != nil {
			return err
		}
		var items []lineItem
		if err := c.Query(ctx, `SELECT sku, qty FROM reservations WHERE order_id = ? AND state = 'held'`, []any{req.OrderID},
			func(rows *sql.Rows) error {
				var it lineItem
				if err := rows.Scan(&it.SKU, &it.Qty); err != nil {
					return err
				}
				items = append(items, it)
				return nil
			}); err != nil {
			return err
		}
		if len(items) == 0 {
			return sql.ErrNoRows
		}
		for _, it := range items {
			if _, err := c.Exec(ctx, stockUpdate, it.Qty, it.SKU); err != nil {
				return err
			}
			units += it.Qty
		}
		if _, err := c.Exec(ctx, `UPDATE reservations SET state = ? WHERE order_id = ? AND state = 'held'`, state, req.OrderID); err != nil {
			return err
		}
		return c.Commit(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fail(http.StatusNotFound, "ReservationNotFoundError", fmt.Errorf("no held reservation for order %s", req.OrderID), op, "")
	}
	if err != nil {
		return dbFail(err, "InventoryDBError", op, "order_id="+req.OrderID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"order_id": req.OrderID, "state": state, "units": units})
	return nil
}

func (s *InventoryService) maintenanceLoop() {
	period := s.env.Timeouts.Maintenance
	if period <= 0 {
		period = 10 * time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.maintain()
		}
	}
}

// maintain restocks low SKUs, releases reservations nobody captured and
// refreshes the catalog cache.
func (s *InventoryService) maintain() {
	ctx, span := s.env.Tel.Tracer.Start(context.Background(), "inventory maintenance",
		trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	ttl := s.env.Timeouts.ReservationTTL
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	var restocked, expired int64
	err := s.db.Do(ctx, "maintenance", func(ctx context.Context, c *store.Conn) error {
		if err := c.Begin(ctx, true); err != nil {
			return err
		}
		cutoff := time.Now().Add(-ttl).Unix()
		res, err := c.Exec(ctx, `UPDATE stock SET reserved = max(reserved - (SELECT coalesce(sum(qty), 0) FROM reservations r
			WHERE r.sku = stock.sku AND r.state = 'held' AND r.created_at < ?1), 0)
			WHERE sku IN (SELECT sku FROM reservations WHERE state = 'held' AND created_at < ?1)`, cutoff)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `UPDATE reservations SET state = 'expired' WHERE state = 'held' AND created_at < ?`, cutoff); err != nil {
			return err
		}
		expired, _ = res.RowsAffected()
		res, err = c.Exec(ctx, `UPDATE stock SET on_hand = on_hand + 200, version = version + 1
			WHERE on_hand - reserved < 20 AND sku IN (SELECT sku FROM products WHERE discontinued = 0)`)
		if err != nil {
			return err
		}
		restocked, _ = res.RowsAffected()
		return c.Commit(ctx)
	})
	if err == nil {
		err = s.refreshCatalog(ctx)
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		s.log.ErrorContext(ctx, "InventoryDBError: "+err.Error()+" during maintenance",
			slog.String("exception.type", "InventoryDBError"), slog.String("exception.message", err.Error()),
			slog.String("operation", "maintenance"))
		return
	}
	if restocked+expired > 0 {
		s.log.InfoContext(ctx, fmt.Sprintf("maintenance restocked %d skus and released reservations on %d skus", restocked, expired),
			slog.Int64("restocked", restocked), slog.Int64("released_skus", expired))
	}
}
