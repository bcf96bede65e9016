package sqsqueue_test

import (
	"context"
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/sqsqueue"
)

func TestRecoveryMessagesCarryIdsOnly(t *testing.T) {
	c, _ := localQueue(t)
	q := sqsqueue.NewRecovery(c, queueURL)
	ref := accounts.RecoveryRef{TenantID: "kpu", RequestID: "0194f2a0c0de00112233445566778899"}
	if err := q.EnqueueRecovery(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	got := receive(t, c)
	want := `{"v":1,"tenant":"kpu","request":"0194f2a0c0de00112233445566778899"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("messages %q, want [%s]", got, want)
	}
	back, err := sqsqueue.DecodeRecovery(got[0])
	if err != nil || back != ref {
		t.Errorf("decoded %+v, %v; want %+v", back, err, ref)
	}
	for _, body := range []string{
		`{"v":2,"tenant":"kpu","request":"0194f2a0c0de00112233445566778899"}`,
		`{"v":1,"tenant":"KPU","request":"0194f2a0c0de00112233445566778899"}`,
		`{"v":1,"tenant":"kpu","request":"ann@example.org"}`,
		`{"v":1,"tenant":"kpu"}`,
		`not json`,
	} {
		if _, err := sqsqueue.DecodeRecovery(body); err == nil {
			t.Errorf("DecodeRecovery(%s) accepted it", body)
		}
	}
}
