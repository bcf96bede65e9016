package dynamostore

import (
	"fmt"
	"hash/fnv"
)

// Key layout (one table; the tenant is in every key):
//
//	TENANT#<t>             TENANT              the tenant
//	T#<t>#USER#<id>        USER                a user
//	T#<t>#USER#<id>        SESSION#<sha256>    a session of that user
//	T#<t>#UNAME#<key>      GUARD               username uniqueness
//	T#<t>#BARCODE#<key>    GUARD               barcode uniqueness
//	T#<t>#PRIMARYID#<key>  GUARD               primary ID uniqueness
//
// gsi1 lists a tenant's users by username. Its partition key is spread over
// userShards shards by user id so that a bulk import's writes do not funnel
// through one partition; listings merge the shards in username order.
// gsi2 finds users by e-mail address.
const (
	skTenant      = "TENANT"
	skUser        = "USER"
	skGuard       = "GUARD"
	sessionPrefix = "SESSION#"
	userShards    = 16
)

func tenantPK(t string) string           { return "TENANT#" + t }
func userPK(t, id string) string         { return "T#" + t + "#USER#" + id }
func sessionSK(id string) string         { return sessionPrefix + id }
func usernameGuardPK(t, k string) string { return "T#" + t + "#UNAME#" + k }
func barcodeGuardPK(t, k string) string  { return "T#" + t + "#BARCODE#" + k }
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
