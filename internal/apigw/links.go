package apigw

import (
	"context"
	"net/http"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

const phraseNote = "Shown this once: note it now. Give it, with your barcode, only to the person whose account will connect to yours."

func phraseOf(p accounts.SharePhrase) apiwire.SharePhrase {
	return apiwire.SharePhrase{ID: p.ID, Direction: string(p.Direction), CreatedAt: p.CreatedAt}
}

// CreateSharePhrase is POST /v1/me/share-phrases.
func (a *API) CreateSharePhrase(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.CreateSharePhraseRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		out, err := a.svc.CreateSharePhrase(ctx, c, in.Direction)
		if err != nil {
			return reply{}, err
		}
		v := phraseOf(out.SharePhrase)
		v.Phrase, v.Note = out.Phrase, phraseNote
		if out.Direction == accounts.LinkTwoWay {
			v.Note += " With a two-way phrase you manage the connected account at once; it manages yours only after you confirm the link."
		}
		return reply{status: http.StatusCreated, body: v}, nil
	})
}

// ListSharePhrases is GET /v1/me/share-phrases.
func (a *API) ListSharePhrases(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, err := a.svc.ListSharePhrases(ctx, c)
		if err != nil {
			return reply{}, err
		}
		out := apiwire.SharePhraseList{SharePhrases: make([]apiwire.SharePhrase, len(list))}
		for i, p := range list {
			out.SharePhrases[i] = phraseOf(p)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// RevokeSharePhrase is DELETE /v1/me/share-phrases/{id}.
func (a *API) RevokeSharePhrase(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the phrase is named in the path"); err != nil {
			return reply{}, err
		}
		if err := a.svc.RevokeSharePhrase(ctx, c, req.PathParameters["id"]); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusNoContent}, nil
	})
}

func maskBarcode(b string) string {
	r := []rune(b)
	if len(r) <= 4 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}

func linkOf(v accounts.LinkView) apiwire.Link {
	out := apiwire.Link{
		ID: v.ID, Account: apiwire.LinkedAccount{ID: v.Other.ID, Username: v.Other.Username, Barcode: maskBarcode(v.Other.Barcode)},
		Direction: string(v.Direction), IManage: v.IManage, ManagesMe: v.ManagesMe,
		AwaitingConfirmation: v.AwaitingConfirmation(), Active: v.Active, Since: v.CreatedAt,
	}
	if !v.ConfirmedAt.IsZero() {
		at := v.ConfirmedAt
		out.ConfirmedAt = &at
	}
	if v.AwaitingConfirmation() {
		if v.Other.ID == v.ConnectorID {
			out.Note = "You manage " + v.Other.Username + " now; " + v.Other.Username + " manages your account only after you confirm this link (POST /v1/me/links/" + v.ID + "/confirm)."
		} else {
			out.Note = v.Other.Username + " manages your account now; you manage theirs once " + v.Other.Username + " confirms."
		}
	}
	return out
}

func linkListOf(views []accounts.LinkView) apiwire.LinkList {
	out := apiwire.LinkList{Manages: []apiwire.Link{}, ManagedBy: []apiwire.Link{}}
	for _, v := range views {
		l := linkOf(v)
		// A two-way link awaiting confirmation is listed where it will
		// act: the owner manages now, the connector is managed now.
		if v.IManage {
			out.Manages = append(out.Manages, l)
		}
		if v.ManagesMe || !v.IManage {
			out.ManagedBy = append(out.ManagedBy, l)
		}
	}
	return out
}

// Connect is POST /v1/me/links.
func (a *API) Connect(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.ConnectRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		v, err := a.svc.Connect(ctx, c, in.Barcode, in.Phrase)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: linkOf(v)}, nil
	})
}

// ListLinks is GET /v1/me/links.
func (a *API) ListLinks(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		views, err := a.svc.ListLinks(ctx, c)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: linkListOf(views)}, nil
	})
}

// ConfirmLink is POST /v1/me/links/{id}/confirm.
func (a *API) ConfirmLink(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the link is named in the path"); err != nil {
			return reply{}, err
		}
		v, err := a.svc.ConfirmLink(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: linkOf(v)}, nil
	})
}

// RemoveLink is DELETE /v1/me/links/{id}.
func (a *API) RemoveLink(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the link is named in the path"); err != nil {
			return reply{}, err
		}
		if err := a.svc.RemoveLink(ctx, c, req.PathParameters["id"]); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusNoContent}, nil
	})
}

// AdminListLinks is GET /v1/admin/users/{id}/links.
func (a *API) AdminListLinks(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		views, err := a.svc.AdminListLinks(ctx, c, req.PathParameters["id"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: linkListOf(views)}, nil
	})
}

// AdminRemoveLink is DELETE /v1/admin/users/{id}/links/{linkId}.
func (a *API) AdminRemoveLink(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := noBody(req, "the link is named in the path"); err != nil {
			return reply{}, err
		}
		if err := a.svc.AdminRemoveLink(ctx, c, req.PathParameters["id"], req.PathParameters["linkId"]); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusNoContent}, nil
	})
}

// MyActivity is GET /v1/me/activity.
func (a *API) MyActivity(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		list, err := a.svc.ListActivity(ctx, c)
		if err != nil {
			return reply{}, err
		}
		out := apiwire.ActivityList{Activity: make([]apiwire.Activity, len(list))}
		for i, x := range list {
			out.Activity[i] = apiwire.Activity{At: x.At, By: x.ActorUsername, ByMe: x.ActorID == c.UserID, Action: x.Action, Subject: x.Subject}
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}
