// Command me-links-confirm is the Lambda function behind POST /v1/me/links/{id}/confirm.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.ConfirmLink }) }
