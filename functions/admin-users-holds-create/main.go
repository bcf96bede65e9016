// Command admin-users-holds-create is the Lambda function behind POST /v1/admin/users/{id}/holds.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.FeedHold }) }
