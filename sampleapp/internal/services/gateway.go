package services

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Test card numbers the simulated gateway understands, after the common
// payment-provider convention. Any other Luhn-valid number is approved.
const (
	CardApproved          = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
	CardProcessingError   = "4000000000000119"
	CardSlowAuthorize     = "4000000000003220"
	CardSlowCapture       = "4000000000000259"
)

// GatewaySim stands in for the external payment provider. It is a plain HTTP
// server outside the shop: it emits no telemetry of its own.
type GatewaySim struct {
	mu     sync.Mutex
	tokens map[string]string // card token -> card number
}

// NewGatewaySim returns the simulated gateway.
func NewGatewaySim() *GatewaySim { return &GatewaySim{tokens: map[string]string{}} }

// Handler serves POST /v1/authorizations and POST /v1/captures.
func (g *GatewaySim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/authorizations", g.authorize)
	mux.HandleFunc("POST /v1/captures", g.capture)
	return mux
}

func luhnValid(n string) bool {
	if len(n) < 12 || len(n) > 19 {
		return false
	}
	sum := 0
	for i := range len(n) {
		c := n[len(n)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func gatewayDelay(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func gatewayError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code, "message": code})
}

func (g *GatewaySim) authorize(w http.ResponseWriter, r *http.Request) {
	gatewayDelay(r, time.Duration(15+rand.IntN(45))*time.Millisecond)
	var req struct {
		CardNumber string `json:"card_number"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		gatewayError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	switch {
	case !luhnValid(req.CardNumber):
		gatewayError(w, http.StatusPaymentRequired, "invalid_number")
	case req.CardNumber == CardDeclined:
		gatewayError(w, http.StatusPaymentRequired, "card_declined")
	case req.CardNumber == CardInsufficientFunds:
		gatewayError(w, http.StatusPaymentRequired, "insufficient_funds")
	case req.CardNumber == CardProcessingError:
		gatewayError(w, http.StatusBadGateway, "processing_error")
	default:
		if req.CardNumber == CardSlowAuthorize {
			gatewayDelay(r, 30*time.Second)
		}
		token := newID("tok_") + "_" + cardLast4(req.CardNumber)
		g.mu.Lock()
		g.tokens[token] = req.CardNumber
		g.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"auth_code": newID("A"), "card_token": token})
	}
}

func (g *GatewaySim) capture(w http.ResponseWriter, r *http.Request) {
	gatewayDelay(r, time.Duration(15+rand.IntN(45))*time.Millisecond)
	var req struct {
		CardToken string `json:"card_token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		gatewayError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	g.mu.Lock()
	card, ok := g.tokens[req.CardToken]
	g.mu.Unlock()
	if !ok {
		gatewayError(w, http.StatusNotFound, "unknown_token")
		return
	}
	if card == CardSlowCapture {
		gatewayDelay(r, 30*time.Second)
	}
	writeJSON(w, http.StatusOK, map[string]string{"capture_id": newID("ch_")})
}
