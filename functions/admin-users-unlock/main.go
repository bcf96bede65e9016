// Command admin-users-unlock is the Lambda function behind POST /v1/admin/users/{id}/unlock.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.UnlockUser }) }
