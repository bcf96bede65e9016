// Command admin-letters-update is the Lambda function behind PUT /v1/admin/letters/{kind}.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.UpdateLetter }) }
