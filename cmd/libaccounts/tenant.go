package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

const tenantUsage = `usage:
  libaccounts tenant create --table NAME --tenant ID [--name "Library name"]
                            [--admin-username admin] [--admin-email E] [--admin-password-stdin]

Creates a tenant (library) and its first admin if they do not exist yet.
Without --admin-password-stdin a password is generated and printed once.
The table defaults to $TABLE_NAME; AWS_ENDPOINT_URL_DYNAMODB selects a local
DynamoDB.
`

// cmdTenant is the operator's command: it writes to DynamoDB with the
// operator's own AWS credentials, not through the API.
func (a *app) cmdTenant(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(a.stderr, tenantUsage)
		return fail("unknown command; the operator command is `libaccounts tenant create`")
	}
	fs := newFlagSet("tenant create")
	table := fs.String("table", a.getenv("TABLE_NAME"), "DynamoDB table (default $TABLE_NAME)")
	tenant := fs.String("tenant", "", "tenant id, e.g. kpu")
	name := fs.String("name", "", "library name")
	admin := fs.String("admin-username", "admin", "first admin's username")
	email := fs.String("admin-email", "", "first admin's e-mail")
	fromStdin := fs.Bool("admin-password-stdin", false, "read the admin password from the first line of standard input")
	pos, err := a.parseFlags(fs, args[1:], tenantUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fail("tenant create takes no arguments (got %q); see `libaccounts tenant create --help`", pos[0])
	}
	if *table == "" || *tenant == "" {
		return fail("--table (or TABLE_NAME) and --tenant are required")
	}
	password := ""
	if *fromStdin {
		line, err := a.stdinReader().ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fail("read password: %v", err)
		}
		password = trimNewline(line)
		if password == "" {
			return fail("empty password on standard input")
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fail("aws config: %v", err)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg), *table)
	svc := accounts.NewService(accounts.Deps{Store: store, Hasher: passhash.New(passhash.DefaultParams()), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, accounts.Config{})
	res, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: *tenant, TenantName: *name, AdminUsername: *admin, AdminPassword: password, AdminEmail: *email})
	if err != nil {
		return fail("%s", accounts.PublicMessage(err)+detail(err))
	}
	switch {
	case res.TenantCreated:
		fmt.Fprintf(a.stdout, "tenant %s created\n", *tenant)
	default:
		fmt.Fprintf(a.stdout, "tenant %s exists\n", *tenant)
	}
	if !res.AdminCreated {
		fmt.Fprintf(a.stdout, "admin %s exists (id %s); left unchanged\n", *admin, res.AdminID)
		return nil
	}
	fmt.Fprintf(a.stdout, "admin %s created (id %s)\n", *admin, res.AdminID)
	if res.GeneratedPassword != "" {
		fmt.Fprintf(a.stdout, "admin password (shown once, store it now): %s\n", res.GeneratedPassword)
	}
	return nil
}

// detail adds the cause of an internal error for the operator, who runs
// this with their own credentials on their own terminal.
func detail(err error) string {
	if accounts.ErrorCode(err) == accounts.CodeInternal {
		return ": " + err.Error()
	}
	return ""
}
