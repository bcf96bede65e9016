package apigw

import (
	"context"
	"net/http"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// resetPasswordRequest is exactly one of {password, passwordConfirmation},
// {generate: true, notify?} and {sendResetLink: true}; the domain refuses
// any other mix.
type resetPasswordRequest struct {
	Password             string `json:"password"`
	PasswordConfirmation string `json:"passwordConfirmation"`
	Generate             bool   `json:"generate"`
	Notify               bool   `json:"notify"`
	SendResetLink        bool   `json:"sendResetLink"`
}

type resetPasswordResponse struct {
	Message string `json:"message"`
	// GeneratedPassword is shown this once, and only when it was not
	// e-mailed.
	GeneratedPassword string `json:"generatedPassword,omitempty"`
	// Emailed says a notice was queued: the worker makes the password or
	// link when it sends the mail. NoticeID follows it in the user's
	// notices.
	Emailed  bool   `json:"emailed"`
	NoticeID string `json:"noticeId,omitempty"`
}

// ResetPassword is POST /v1/admin/users/{id}/password.
func (a *API) ResetPassword(ctx context.Context, req Request) (Response, error) {
	return a.serveCaller(ctx, req, func(ctx context.Context, c accounts.Caller, req Request) (reply, error) {
		var in resetPasswordRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		res, err := a.svc.ResetPassword(ctx, c, req.PathParameters["id"], accounts.ResetPasswordInput{
			Password: in.Password, PasswordConfirmation: in.PasswordConfirmation,
			Generate: in.Generate, Notify: in.Notify, SendResetLink: in.SendResetLink,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: resetPasswordResponse{Message: res.Message, GeneratedPassword: res.GeneratedPassword, Emailed: res.Emailed, NoticeID: res.NoticeID}}, nil
	})
}

type completeResetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// CompletePasswordReset is POST /v1/auth/password-reset, the public route
// behind an e-mailed link: the token is the credential.
func (a *API) CompletePasswordReset(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context, req Request) (reply, error) {
		var in completeResetRequest
		if err := decodeJSON(req, &in); err != nil {
			return reply{}, err
		}
		if err := a.svc.CompletePasswordReset(ctx, in.Token, in.Password); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: message{"Your password was changed. Sign in with your new password."}}, nil
	})
}
