// Command admin-users-password is the Lambda function behind
// POST /v1/admin/users/{id}/password; it e-mails generated passwords and
// reset links through SES.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/sesmailer"
)

func main() {
	env := lambdaenv.MustLoad()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName)
	mailer := sesmailer.New(ses.NewFromConfig(env.AWS), env.MailFrom)
	svc := accounts.NewService(accounts.Deps{Store: store, Hasher: passhash.New(env.Argon2), Mailer: mailer, Logger: env.Logger}, env.Accounts)
	lambda.Start(apigw.New(svc, env.Logger).ResetPassword)
}
