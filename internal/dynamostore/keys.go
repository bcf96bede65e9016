package dynamostore

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Key layout (one table; the tenant is in every key):
//
//	TENANT#<t>             TENANT              the tenant
//	T#<t>#USER#<id>        USER                a user
//	T#<t>#USER#<id>        SESSION#<sha256>    a session of that user
//	T#<t>#UNAME#<key>      GUARD               username uniqueness
//	T#<t>#BARCODE#<key>    GUARD               barcode uniqueness
//	T#<t>#PRIMARYID#<key>  GUARD               primary ID uniqueness
//	T#<t>#USER#<id>        RESET#<sha256>      a password-reset link
//	T#<t>#USER#<id>        NOTICE#<id>         a notice to that user (notices.go)
//	T#<t>#AUDIT#<yyyy-mm>  <time>#<id>         the audit trail, by month
//	T#<t>#RECOVERY#<id>    RECOVERY            a patron's recovery request (recovery.go)
//	THROTTLE#<key>#<start> THROTTLE            a request counter (throttle.go)
//
// gsi1 lists a tenant's users by username. Its partition key is spread over
// userShards shards by user id so that a bulk import's writes do not funnel
// through one partition; listings merge the shards in username order.
// gsi2 finds users by e-mail address.
// Audit events also sit in gsi1 by actor and in gsi2 by target.
// The tenant item counts its active admins (activeAdmins), so that no change
// can leave a library without one.
const (
	skTenant      = "TENANT"
	skUser        = "USER"
	skGuard       = "GUARD"
	sessionPrefix = "SESSION#"
	resetPrefix   = "RESET#"
	userShards    = 16
)

func tenantPK(t string) string           { return "TENANT#" + t }
func userPK(t, id string) string         { return "T#" + t + "#USER#" + id }
func sessionSK(id string) string         { return sessionPrefix + id }
func usernameGuardPK(t, k string) string { return "T#" + t + "#UNAME#" + k }

// lookalikeGuardPK holds a username's skeleton (accounts.UsernameSkeleton),
// so that no two names of a tenant look alike.
func lookalikeGuardPK(t, k string) string { return "T#" + t + "#USKEL#" + k }
func barcodeGuardPK(t, k string) string   { return "T#" + t + "#BARCODE#" + k }
func primaryIDGuardPK(t, k string) string {
	return "T#" + t + "#PRIMARYID#" + k
}
func emailPK(t, k string) string { return "T#" + t + "#EMAIL#" + k }

func shardOf(userID string) int {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return int(h.Sum32() % userShards)
}

func userListPK(t string, shard int) string { return fmt.Sprintf("T#%s#USERS#%02d", t, shard) }

func resetSK(id string) string { return resetPrefix + id }

func auditPK(t string, at time.Time) string { return "T#" + t + "#AUDIT#" + at.UTC().Format("2006-01") }
func auditByPK(t, actor string) string      { return "T#" + t + "#AUDITBY#" + actor }
func auditOnPK(t, target string) string     { return "T#" + t + "#AUDITON#" + target }

// auditTime is fixed-width so that sort keys order by time.
const auditTime = "2006-01-02T15:04:05.000000000Z"

func auditSK(at time.Time, id string) string { return at.UTC().Format(auditTime) + "#" + id }
