package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/store"
)

// PaymentService authorizes (reserving stock first) and captures payments
// through an external gateway.
type PaymentService struct {
	*server
	db        *store.DB
	inventory *client
	gateway   *client
}

// NewPayment opens payments.db.
func NewPayment(ctx context.Context, env Env) (*PaymentService, error) {
	db, err := openDB(ctx, env, Payment, "payments")
	if err != nil {
		return nil, err
	}
	s := &PaymentService{server: newServer(Payment, env), db: db,
		inventory: newClient(env, Payment, Inventory), gateway: newClient(env, Payment, Gateway)}
	err = db.Do(schemaCtx(ctx), "migrate", func(ctx context.Context, c *store.Conn) error {
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount_cents INTEGER NOT NULL,
				card_last4 TEXT NOT NULL, card_token TEXT NOT NULL, auth_code TEXT NOT NULL, status TEXT NOT NULL,
				created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS payments_order ON payments (order_id)`,
			`CREATE TABLE IF NOT EXISTS captures (id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, order_id TEXT NOT NULL UNIQUE,
				amount_cents INTEGER NOT NULL, idempotency_key TEXT, created_at INTEGER NOT NULL)`,
		} {
			if _, err := c.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create payments schema: %w", err)
	}
	s.handle("POST /payments/authorize", s.authorize)
	s.handle("POST /payments/capture", s.capture)
	return s, nil
}

// Close closes the database.
func (s *PaymentService) Close() error {
	s.wait()
	return s.db.Close()
}

type authorizeRequest struct {
	OrderID     string     `json:"order_id"`
	AmountCents int        `json:"amount_cents"`
	CardNumber  string     `json:"card_number"`
	Items       []lineItem `json:"items"`
}

// callInventory calls inventory with a per-attempt timeout, retrying server
// errors and timeouts with a short backoff. It returns the attempts made.
func (s *PaymentService) callInventory(ctx context.Context, template string, in any) (int, error) {
	attempts := max(s.env.Timeouts.InventoryAttempts, 1)
	var err error
	for i := 1; i <= attempts; i++ {
		actx, cancel := context.WithTimeout(ctx, s.env.Timeouts.InventoryAttempt)
		err = s.inventory.call(actx, http.MethodPost, template, template, in, nil)
		cancel()
		var ue *upstreamError
		if err == nil || (errors.As(err, &ue) && ue.Status < 500) || ctx.Err() != nil {
			return i, err
		}
		if i < attempts {
			t := time.NewTimer(time.Duration(i) * 100 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return i, err
			}
		}
	}
	return attempts, err
}

// stockFailure describes a failed inventory call from payment's side.
func (s *PaymentService) stockFailure(ctx context.Context, err error, step string, attempts int, start time.Time, orderID string) error {
	var ue *upstreamError
	if errors.As(err, &ue) && ue.Status < 500 {
		return relay(err, "", step, "")
	}
	elapsed := time.Since(start).Milliseconds()
	detail := fmt.Sprintf("order_id=%s attempts=%d/%d", orderID, attempts, max(s.env.Timeouts.InventoryAttempts, 1))
	if ctx.Err() != nil || isTimeout(err) {
		cause := err
		if ctx.Err() != nil {
			cause = fmt.Errorf("caller gave up: %w", context.Cause(ctx))
		}
		return fail(http.StatusGatewayTimeout, "PaymentTimeoutError",
			fmt.Errorf("%s for order %s timed out after %dms: %w", step, orderID, elapsed, cause), step, detail)
	}
	return fail(http.StatusServiceUnavailable, "PaymentProcessingError",
		fmt.Errorf("%s failed after %dms: %w", step, elapsed, err), step, detail)
}

func (s *PaymentService) authorize(w http.ResponseWriter, r *http.Request) error {
	const op = "authorize_payment"
	ctx := r.Context()
	var req authorizeRequest
	if err := decode(r, &req, op); err != nil {
		return err
	}
	if req.OrderID == "" || req.CardNumber == "" || len(req.Items) == 0 || req.AmountCents < 0 {
		return fail(http.StatusBadRequest, "BadRequestError", errors.New("order_id, card_number and items are required"), op, "")
	}
	start := time.Now()
	attempts, err := s.callInventory(ctx, "/inventory/reserve", reserveRequest{OrderID: req.OrderID, Items: req.Items})
	if err != nil {
		return s.stockFailure(ctx, err, "reserve_stock", attempts, start, req.OrderID)
	}

	var gw gatewayAnswer
	gstart := time.Now()
	gctx, cancel := context.WithTimeout(ctx, s.env.Timeouts.Gateway)
	err = s.gateway.call(gctx, http.MethodPost, "/v1/authorizations", "/v1/authorizations", map[string]any{
		"amount_cents": req.AmountCents, "currency": "USD", "card_number": req.CardNumber, "reference": req.OrderID,
	}, &gw)
	cancel()
	if err != nil {
		s.releaseStock(ctx, req.OrderID)
		return s.gatewayFailure(err, "authorize", gstart, req.OrderID, req.CardNumber)
	}

	pid := newID("pay-")
	now := time.Now().UnixMilli()
	err = s.db.Do(ctx, "record_authorization", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO payments (id, order_id, amount_cents, card_last4, card_token, auth_code, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'authorized', ?, ?)`, pid, req.OrderID, req.AmountCents, cardLast4(req.CardNumber),
			gw.CardToken, gw.AuthCode, now, now)
		return err
	})
	if err != nil {
		s.releaseStock(ctx, req.OrderID)
		return dbFail(err, "PaymentDBError", "record_authorization", "order_id="+req.OrderID)
	}
	s.log.InfoContext(ctx, fmt.Sprintf("payment %s authorized for order %s: %d cents, card ending %s", pid, req.OrderID, req.AmountCents, cardLast4(req.CardNumber)),
		slog.String("payment_id", pid), slog.String("order_id", req.OrderID), slog.Int("amount_cents", req.AmountCents))
	writeJSON(w, http.StatusCreated, map[string]any{"payment_id": pid, "order_id": req.OrderID, "status": "authorized"})
	return nil
}

// gatewayFailure maps a gateway answer to payment's.
func (s *PaymentService) gatewayFailure(err error, step string, start time.Time, orderID, card string) error {
	detail := fmt.Sprintf("order_id=%s card_last4=%s", orderID, cardLast4(card))
	var ue *upstreamError
	switch {
	case errors.As(err, &ue) && ue.Status == http.StatusPaymentRequired:
		return fail(http.StatusPaymentRequired, "CardDeclinedError",
			fmt.Errorf("card ending %s declined by issuer (code=%s)", cardLast4(card), ue.Type), step+"_payment", detail)
	case isTimeout(err):
		return fail(http.StatusGatewayTimeout, "PaymentTimeoutError",
			fmt.Errorf("payment gateway %s timed out after %dms", step, time.Since(start).Milliseconds()), step+"_payment", detail)
	case errors.As(err, &ue):
		return fail(http.StatusBadGateway, "PaymentGatewayError",
			fmt.Errorf("gateway %s failed: status %d code=%s", step, ue.Status, ue.Type), step+"_payment", detail)
	default:
		return fail(http.StatusBadGateway, "PaymentGatewayError", fmt.Errorf("gateway %s: %w", step, err), step+"_payment", detail)
	}
}

// releaseStock gives back what an authorization that did not complete held.
func (s *PaymentService) releaseStock(ctx context.Context, orderID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.env.Timeouts.InventoryAttempt)
	defer cancel()
	err := s.inventory.call(ctx, http.MethodPost, "/inventory/release", "/inventory/release", orderRef{OrderID: orderID}, nil)
	var ue *upstreamError
	if err != nil && !(errors.As(err, &ue) && ue.Status == http.StatusNotFound) {
		s.log.WarnContext(ctx, fmt.Sprintf("could not release stock held for order %s: %v", orderID, err),
			slog.String("order_id", orderID), slog.String("exception.message", err.Error()))
	}
}

type gatewayAnswer struct {
	AuthCode  string `json:"auth_code"`
	CardToken string `json:"card_token"`
	CaptureID string `json:"capture_id"`
}

type captureRequest struct {
	OrderID        string `json:"order_id"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

func (s *PaymentService) capture(w http.ResponseWriter, r *http.Request) error {
	const op = "capture_payment"
	ctx := r.Context()
	var req captureRequest
	if err := decode(r, &req, op); err != nil {
		return err
	}
	if req.OrderID == "" {
		return fail(http.StatusBadRequest, "BadRequestError", errors.New("order_id is required"), op, "")
	}
	var pid, token, status string
	var amount int
	err := s.db.Do(ctx, "find_payment", func(ctx context.Context, c *store.Conn) error {
		return c.QueryRow(ctx, `SELECT id, card_token, amount_cents, status FROM payments WHERE order_id = ? ORDER BY created_at DESC LIMIT 1`,
			[]any{req.OrderID}, &pid, &token, &amount, &status)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fail(http.StatusNotFound, "PaymentNotFoundError", fmt.Errorf("no authorized payment for order %s", truncate(req.OrderID, 60)), op, "")
	}
	if err != nil {
		return dbFail(err, "PaymentDBError", "find_payment", "order_id="+truncate(req.OrderID, 60))
	}

	cid := newID("cap-")
	err = s.db.Do(ctx, "record_capture", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO captures (id, payment_id, order_id, amount_cents, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			cid, pid, req.OrderID, amount, req.IdempotencyKey, time.Now().UnixMilli())
		return err
	})
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return fail(http.StatusConflict, "DuplicatePaymentError",
			fmt.Errorf("order %s was already captured (payment %s): %w", req.OrderID, pid, err), op, "idempotency_key="+truncate(req.IdempotencyKey, 60))
	}
	if err != nil {
		return dbFail(err, "PaymentDBError", "record_capture", "order_id="+req.OrderID)
	}
	undo := func() {
		_ = s.db.Do(context.WithoutCancel(ctx), "undo_capture", func(ctx context.Context, c *store.Conn) error {
			_, err := c.Exec(ctx, `DELETE FROM captures WHERE id = ?`, cid)
			return err
		})
	}

	start := time.Now()
	attempts, err := s.callInventory(ctx, "/inventory/commit", orderRef{OrderID: req.OrderID})
	var ue *upstreamError
	if err != nil && !(errors.As(err, &ue) && ue.Status == http.StatusNotFound) {
		undo()
		return s.stockFailure(ctx, err, "commit_stock", attempts, start, req.OrderID)
	}

	var gw gatewayAnswer
	gstart := time.Now()
	gctx, cancel := context.WithTimeout(ctx, s.env.Timeouts.Gateway)
	err = s.gateway.call(gctx, http.MethodPost, "/v1/captures", "/v1/captures", map[string]any{
		"card_token": token, "amount_cents": amount, "reference": req.OrderID,
	}, &gw)
	cancel()
	if err != nil {
		undo()
		return s.gatewayFailure(err, "capture", gstart, req.OrderID, token)
	}
	err = s.db.Do(ctx, "mark_captured", func(ctx context.Context, c *store.Conn) error {
		_, err := c.Exec(ctx, `UPDATE payments SET status = 'captured', updated_at = ? WHERE id = ?`, time.Now().UnixMilli(), pid)
		return err
	})
	if err != nil {
		return dbFail(err, "PaymentDBError", "mark_captured", "payment_id="+pid)
	}
	s.log.InfoContext(ctx, fmt.Sprintf("payment %s captured for order %s: %d cents", pid, req.OrderID, amount),
		slog.String("payment_id", pid), slog.String("order_id", req.OrderID), slog.Int("amount_cents", amount))
	writeJSON(w, http.StatusCreated, map[string]any{"payment_id": pid, "order_id": req.OrderID, "status": "captured", "capture_id": gw.CaptureID})
	return nil
}
