// Command admin-sets-get is the Lambda function behind GET /v1/admin/sets/{id}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/passhash"
)

func main() {
	env := lambdaenv.MustLoad()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName)
	svc := accounts.NewService(accounts.Deps{Store: store, Hasher: passhash.New(env.Argon2), Logger: env.Logger}, env.Accounts)
	lambda.Start(apigw.New(svc, env.Logger).GetSet)
}
