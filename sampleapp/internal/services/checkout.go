package services

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/store"
)

// CheckoutService turns a cart into an order and has payment authorize it.
type CheckoutService struct {
	*server
	db      *store.DB
	cart    *client
	payment *client
}

// NewCheckout opens orders.db.
func NewCheckout(ctx context.Context, env Env) (*CheckoutService, error) {
	db, err := openDB(ctx, env, Checkout, "orders")
	if err != nil {
		return nil, err
	}
	s := &CheckoutService{server: newServer(Checkout, env), db: db,
		cart: newClient(env, Checkout, Cart), payment: newClient(env, Checkout, Payment)}
	err = db.Do(schemaCtx(ctx), "migrate", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, cart_id TEXT NOT NULL, email TEXT NOT NULL,
			status TEXT NOT NULL, subtotal_cents INTEGER NOT NULL, discount_cents INTEGER NOT NULL, total_cents INTEGER NOT NULL,
			payment_id TEXT, shipping TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create orders schema: %w", err)
	}
	s.handle("POST /checkout", s.checkout)
	s.handle("GET /orders/{id}", s.getOrder)
	return s, nil
}

// Close closes the database.
func (s *CheckoutService) Close() error {
	s.wait()
	return s.db.Close()
}

type shipping struct {
	Name    string `json:"name"`
	Line1   string `json:"line1"`
	City    string `json:"city"`
	Country string `json:"country"`
	Notes   string `json:"notes,omitempty"`
}

type checkoutRequest struct {
	CartID     string   `json:"cart_id"`
	Email      string   `json:"email"`
	CardNumber string   `json:"card_number"`
	Coupon     string   `json:"coupon,omitempty"`
	Shipping   shipping `json:"shipping"`
}

type coupon struct {
	percent   int
	bulkCents int // fixed amount shared by the units of lines with at least minQty
	minQty    int
}

var coupons = map[string]coupon{
	"SAVE10":   {percent: 10},
	"WELCOME5": {percent: 5},
	"BULK5":    {bulkCents: 500, minQty: 5},
}

// discountFor prices a coupon against the cart lines.
func discountFor(code string, items []cartItem, subtotal int) (int, error) {
	c, ok := coupons[strings.ToUpper(strings.TrimSpace(code))]
	if !ok {
		return 0, fmt.Errorf("unknown coupon %q", truncate(code, 40))
	}
	if c.percent > 0 {
		return subtotal * c.percent / 100, nil
	}
	eligible := 0
	for _, it := range items {
		if it.Qty >= c.minQty {
			eligible += it.Qty
		}
	}
	perUnit := c.bulkCents / eligible
	return perUnit * eligible, nil
}

type orderView struct {
	ID            string `json:"order_id"`
	CartID        string `json:"cart_id"`
	Status        string `json:"status"`
	SubtotalCents int    `json:"subtotal_cents"`
	DiscountCents int    `json:"discount_cents"`
	TotalCents    int    `json:"total_cents"`
	PaymentID     string `json:"payment_id,omitempty"`
}

func (s *CheckoutService) checkout(w http.ResponseWriter, r *http.Request) error {
	const op = "place_order"
	ctx := r.Context()
	var req checkoutRequest
	if err := decode(r, &req, op); err != nil {
		return err
	}
	if req.CartID == "" || req.CardNumber == "" || !strings.Contains(req.Email, "@") {
		return fail(http.StatusBadRequest, "ValidationError", errors.New("cart_id, card_number and a valid email are required"), op, "")
	}

	var cart cartView
	if err := s.cart.call(ctx, http.MethodGet, "/carts/{id}", "/carts/"+pathEscape(req.CartID), nil, &cart); err != nil {
		return relay(err, "CheckoutError", op, "cart_id="+truncate(req.CartID, 60))
	}
	if cart.Status != "open" {
		return fail(http.StatusConflict, "CartAlreadyCheckedOutError", fmt.Errorf("cart %s is %s", cart.ID, cart.Status), op, "")
	}
	if len(cart.Items) == 0 {
		return fail(http.StatusBadRequest, "EmptyCartError", fmt.Errorf("cart %s has no items", cart.ID), op, "")
	}

	o := orderView{ID: newID("ord-"), CartID: cart.ID, Status: "pending", SubtotalCents: cart.SubtotalCents, DiscountCents: cart.DiscountCents}
	if req.Coupon != "" {
		d, err := discountFor(req.Coupon, cart.Items, cart.SubtotalCents)
		if err != nil {
			return fail(http.StatusUnprocessableEntity, "CouponError", err, op, "cart_id="+cart.ID)
		}
		o.DiscountCents = max(o.DiscountCents, d)
	}
	o.TotalCents = max(o.SubtotalCents-o.DiscountCents, 0)

	ship, _ := json.Marshal(req.Shipping)
	now := time.Now().UnixMilli()
	err := s.db.Do(ctx, "create_order", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO orders (id, cart_id, email, status, subtotal_cents, discount_cents, total_cents, shipping, created_at, updated_at)
			VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`, o.ID, o.CartID, req.Email, o.SubtotalCents, o.DiscountCents, o.TotalCents, string(ship), now, now)
		return err
	})
	if err != nil {
		return dbFail(err, "OrderDBError", "create_order", "order_id="+o.ID)
	}

	items := make([]lineItem, 0, len(cart.Items))
	for _, it := range cart.Items {
		items = append(items, lineItem{SKU: it.SKU, Qty: it.Qty})
	}
	var auth struct {
		PaymentID string `json:"payment_id"`
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, s.env.Timeouts.Payment)
	err = s.payment.call(pctx, http.MethodPost, "/payments/authorize", "/payments/authorize", map[string]any{
		"order_id": o.ID, "amount_cents": o.TotalCents, "card_number": req.CardNumber, "items": items,
	}, &auth)
	cancel()
	if err != nil {
		s.setStatus(ctx, o.ID, "payment_failed", "")
		var ue *upstreamError
		switch {
		case errors.As(err, &ue) && ue.Status < 500:
			return relay(err, "", op, "")
		case isTimeout(err):
			return fail(http.StatusGatewayTimeout, "CheckoutError",
				fmt.Errorf("payment authorization timed out after %dms", time.Since(start).Milliseconds()), op, "order_id="+o.ID)
		case errors.As(err, &ue) && ue.Type == "PaymentGatewayError":
			return fail(http.StatusBadGateway, "CheckoutError", fmt.Errorf("payment gateway error: %w", err), op, "order_id="+o.ID)
		default:
			return relay(err, "CheckoutError", op, "order_id="+o.ID)
		}
	}
	o.Status, o.PaymentID = "authorized", auth.PaymentID
	s.setStatus(ctx, o.ID, o.Status, o.PaymentID)

	if err := s.cart.call(ctx, http.MethodPost, "/carts/{id}/checkout", "/carts/"+pathEscape(cart.ID)+"/checkout", nil, nil); err != nil {
		return relay(err, "CheckoutError", "close_cart", "order_id="+o.ID+" cart_id="+cart.ID)
	}
	s.log.InfoContext(ctx, fmt.Sprintf("order %s placed: %d lines, total %d cents, payment %s authorized", o.ID, len(items), o.TotalCents, o.PaymentID),
		slog.String("order_id", o.ID), slog.String("cart_id", cart.ID), slog.Int("total_cents", o.TotalCents))
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *CheckoutService) setStatus(ctx context.Context, id, status, paymentID string) {
	err := s.db.Do(ctx, "update_order", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `UPDATE orders SET status = ?, payment_id = coalesce(nullif(?, ''), payment_id), updated_at = ? WHERE id = ?`,
			status, paymentID, time.Now().UnixMilli(), id)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, fmt.Sprintf("OrderDBError: %v during update_order order_id=%s", err, id),
			slog.String("exception.type", "OrderDBError"), slog.String("exception.message", err.Error()), slog.String("order_id", id))
	}
}

func (s *CheckoutService) getOrder(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var o orderView
	var pid sql.NullString
	err := s.db.Do(r.Context(), "get_order", func(ctx context.Context, c *store.Conn) error {
		return c.QueryRow(ctx, `SELECT id, cart_id, status, subtotal_cents, discount_cents, total_cents, payment_id FROM orders WHERE id = ?`,
			[]any{id}, &o.ID, &o.CartID, &o.Status, &o.SubtotalCents, &o.DiscountCents, &o.TotalCents, &pid)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fail(http.StatusNotFound, "OrderNotFoundError", fmt.Errorf("no order %s", truncate(id, 60)), "get_order", "")
	}
	if err != nil {
		return dbFail(err, "OrderDBError", "get_order", "order_id="+truncate(id, 60))
	}
	o.PaymentID = pid.String
	writeJSON(w, http.StatusOK, o)
	return nil
}
