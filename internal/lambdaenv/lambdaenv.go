// Package lambdaenv reads a function's environment once, at init: the table,
// the log level, session lifetimes, hashing parameters, the mail sender and
// reset page, and the AWS SDK configuration. The same code runs on AWS and in the local stack, where the
// SDK's own AWS_ENDPOINT_URL_<SERVICE> variables point it at local services.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/logging"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

// Env is what every function needs to build its clients and service.
type Env struct {
	TableName string
	Logger    *slog.Logger
	Argon2    passhash.Params
	Accounts  accounts.Config // Accounts.ResetPageURL is RESET_PAGE_URL
	AWS       aws.Config
	// MailFrom is the SES-verified address notices are sent from
	// (MAIL_FROM); only functions that send mail use it.
	MailFrom string
	// ResetPageURL is the page an e-mailed reset link opens (RESET_PAGE_URL).
	ResetPageURL string
}

// Load reads the environment through getenv.
func Load(ctx context.Context, getenv func(string) string) (Env, error) {
	e := Env{TableName: getenv("TABLE_NAME"), Logger: logging.New(os.Stdout, logging.ParseLevel(getenv("LOG_LEVEL")))}
	if e.TableName == "" {
		return e, fmt.Errorf("TABLE_NAME is not set")
	}
	var err error
	if e.Argon2, err = passhash.ParamsFromEnv(getenv); err != nil {
		return e, err
	}
	if e.Accounts.SessionAbsoluteTTL, err = duration(getenv, "SESSION_ABSOLUTE_TTL"); err != nil {
		return e, err
	}
	if e.Accounts.SessionIdleTTL, err = duration(getenv, "SESSION_IDLE_TTL"); err != nil {
		return e, err
	}
	e.MailFrom = strings.TrimSpace(getenv("MAIL_FROM"))
	if e.ResetPageURL, err = resetPageURL(getenv("RESET_PAGE_URL")); err != nil {
		return e, err
	}
	e.Accounts.ResetPageURL = e.ResetPageURL
	if e.AWS, err = config.LoadDefaultConfig(ctx); err != nil {
		return e, fmt.Errorf("aws config: %w", err)
	}
	return e, nil
}

func duration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 30m or 12h", name, v)
	}
	return d, nil
}

// resetPageURL checks the reset page: an absolute http(s) URL without a
// fragment, since the token is appended as "#token=…". Empty is allowed (no
// function that sends links runs without it in the template).
func resetPageURL(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || strings.Contains(v, "#") {
		return "", fmt.Errorf("RESET_PAGE_URL=%q is not an absolute http(s) URL without a fragment", v)
	}
	return v, nil
}

// MustLoad is Load for a function's init: a bad environment is a deployment
// error, so the function logs it and exits, and Lambda reports an init error.
func MustLoad() Env {
	e, err := Load(context.Background(), os.Getenv)
	if err != nil {
		logging.New(os.Stdout, slog.LevelInfo).Error("bad function environment", "error", err.Error())
		os.Exit(1)
	}
	return e
}
