package apigw

import (
	"context"
	"net/http"
	"strings"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// maxLetterBody fits a letter of 20,000 characters even when every one is
// a four-byte rune or a JSON escape: the domain, not the decoder, says how
// long a letter may be.
const maxLetterBody = 256 << 10

func letterOf(l accounts.Letter) apiwire.Letter {
	v := apiwire.Letter{Kind: string(l.Kind), Subject: l.Subject, Body: l.Body, Custom: l.Custom(), Version: l.Version, UpdatedBy: l.UpdatedBy}
	if l.Custom() && !l.UpdatedAt.IsZero() {
		at := l.UpdatedAt
		v.UpdatedAt = &at
	}
	for _, p := range accounts.LetterPlaceholders(l.Kind) {
		v.Placeholders = append(v.Placeholders, apiwire.Placeholder{Name: p.Name, Description: p.Description, Required: p.Required})
	}
	return v
}

// ListLetters is GET /v1/admin/letters.
func (a *API) ListLetters(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := knownParams(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		ls, err := a.svc.ListLetters(ctx, c)
		if err != nil {
			return reply{}, err
		}
		out := apiwire.LetterList{Letters: make([]apiwire.Letter, len(ls))}
		for i, l := range ls {
			out.Letters[i] = letterOf(l)
		}
		return reply{status: http.StatusOK, body: out}, nil
	})
}

// GetLetter is GET /v1/admin/letters/{kind}. The ETag is the letter's
// version ("0" for the default), to send back in If-Match when editing.
func (a *API) GetLetter(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		if err := knownParams(req.QueryStringParameters); err != nil {
			return reply{}, err
		}
		l, err := a.svc.GetLetter(ctx, c, req.PathParameters["kind"])
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: letterOf(l), header: etag(l.Version)}, nil
	})
}

// UpdateLetter is PUT /v1/admin/letters/{kind}: the whole subject and body.
// Once the library has its own letter the version read (If-Match or
// "version") is required, as for users.
func (a *API) UpdateLetter(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.LetterUpdate
		if err := decodeBody(req, &in, maxLetterBody, false); err != nil {
			return reply{}, err
		}
		version, err := letterVersionOf(req, in.Version)
		if err != nil {
			return reply{}, err
		}
		l, err := a.svc.UpdateLetter(ctx, c, req.PathParameters["kind"], version, in.Subject, in.Body)
		if err != nil {
			return reply{}, withHint(err, accounts.CodePreconditionRequired, "version",
				` (the ETag of GET /v1/admin/letters/{kind}, in an If-Match header or as "version" in the body)`)
		}
		return reply{status: http.StatusOK, body: letterOf(l), header: etag(l.Version)}, nil
	})
}

// PreviewLetter is POST /v1/admin/letters/{kind}/preview: the given (or
// stored) text with sample data. It sends nothing and stores nothing.
func (a *API) PreviewLetter(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in apiwire.LetterPreviewRequest
		if err := decodeBody(req, &in, maxLetterBody, true); err != nil {
			return reply{}, err
		}
		kind := req.PathParameters["kind"]
		r, err := a.svc.PreviewLetter(ctx, c, kind, in.Subject, in.Body)
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: apiwire.LetterPreview{Kind: kind, Subject: r.Subject, Body: r.Body}}, nil
	})
}

// letterVersionOf is versionOf for letters, where 0 is a version one can
// read (the default's) and nil means none was sent.
func letterVersionOf(req Request, body *int64) (*int64, error) {
	if raw, ok := lookupHeader(req, "if-match"); ok && strings.Trim(strings.TrimPrefix(strings.TrimSpace(raw), "W/"), `"`) == "0" {
		if body != nil && *body != 0 {
			return nil, accounts.FieldError("version", "the version in the body (%d) and in If-Match (0) disagree; send one", *body)
		}
		zero := int64(0)
		return &zero, nil
	}
	if body != nil && *body == 0 {
		if _, ok, err := ifMatch(req); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return nil, accounts.FieldError("version", "the version in the body (0) and in If-Match disagree; send one")
		}
		return body, nil
	}
	if body != nil && *body < 0 {
		return nil, accounts.FieldError("version", "version must be the version you read (0 for the default)")
	}
	v, err := versionOf(req, body)
	if err != nil || v == 0 {
		return nil, err
	}
	return &v, nil
}
