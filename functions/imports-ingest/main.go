// Command imports-ingest is triggered by S3 when a file lands under
// imports/ in the import bucket: it checks the file, cuts it into chunks and
// queues them for imports-worker. A refused file is reported by e-mail.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/lambdaevents"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
	"github.com/libaccounts/libaccounts/internal/sesmailer"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

func main() {
	env := lambdaenv.MustLoad()
	svc := accounts.NewService(accounts.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName),
		Hasher: passhash.New(env.Argon2),
		Mailer: sesmailer.New(ses.NewFromConfig(env.AWS), env.MailFrom),
		Blobs:  s3blobs.New(env.S3()),
		Queue:  sqsqueue.New(env.SQS(), env.ChunkQueueURL),
		Logger: env.Logger,
	}, env.Accounts)
	lambda.Start(lambdaevents.New(svc, env.Logger).ObjectCreated)
}
