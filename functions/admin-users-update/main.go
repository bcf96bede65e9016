// Command admin-users-update is the Lambda function behind PATCH /v1/admin/users/{id}.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.UpdateUser }) }
