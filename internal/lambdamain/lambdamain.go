// Package lambdamain is every function's main: it reads the environment,
// builds the SDK clients and adapters the environment names, wires the
// service, and starts the handler the function's main picks. A function's
// main.go then says only which handler it starts, and a new dependency is
// wired here once rather than in each of them.
package lambdamain

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
	"github.com/libaccounts/libaccounts/internal/sdkmeter"
	"github.com/libaccounts/libaccounts/internal/sesmailer"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
	"github.com/libaccounts/libaccounts/internal/webui"
)

// API starts an HTTP API handler (or the authorizer), e.g.
//
//	lambdamain.API(func(a *apigw.API) any { return a.Login })
func API(pick func(*apigw.API) any) {
	env, svc, blobs, m := wire()
	a := apigw.New(svc, env.Logger)
	if blobs != nil {
		a = a.WithReports(blobs, env.Accounts.ImportBucket)
	}
	startMetered(m, pick(a))
}

// Web starts the function that serves the console and portal pages. It
// holds no SDK client and reads no table: only the import bucket's origin,
// which the pages' Content-Security-Policy must allow for CSV uploads.
func Web() {
	lambda.Start(webui.New(os.Getenv("UPLOAD_ORIGIN")).Handle)
}

// Events starts a handler of S3, SQS or SNS events.
func Events(pick func(*lambdaevents.Handlers) any) {
	env, svc, _, m := wire()
	startMetered(m, pick(lambdaevents.New(svc, env.Logger)))
}

// wire reads the environment and builds the service from it, every SDK
// client metered (sdkmeter) so that each invocation reports what it cost.
func wire() (lambdaenv.Env, *accounts.Service, accounts.Blobs, *sdkmeter.Meter) {
	env := lambdaenv.MustLoad()
	m := newMeter(&env.AWS)
	deps := Adapters(env)
	return env, accounts.NewService(deps, env.Accounts), deps.Blobs, m
}

// Adapters builds the adapters env configures, and only those: the template
// gives a function the variable of a service (MAIL_FROM, IMPORT_BUCKET,
// CHUNK_QUEUE_URL, NOTICE_QUEUE_URL, JOB_QUEUE_URL, RECOVERY_QUEUE_URL) together with its IAM permission for it, so a function
// holds a client exactly when it may use it, and one that may not gets the
// domain's clear refusal rather than an AccessDenied at its first call.
func Adapters(env lambdaenv.Env) accounts.Deps {
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName)
	deps := accounts.Deps{
		Store:  store,
		Hasher: passhash.New(env.Argon2),
		Logger: env.Logger,
		// Every function counts requests in the table it already has.
		Throttle: store,
		// The ILS's records, kept in the same table (the Circulation port's
		// DynamoDB adapter); an adapter for a real ILS would go here.
		Circulation: store,
	}
	if env.RecoveryQueueURL != "" {
		deps.Recovery = sqsqueue.NewRecovery(env.SQS(), env.RecoveryQueueURL)
	}
	if env.MailFrom != "" {
		deps.Mailer = sesmailer.New(env.SES(), env.MailFrom).WithConfigurationSet(env.SESConfigurationSet)
	}
	if env.NoticeQueueURL != "" {
		deps.Notices = sqsqueue.NewNotices(env.SQS(), env.NoticeQueueURL)
	}
	if env.Accounts.ImportBucket != "" {
		deps.Blobs = s3blobs.New(env.S3())
	}
	if env.ChunkQueueURL != "" {
		deps.Queue = sqsqueue.New(env.SQS(), env.ChunkQueueURL)
	}
	if env.JobQueueURL != "" {
		deps.Jobs = sqsqueue.NewJobs(env.SQS(), env.JobQueueURL)
	}
	return deps
}
