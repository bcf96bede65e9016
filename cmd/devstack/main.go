// Command devstack runs libaccounts on this machine: `make run`.
//
// Environment: LIBACCOUNTS_PORT (API, default 3000), LIBACCOUNTS_DYNAMODB_PORT
// (default 8000), LIBACCOUNTS_S3_PORT (default 4566), LIBACCOUNTS_DATA_DIR (default .local), LIBACCOUNTS_TENANT
// (default demo), LIBACCOUNTS_ADMIN_USERNAME (default admin),
// LIBACCOUNTS_ADMIN_PASSWORD (default: generated and printed once),
// LIBACCOUNTS_ADMIN_EMAIL (default admin@demo.example: the admin's job
// notices and reset links land in the outbox), LIBACCOUNTS_SES_MAX_RATE
// (sends per second the local SES accepts before answering Throttling, as
// an SES account's maximum send rate; default no limit).
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/libaccounts/libaccounts/internal/devstack/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := stack.Config{
		DataDir: os.Getenv("LIBACCOUNTS_DATA_DIR"), Tenant: os.Getenv("LIBACCOUNTS_TENANT"),
		AdminUsername: os.Getenv("LIBACCOUNTS_ADMIN_USERNAME"), AdminPassword: os.Getenv("LIBACCOUNTS_ADMIN_PASSWORD"),
		AdminEmail: os.Getenv("LIBACCOUNTS_ADMIN_EMAIL"),
	}
	var err error
	if cfg.APIPort, err = port("LIBACCOUNTS_PORT", 3000); err != nil {
		return err
	}
	if cfg.DynamoPort, err = port("LIBACCOUNTS_DYNAMODB_PORT", 8000); err != nil {
		return err
	}
	if cfg.S3Port, err = port("LIBACCOUNTS_S3_PORT", 4566); err != nil {
		return err
	}
	if v := os.Getenv("LIBACCOUNTS_SES_MAX_RATE"); v != "" {
		if cfg.SESMaxRate, err = strconv.ParseFloat(v, 64); err != nil || cfg.SESMaxRate < 0 || math.IsInf(cfg.SESMaxRate, 0) || math.IsNaN(cfg.SESMaxRate) {
			return fmt.Errorf("LIBACCOUNTS_SES_MAX_RATE=%q is not a rate (sends per second, 0 for no limit)", v)
		}
	}
	fmt.Fprintln(os.Stderr, "devstack: building functions and starting DynamoDB Local…")
	st, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.GeneratedAdminPassword != "" {
		fmt.Printf("admin password for %s/%s (shown once, store it now): %s\n", tenantOr(cfg.Tenant), userOr(cfg.AdminUsername), st.GeneratedAdminPassword)
	}
	fmt.Printf("ready: api=%s s3=%s bucket=%s outbox=%s dynamodb=%s admin_email=%s (the admin's job notices land in the outbox)\n",
		st.APIURL, st.S3Endpoint, st.Bucket, st.OutboxURL, st.DynamoEndpoint, st.AdminEmail)
	// The line a librarian needs: where to point the browser.
	fmt.Printf("staff console: %s/console   patron portal: %s/portal   (library code %s)\n", st.APIURL, st.APIURL, tenantOr(cfg.Tenant))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "devstack: stopping")
	return nil
}

func port(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", name, v)
	}
	return p, nil
}

func tenantOr(t string) string {
	if t == "" {
		return "demo"
	}
	return t
}

func userOr(u string) string {
	if u == "" {
		return "admin"
	}
	return u
}
