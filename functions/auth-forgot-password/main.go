// Command auth-forgot-password is the Lambda function behind POST
// /v1/auth/forgot-password: it counts and queues a patron's request, and
// answers the same whatever exists.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.ForgotPassword }) }
