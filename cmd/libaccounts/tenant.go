package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

const tenantUsage = `usage:
  libaccounts tenant create --tenant ID [--name "Library name"] [--table NAME]
                            [--admin-username admin] [--admin-email E] [--admin-password-stdin]

Creates a tenant (library) and its first admin if they do not exist yet.
Without --admin-password-stdin a password is generated and printed once.
The admin's password is checked against the library's password rules before
anything is written, and the tenant and its admin are written together: a
refusal leaves nothing behind.

Where it writes:
  --table NAME (or $TABLE_NAME)  that DynamoDB table, with your AWS
                                 configuration (profile, region, credentials;
                                 AWS_ENDPOINT_URL_DYNAMODB selects an endpoint)
  neither                        the running local stack: the DynamoDB Local
                                 and table its stack.json names (.local/ from
                                 this directory upwards, or $LIBACCOUNTS_DATA_DIR),
                                 with local credentials; no AWS setup needed
`

// localRegion and localCredentials are what DynamoDB Local is given: it
// checks neither, but the SDK will not sign a request without them, and
// DynamoDB Local wants letters and digits only.
const localRegion = "us-east-1"

var localCredentials = credentials.NewStaticCredentialsProvider("local", "local", "")

// cmdTenant is the operator's command: it writes to DynamoDB with the
// operator's own AWS credentials, not through the API.
func (a *app) cmdTenant(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(a.stderr, tenantUsage)
		return fail("unknown command; the operator command is `libaccounts tenant create`")
	}
	fs := newFlagSet("tenant create")
	table := fs.String("table", "", "DynamoDB table (default $TABLE_NAME, else the local stack's)")
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
	if *tenant == "" {
		return fail("--tenant is required: the new library's id, e.g. --tenant kpu")
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
	db, where, err := a.tenantTable(ctx, *table)
	if err != nil {
		return err
	}
	svc := accounts.NewService(accounts.Deps{Store: db, Hasher: passhash.New(passhash.DefaultParams()), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, accounts.Config{})
	res, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: *tenant, TenantName: *name, AdminUsername: *admin, AdminPassword: password, AdminEmail: *email})
	if err != nil {
		if accounts.ErrorCode(err) == accounts.CodeInternal {
			return fail("tenant %s: %v%s", *tenant, err, where.hint(err))
		}
		return fail("tenant %s: %s; nothing was written", *tenant, accounts.PublicMessage(err))
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

// tableTarget says where tenant create writes, for its messages.
type tableTarget struct {
	local bool // the local stack's DynamoDB Local
}

// hint says what to check when a write failed for want of a connection or
// credentials, which the SDK reports in its own terms.
func (t tableTarget) hint(err error) string {
	if t.local {
		return " (is the local stack running? start it with `make run`)"
	}
	msg := err.Error()
	for _, m := range []string{"credentials", "IMDS", "region"} {
		if strings.Contains(msg, m) {
			return " (the AWS SDK found no usable credentials or region: set AWS_PROFILE or AWS_REGION; " +
				"for the local stack, leave out --table and TABLE_NAME)"
		}
	}
	return ""
}

// tenantTable opens the table to write to: a named one with the standard
// AWS configuration, else the local stack's with local credentials (the
// operator of a local stack has no AWS account to speak of).
func (a *app) tenantTable(ctx context.Context, table string) (*dynamostore.Store, tableTarget, error) {
	if table == "" {
		table = a.getenv("TABLE_NAME")
	}
	if table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, tableTarget{}, fail("aws config: %v", err)
		}
		return dynamostore.New(dynamodb.NewFromConfig(cfg), table), tableTarget{}, nil
	}
	p, info, err := a.readStack()
	if err != nil {
		return nil, tableTarget{}, err
	}
	if info == nil {
		return nil, tableTarget{}, fail("no table: pass --table NAME (the deployed stack's AccountsTableName) or set TABLE_NAME; " +
			"or start the local stack with `make run` to create the tenant there")
	}
	if info.DynamoEndpoint == "" || info.Table == "" {
		return nil, tableTarget{}, fail("%s names no dynamodb_endpoint and table; restart the local stack (`make run`) or pass --table", p)
	}
	endpoint := info.DynamoEndpoint
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tableTarget{}, fail("%s: dynamodb_endpoint %q is not an http(s) URL", p, endpoint)
	}
	client := dynamodb.NewFromConfig(aws.Config{Region: localRegion, Credentials: localCredentials}, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
	fmt.Fprintf(a.stderr, "using the local stack (%s): DynamoDB Local at %s, table %s\n", p, endpoint, info.Table)
	return dynamostore.New(client, info.Table), tableTarget{local: true}, nil
}
