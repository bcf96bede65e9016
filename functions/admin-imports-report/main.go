// Command admin-imports-report is the Lambda function behind
// GET /v1/admin/imports/{id}/report; a report too large to answer inline is
// stored under reports/ and linked to.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/dynamostore"
	"github.com/libaccounts/libaccounts/internal/lambdaenv"
	"github.com/libaccounts/libaccounts/internal/passhash"
	"github.com/libaccounts/libaccounts/internal/s3blobs"
)

func main() {
	env := lambdaenv.MustLoad()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.TableName)
	blobs := s3blobs.New(env.S3())
	svc := accounts.NewService(accounts.Deps{Store: store, Hasher: passhash.New(env.Argon2), Blobs: blobs, Logger: env.Logger}, env.Accounts)
	lambda.Start(apigw.New(svc, env.Logger).WithReports(blobs, env.Accounts.ImportBucket).ImportReport)
}
