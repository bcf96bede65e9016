// Command imports-worker is triggered by the chunk queue, one chunk per
// invocation: it imports the chunk's rows (hashing passwords on every vCPU)
// and, after the last chunk, e-mails the job's notice.
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
)

func main() {
	env := lambdaenv.MustLoad()
	svc := accounts.NewService(accounts.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName),
		Hasher: passhash.New(env.Argon2),
		Mailer: sesmailer.New(ses.NewFromConfig(env.AWS), env.MailFrom),
		Blobs:  s3blobs.New(env.S3()),
		Logger: env.Logger,
	}, env.Accounts)
	lambda.Start(lambdaevents.New(svc, env.Logger).ImportChunks)
}
