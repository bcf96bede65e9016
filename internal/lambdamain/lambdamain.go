// Package lambdamain is every function's main: it reads the environment,
// builds the SDK clients and adapters the environment names, wires the
// service, and starts the handler the function's main picks. A function's
// main.go then says only which handler it starts, and a new dependency is
// wired here once rather than in each of them.
package lambdamain

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
	"github.com/libaccounts/libaccounts/internal/sesmailer"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

// API starts an HTTP API handler (or the authorizer), e.g.
//
//	lambdamain.API(func(a *apigw.API) any { return a.Login })
func API(pick func(*apigw.API) any) {
	env, svc, blobs := wire()
	lambda.Start(pick(apigw.New(svc, env.Logger).WithReports(blobs, env.Accounts.ImportBucket)))
}

// Events starts a handler of S3 or SQS events.
func Events(pick func(*lambdaevents.Handlers) any) {
	env, svc, _ := wire()
	lambda.Start(pick(lambdaevents.New(svc, env.Logger)))
}

// wire builds every adapter: constructing an SDK client makes no call, and
// what a function may actually do is bounded by its IAM policy in the
// template, not by which clients it holds. Only the chunk queue needs its
// URL up front.
func wire() (lambdaenv.Env, *accounts.Service, accounts.Blobs) {
	env := lambdaenv.MustLoad()
	blobs := s3blobs.New(env.S3())
	deps := accounts.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName),
		Hasher: passhash.New(env.Argon2),
		Mailer: sesmailer.New(ses.NewFromConfig(env.AWS), env.MailFrom),
		Blobs:  blobs,
		Logger: env.Logger,
	}
	if env.ChunkQueueURL != "" {
		deps.Queue = sqsqueue.New(env.SQS(), env.ChunkQueueURL)
	}
	return env, accounts.NewService(deps, env.Accounts), blobs
}
