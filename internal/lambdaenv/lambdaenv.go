// Package lambdaenv reads a function's environment once, at init: the table,
// the log level, session lifetimes, hashing parameters and the AWS SDK
// configuration. The same code runs on AWS and in the local stack, where the
// SDK's own AWS_ENDPOINT_URL_<SERVICE> variables point it at local services.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
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
	Accounts  accounts.Config
	AWS       aws.Config
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
