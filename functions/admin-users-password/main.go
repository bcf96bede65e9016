// Command admin-users-password is the Lambda function behind
// POST /v1/admin/users/{id}/password; it e-mails generated passwords and
// reset links through SES.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.ResetPassword }) }
