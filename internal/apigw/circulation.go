package apigw

import (
	"context"
	"net/http"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

func checkoutOf(c accounts.Checkout, st accounts.Settings) apiwire.Checkout {
	return apiwire.Checkout{
		ID: c.ID, ItemBarcode: c.ItemBarcode, Title: c.Title, CheckedOutAt: c.CheckedOutAt, DueAt: c.DueAt,
		RenewalsUsed: c.RenewalsUsed, RenewalsAllowed: c.EffectiveRenewals(st), OthersWaiting: c.OthersWaiting,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func holdOf(h accounts.Hold) apiwire.Hold {
	return apiwire.Hold{
		ID: h.ID, Title: h.Title, ItemBarcode: h.ItemBarcode, PlacedAt: h.PlacedAt, Status: string(h.Status),
		QueuePosition: h.QueuePosition, PickupLocation: h.PickupLocation, ExpiresAt: timePtr(h.ExpiresAt), SuspendedUntil: timePtr(h.SuspendedUntil),
	}
}

func checkoutListOf(list []accounts.Checkout, st accounts.Settings) apiwire.CheckoutList {
	out := apiwire.CheckoutList{Checkouts: make([]apiwire.Checkout, len(list))}
	for i, c := range list {
		out.Checkouts[i] = checkoutOf(c, st)
	}
	return out
}

func holdListOf(list []accounts.Hold) apiwire.HoldList {
	out := apiwire.HoldList{Holds: make([]apiwire.Hold, len(list))}
	for i, h := range list {
		out.Holds[i] = holdOf(h)
	}
	return out
}

// PatronCheckouts is GET /v1/patrons/{id}/checkouts.
func (a *API) PatronCheckouts(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, st, err := a.svc.PatronCheckouts(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: checkoutListOf(list, st)}, nil
	})
}

// RenewCheckout is POST /v1/patrons/{id}/checkouts/{loanId}/renew.
func (a *API) RenewCheckout(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the checkout is named in the path"); err != nil {
			return reply{}, err
		}
		out, st, err := a.svc.Renew(ctx, c, req.PathParameters["id"], req.PathParameters["loanId"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: checkoutOf(out, st)}, nil
	})
}

// PatronHolds is GET /v1/patrons/{id}/holds.
func (a *API) PatronHolds(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, err := a.svc.PatronHolds(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: holdListOf(list)}, nil
	})
}

// PlaceHold is POST /v1/patrons/{id}/holds: only for "me" (the borrow
// fence).
func (a *API) PlaceHold(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.PlaceHoldRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		h, err := a.svc.PlaceHold(ctx, c, req.PathParameters["id"], accounts.HoldRequest(in))
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: holdOf(h)}, nil
	})
}

// CancelHold is DELETE /v1/patrons/{id}/holds/{holdId}.
func (a *API) CancelHold(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the hold is named in the path"); err != nil {
			return reply{}, err
		}
		if err := a.svc.CancelHold(ctx, c, req.PathParameters["id"], req.PathParameters["holdId"]); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusNoContent}, nil
	})
}

// UpdateHold is PATCH /v1/patrons/{id}/holds/{holdId}.
func (a *API) UpdateHold(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.HoldPatch
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		h, err := a.svc.UpdateHold(ctx, c, req.PathParameters["id"], req.PathParameters["holdId"], accounts.HoldPatch(in))
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: holdOf(h)}, nil
	})
}

// AdminCheckouts is GET /v1/admin/users/{id}/checkouts.
func (a *API) AdminCheckouts(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, err := a.svc.AdminCheckouts(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		st, err := a.svc.Settings(ctx, c)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: checkoutListOf(list, st.Settings)}, nil
	})
}

// FeedCheckout is POST /v1/admin/users/{id}/checkouts: staff or the ILS
// record a loan (an existing id is replaced).
func (a *API) FeedCheckout(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.Checkout
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		out, err := a.svc.FeedCheckout(ctx, c, req.PathParameters["id"], accounts.Checkout{
			ID: in.ID, ItemBarcode: in.ItemBarcode, Title: in.Title, CheckedOutAt: in.CheckedOutAt, DueAt: in.DueAt,
			RenewalsUsed: in.RenewalsUsed, RenewalsAllowed: in.RenewalsAllowed, OthersWaiting: in.OthersWaiting,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: apiwire.Checkout{
			ID: out.ID, ItemBarcode: out.ItemBarcode, Title: out.Title, CheckedOutAt: out.CheckedOutAt, DueAt: out.DueAt,
			RenewalsUsed: out.RenewalsUsed, RenewalsAllowed: out.RenewalsAllowed, OthersWaiting: out.OthersWaiting,
		}}, nil
	})
}

// AdminHolds is GET /v1/admin/users/{id}/holds.
func (a *API) AdminHolds(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, err := a.svc.AdminHolds(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: holdListOf(list)}, nil
	})
}

// FeedHold is POST /v1/admin/users/{id}/holds.
func (a *API) FeedHold(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.FeedHold
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		h := accounts.Hold{ID: in.ID, Title: in.Title, ItemBarcode: in.ItemBarcode, PlacedAt: in.PlacedAt, Status: accounts.HoldStatus(in.Status),
			QueuePosition: in.QueuePosition, PickupLocation: in.PickupLocation}
		if in.ExpiresAt != nil {
			h.ExpiresAt = *in.ExpiresAt
		}
		if in.SuspendedUntil != nil {
			h.SuspendedUntil = *in.SuspendedUntil
		}
		out, err := a.svc.FeedHold(ctx, c, req.PathParameters["id"], h)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: holdOf(out)}, nil
	})
}
