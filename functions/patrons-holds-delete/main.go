// Command patrons-holds-delete is the Lambda function behind DELETE /v1/patrons/{id}/holds/{holdId}.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.CancelHold }) }
