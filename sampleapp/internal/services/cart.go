package services

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/store"
)

// CartService keeps carts. A cart row carries a version; every write is a
// read-modify-write that only succeeds if the version is unchanged.
type CartService struct {
	*server
	db        *store.DB
	inventory *client
}

// NewCart opens carts.db.
func NewCart(ctx context.Context, env Env) (*CartService, error) {
	db, err := openDB(ctx, env, Cart, "carts")
	if err != nil {
		return nil, err
	}
	s := &CartService{server: newServer(Cart, env), db: db, inventory: newClient(env, Cart, Inventory)}
	err = db.Do(schemaCtx(ctx), "migrate", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS carts (id TEXT PRIMARY KEY, items TEXT NOT NULL, subtotal_cents INTEGER NOT NULL,
			discount_cents INTEGER NOT NULL DEFAULT 0, total_cents INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL,
			status TEXT NOT NULL, updated_at INTEGER NOT NULL)`)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create cart schema: %w", err)
	}
	s.handle("GET /carts/{id}", s.get)
	s.handle("POST /carts/{id}/items", s.addItem)
	s.handle("POST /carts/{id}/checkout", s.close)
	return s, nil
}

// Close waits for in-flight recomputes and closes the database.
func (s *CartService) Close() error {
	s.wait()
	return s.db.Close()
}

type cartItem struct {
	ProductID      int    `json:"product_id"`
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Qty            int    `json:"qty"`
	UnitPriceCents int    `json:"unit_price_cents"`
	Note           string `json:"note,omitempty"`
}

type cartView struct {
	ID            string     `json:"cart_id"`
	Items         []cartItem `json:"items"`
	SubtotalCents int        `json:"subtotal_cents"`
	DiscountCents int        `json:"discount_cents"`
	TotalCents    int        `json:"total_cents"`
	Version       int        `json:"version"`
	Status        string     `json:"status"`
}

// versionConflict is a lost update: the row changed between read and write.
type versionConflict struct {
	cart            string
	expected, found int
}

func (e *versionConflict) Error() string {
	return fmt.Sprintf("concurrent modification of cart %s: expected version %d, found %d", e.cart, e.expected, e.found)
}

func (s *CartService) load(ctx context.Context, c *store.Conn, id string) (cartView, error) {
	v := cartView{ID: id}
	var items string
	err := c.QueryRow(ctx, `SELECT items, subtotal_cents, discount_cents, total_cents, version, status FROM carts WHERE id = ?`,
		[]any{id}, &items, &v.SubtotalCents, &v.DiscountCents, &v.TotalCents, &v.Version, &v.Status)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(items), &v.Items); err != nil {
		return v, fmt.Errorf("decode items of cart %s: %w", id, err)
	}
	return v, nil
}

// save writes v if the row is still at version expected.
func (s *CartService) save(ctx context.Context, c *store.Conn, v cartView, expected int) error {
	items, err := json.Marshal(v.Items)
	if err != nil {
		return fmt.Errorf("encode items: %w", err)
	}
	res, err := c.Exec(ctx, `UPDATE carts SET items = ?, subtotal_cents = ?, discount_cents = ?, total_cents = ?, status = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
		string(items), v.SubtotalCents, v.DiscountCents, v.TotalCents, v.Status, time.Now().UnixMilli(), v.ID, expected)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	found := -1
	_ = c.QueryRow(ctx, `SELECT version FROM carts WHERE id = ?`, []any{v.ID}, &found)
	return &versionConflict{cart: v.ID, expected: expected, found: found}
}

func (s *CartService) get(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var v cartView
	err := s.db.Do(r.Context(), "get_cart", func(ctx context.Context, c *store.Conn) error {
		var err error
		v, err = s.load(ctx, c, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fail(http.StatusNotFound, "CartNotFoundError", fmt.Errorf("no cart %s", truncate(id, 60)), "get_cart", "")
	}
	if err != nil {
		return dbFail(err, "CartDBError", "get_cart", "cart_id="+truncate(id, 60))
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type addItemRequest struct {
	ProductID int    `json:"product_id"`
	Quantity  int    `json:"quantity"`
	Note      string `json:"note,omitempty"`
}

func (s *CartService) addItem(w http.ResponseWriter, r *http.Request) error {
	const op = "add_item"
	id := r.PathValue("id")
	var req addItemRequest
	if err := decode(r, &req, op); err != nil {
		return err
	}
	if req.ProductID <= 0 || req.Quantity <= 0 || req.Quantity > 1000 {
		return fail(http.StatusBadRequest, "BadRequestError",
			fmt.Errorf("product_id must be positive and quantity in 1..1000, got product_id=%d quantity=%d", req.ProductID, req.Quantity), op, "")
	}
	ctx := r.Context()

	var v cartView
	err := s.db.Do(ctx, op, func(ctx context.Context, c *store.Conn) error {
		if _, err := c.Exec(ctx, `INSERT OR IGNORE INTO carts (id, items, subtotal_cents, version, status, updated_at) VALUES (?, '[]', 0, 0, 'open', ?)`,
			id, time.Now().UnixMilli()); err != nil {
			return err
		}
		var err error
		v, err = s.load(ctx, c, id)
		return err
	})
	if err != nil {
		return dbFail(err, "CartDBError", op, "cart_id="+truncate(id, 60))
	}
	if v.Status != "open" {
		return fail(http.StatusConflict, "CartClosedError", fmt.Errorf("cart %s is %s", id, v.Status), op, "")
	}
	if len(v.Items) >= 50 {
		return fail(http.StatusUnprocessableEntity, "CartLimitError", fmt.Errorf("cart %s already has %d lines", id, len(v.Items)), op, "")
	}

	// A soft check against inventory's catalog: stock is only held when
	// payment reserves it at checkout.
	var st productView
	tctx, cancel := context.WithTimeout(ctx, s.env.Timeouts.CartInventory)
	err = s.inventory.call(tctx, http.MethodGet, "/products/{id}", "/products/"+strconv.Itoa(req.ProductID), nil, &st)
	cancel()
	if err != nil {
		return relay(err, "InventoryUnavailableError", op, fmt.Sprintf("product_id=%d cart_id=%s", req.ProductID, id))
	}
	if st.Available < req.Quantity {
		return fail(http.StatusConflict, "OutOfStockError",
			fmt.Errorf("requested %d of %s but only %d available", req.Quantity, st.SKU, st.Available), op,
			"cart_id="+id, slog.String("sku", st.SKU))
	}

	expected := v.Version
	merged := false
	for i := range v.Items {
		if v.Items[i].ProductID == req.ProductID {
			v.Items[i].Qty += req.Quantity
			merged = true
		}
	}
	if !merged {
		v.Items = append(v.Items, cartItem{ProductID: st.ID, SKU: st.SKU, Name: st.Name, Qty: req.Quantity,
			UnitPriceCents: st.PriceCents, Note: req.Note})
	}
	v.SubtotalCents = 0
	for _, it := range v.Items {
		v.SubtotalCents += it.Qty * it.UnitPriceCents
	}
	v.TotalCents = v.SubtotalCents - v.DiscountCents
	err = s.db.Do(ctx, op, func(ctx context.Context, c *store.Conn) error { return s.save(ctx, c, v, expected) })
	var vc *versionConflict
	if errors.As(err, &vc) {
		return fail(http.StatusInternalServerError, "CartConcurrencyError", err, op, "sku="+st.SKU)
	}
	if err != nil {
		return dbFail(err, "CartDBError", op, "cart_id="+id)
	}
	v.Version = expected + 1
	s.log.InfoContext(ctx, fmt.Sprintf("added %d x %s to cart %s", req.Quantity, st.SKU, id),
		slog.String("cart_id", id), slog.String("sku", st.SKU), slog.Int("quantity", req.Quantity))
	s.async(ctx, func(ctx context.Context) { s.recomputeTotals(ctx, id) })
	writeJSON(w, http.StatusOK, v)
	return nil
}

// recomputeTotals re-prices a cart after it changed: volume discount of 5%
// from 3 units and 10% from 10. It runs after the response, as its own
// read-modify-write.
func (s *CartService) recomputeTotals(ctx context.Context, id string) {
	const op = "recompute_totals"
	ctx, span := s.env.Tel.Tracer.Start(ctx, "recompute cart totals", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	err := s.db.Do(ctx, op, func(ctx context.Context, c *store.Conn) error {
		v, err := s.load(ctx, c, id)
		if err != nil {
			return err
		}
		if v.Status != "open" {
			return nil
		}
		units := 0
		for _, it := range v.Items {
			units += it.Qty
		}
		pct := 0
		switch {
		case units >= 10:
			pct = 10
		case units >= 3:
			pct = 5
		}
		v.DiscountCents = v.SubtotalCents * pct / 100
		v.TotalCents = v.SubtotalCents - v.DiscountCents
		return s.save(ctx, c, v, v.Version)
	})
	if err == nil {
		return
	}
	typ := "CartDBError"
	var vc *versionConflict
	if errors.As(err, &vc) {
		typ = "CartConcurrencyError"
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	s.log.ErrorContext(ctx, fmt.Sprintf("%s: %v during %s", typ, err, op),
		slog.String("exception.type", typ), slog.String("exception.message", err.Error()),
		slog.String("operation", op), slog.String("cart_id", id))
}

// close marks a cart checked out.
func (s *CartService) close(w http.ResponseWriter, r *http.Request) error {
	const op = "close_cart"
	id := r.PathValue("id")
	var v cartView
	err := s.db.Do(r.Context(), op, func(ctx context.Context, c *store.Conn) error {
		var err error
		if v, err = s.load(ctx, c, id); err != nil {
			return err
		}
		expected := v.Version
		v.Status = "checked_out"
		if err := s.save(ctx, c, v, expected); err != nil {
			return err
		}
		v.Version = expected + 1
		return nil
	})
	var vc *versionConflict
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fail(http.StatusNotFound, "CartNotFoundError", fmt.Errorf("no cart %s", truncate(id, 60)), op, "")
	case errors.As(err, &vc):
		return fail(http.StatusInternalServerError, "CartConcurrencyError", err, op, "")
	case err != nil:
		return dbFail(err, "CartDBError", op, "cart_id="+id)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
