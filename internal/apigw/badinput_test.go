package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/apigw"
)

// TestEveryLongInputIsA400NamingIt: values that became DynamoDB keys or
// usernames too long for create were 500s or suggestions create refused.
func TestEveryLongInputIsA400NamingIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	ctx := context.Background()
	_, kpu := e.login(t, "kpu", "admin", adminPassword)

	list := []struct {
		param string
		n     int
		want  string
	}{
		{"barcode", 5000, "at most 1024 bytes"},
		{"primaryId", 5000, "at most 1024 bytes"},
		{"barcode", 65, "at most 64 characters"},
		{"primaryId", 300, "at most 64 characters"},
		{"email", 255, "at most 254 characters"},
		{"prefix", 129, "at most 128 characters"},
	}
	for _, tc := range list {
		r := kpu("GET /v1/admin/users", "")
		r.QueryStringParameters = map[string]string{tc.param: strings.Repeat("7", tc.n)}
		resp, _ := e.api.ListUsers(ctx, r)
		b := decodeErr(t, resp)
		if resp.StatusCode != http.StatusBadRequest || b.Error.Field != tc.param || !strings.Contains(b.Error.Message, tc.want) {
			t.Errorf("?%s= of %d characters: %d %s", tc.param, tc.n, resp.StatusCode, resp.Body)
		}
	}
	r := kpu("GET /v1/admin/users", "")
	r.QueryStringParameters = map[string]string{"barcode": "ab\xffcd"}
	if resp, _ := e.api.ListUsers(ctx, r); resp.StatusCode != http.StatusBadRequest || decodeErr(t, resp).Error.Field != "barcode" {
		t.Errorf("?barcode= not UTF-8: %d %s", resp.StatusCode, resp.Body)
	}
	r = kpu("GET /v1/admin/users/{id}", "")
	r.PathParameters = map[string]string{"id": strings.Repeat("x", 5000)}
	if resp, _ := e.api.GetUser(ctx, r); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a 5,000-character id: %d %s", resp.StatusCode, resp.Body)
	}

	suggest := func(first, last string) (int, string, string) {
		body, _ := json.Marshal(map[string]string{"firstName": first, "lastName": last})
		resp, _ := e.api.SuggestUsername(ctx, kpu("POST /v1/admin/usernames:suggest", string(body)))
		var out struct{ Username string }
		_ = json.Unmarshal([]byte(resp.Body), &out)
		return resp.StatusCode, out.Username, resp.Body
	}
	if status, _, body := suggest(strings.Repeat("a", 10000), "Park"); status != http.StatusBadRequest || !strings.Contains(body, "firstName") {
		t.Errorf("suggest from a 10,000-character name: %d %s", status, body)
	}
	status, name, body := suggest(strings.Repeat("Sadie", 60), strings.Repeat("Park", 75))
	if status != http.StatusOK || name == "" {
		t.Fatalf("suggest from 300-character names: %d %s", status, body)
	}
	created, _ := json.Marshal(map[string]any{"username": name, "generatePassword": true})
	if resp, _ := e.api.CreateUser(ctx, kpu("POST /v1/admin/users", string(created))); resp.StatusCode != http.StatusCreated {
		t.Errorf("create refuses the suggested %q: %d %s", name, resp.StatusCode, resp.Body)
	}
	// The next suggestion for the same names carries a counter and must
	// still be one create takes.
	if status, next, body := suggest(strings.Repeat("Sadie", 60), strings.Repeat("Park", 75)); status != http.StatusOK || next == name || len(next) > 128 {
		t.Errorf("second suggestion: %d %q %s", status, next, body)
	}
}

// TestStaffRoutesAuthorizeBeforeReading: a patron's request to a staff
// route was told how its body was wrong (400 naming a field) before it was
// refused; it must learn only that it may not.
func TestStaffRoutesAuthorizeBeforeReading(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "kpu")
	ctx := context.Background()
	_, kpu := e.login(t, "kpu", "admin", adminPassword)
	if resp, _ := e.api.CreateUser(ctx, kpu("POST /v1/admin/users", `{"username":"pat","password":"a fine long passphrase"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	_, pat := e.login(t, "kpu", "pat", "a fine long passphrase")
	body, _ := json.Marshal(map[string]string{"currentPassword": "a fine long passphrase", "newPassword": "my own long passphrase"})
	if resp, _ := e.api.ChangePassword(ctx, pat("POST /v1/me/password", string(body))); resp.StatusCode != http.StatusOK {
		t.Fatalf("change password: %d %s", resp.StatusCode, resp.Body)
	}
	_, pat = e.login(t, "kpu", "pat", "my own long passphrase")
	for _, tc := range []struct {
		name string
		call func(context.Context, apigw.Request) (apigw.Response, error)
		req  apigw.Request
	}{
		{"settings with an unknown field", e.api.UpdateSettings, pat("PATCH /v1/admin/settings", `{"noSuchSetting":true}`)},
		{"settings not JSON", e.api.UpdateSettings, pat("PATCH /v1/admin/settings", `{"senderName":`)},
		{"create with a wrong type", e.api.CreateUser, pat("POST /v1/admin/users", `{"username":7}`)},
		{"list with an unknown parameter", e.api.ListUsers, func() apigw.Request {
			r := pat("GET /v1/admin/users", "")
			r.QueryStringParameters = map[string]string{"staus": "active"}
			return r
		}()},
	} {
		resp, _ := tc.call(ctx, tc.req)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(resp.Body, `"field"`) {
			t.Errorf("%s as a patron: %d %s, want a 403 naming nothing", tc.name, resp.StatusCode, resp.Body)
		}
	}
	// Staff still get the 400 that says what is wrong.
	if resp, _ := e.api.UpdateSettings(ctx, kpu("PATCH /v1/admin/settings", `{"noSuchSetting":true}`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("staff's unknown setting: %d %s", resp.StatusCode, resp.Body)
	}
}
