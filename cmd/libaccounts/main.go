// Command libaccounts is the operator's and staff's command line.
//
//	libaccounts tenant create --table NAME --tenant ID [--name NAME] [--admin-username admin] [--admin-email E] [--admin-password-stdin]
//
// It talks to DynamoDB with the standard AWS configuration (profile,
// region, credentials); AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB
// Local.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

const usage = `usage:
  libaccounts tenant create --table NAME --tenant ID [--name "Library name"]
                            [--admin-username admin] [--admin-email E] [--admin-password-stdin]

Creates a tenant (library) and its first admin if they do not exist yet.
Without --admin-password-stdin a password is generated and printed once.
The table defaults to $TABLE_NAME; AWS_ENDPOINT_URL_DYNAMODB selects a local
DynamoDB.
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "libaccounts:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "tenant" || args[1] != "create" {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("unknown command")
	}
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	table := fs.String("table", os.Getenv("TABLE_NAME"), "DynamoDB table (default $TABLE_NAME)")
	tenant := fs.String("tenant", "", "tenant id, e.g. kpu")
	name := fs.String("name", "", "library name")
	admin := fs.String("admin-username", "admin", "first admin's username")
	email := fs.String("admin-email", "", "first admin's e-mail")
	fromStdin := fs.Bool("admin-password-stdin", false, "read the admin password from the first line of standard input")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *table == "" || *tenant == "" {
		return errors.New("--table (or TABLE_NAME) and --tenant are required")
	}
	password := ""
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return errors.New("empty password on standard input")
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg), *table)
	svc := accounts.NewService(accounts.Deps{Store: store, Hasher: passhash.New(passhash.DefaultParams()), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, accounts.Config{})
	res, err := svc.Bootstrap(ctx, accounts.BootstrapInput{TenantID: *tenant, TenantName: *name, AdminUsername: *admin, AdminPassword: password, AdminEmail: *email})
	if err != nil {
		return fmt.Errorf("%s", accounts.PublicMessage(err)+detail(err))
	}
	switch {
	case res.TenantCreated:
		fmt.Fprintf(stdout, "tenant %s created\n", *tenant)
	default:
		fmt.Fprintf(stdout, "tenant %s exists\n", *tenant)
	}
	if !res.AdminCreated {
		fmt.Fprintf(stdout, "admin %s exists (id %s); left unchanged\n", *admin, res.AdminID)
		return nil
	}
	fmt.Fprintf(stdout, "admin %s created (id %s)\n", *admin, res.AdminID)
	if res.GeneratedPassword != "" {
		fmt.Fprintf(stdout, "admin password (shown once, store it now): %s\n", res.GeneratedPassword)
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
