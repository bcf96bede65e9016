package samtemplate_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/sns"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

// The notice pipeline's resources: the SES configuration set every notice
// is sent with, the topic its events go to, and what reads them.

func TestSESEventsReachTheirFunction(t *testing.T) {
	// Bounces, complaints and deliveries of the notices' configuration set
	// go to one encrypted topic, which SES may publish to for this set
	// only, and which invokes ses-events.
	tpl := loadTemplate(t)
	sets, err := tpl.ConfigurationSets()
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 1 || sets[0].LogicalID != "NoticeConfigurationSet" || sets[0].Name != localConfigurationSet {
		t.Fatalf("configuration sets = %+v, want NoticeConfigurationSet named %s", sets, localConfigurationSet)
	}
	if len(sets[0].Destinations) != 1 {
		t.Fatalf("destinations = %+v, want one", sets[0].Destinations)
	}
	d := sets[0].Destinations[0]
	events := slices.Clone(d.Events)
	slices.Sort(events)
	if !d.Enabled || d.Topic != "SesEventsTopic" || !slices.Equal(events, []string{"bounce", "complaint", "delivery"}) {
		t.Errorf("destination = %+v, want enabled, bounce+complaint+delivery to SesEventsTopic", d)
	}
	if got := tpl.SNSTriggers(); !slices.Equal(got, []samtemplate.SNSTrigger{{Function: "SesEventsFunction", Topic: "SesEventsTopic"}}) {
		t.Errorf("SNS triggers = %+v, want ses-events on SesEventsTopic", got)
	}

	cfn := samtemplate.CFN(tpl)
	topic, ok := cfn.Resources["SesEventsTopic"].(*sns.Topic)
	if !ok {
		t.Fatal("no AWS::SNS::Topic SesEventsTopic")
	}
	// Events name recipients' addresses. SES cannot publish with the
	// AWS-managed SNS key, so the key must be the template's own and let
	// SES encrypt, for this account only.
	keyID := deref(topic.KmsMasterKeyId)
	key, ok := cfn.Resources[trimRef(keyID)].(*kms.Key)
	if !ok {
		t.Fatalf("KmsMasterKeyId = %q, want !Ref of the template's AWS::KMS::Key", keyID)
	}
	if !deref(key.EnableKeyRotation) {
		t.Error("the topic's key does not rotate")
	}
	var sesGrant bool
	for _, st := range statementsOf(t, key.KeyPolicy) {
		if path(st, "Principal", "Service") != "ses.amazonaws.com" {
			continue
		}
		sesGrant = true
		acts := strList(t, st["Action"])
		slices.Sort(acts)
		if !slices.Equal(acts, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
			t.Errorf("the key lets SES %v, want only kms:GenerateDataKey and kms:Decrypt", acts)
		}
		if path(st, "Condition", "StringEquals", "aws:SourceAccount") != "123456789012" {
			t.Errorf("SES's use of the key is not limited to this account: %v", st["Condition"])
		}
	}
	if !sesGrant {
		t.Error("the key policy does not let SES encrypt")
	}

	var published bool
	for id, p := range cfn.GetAllSNSTopicPolicyResources() {
		if !slices.Contains(p.Topics, "${SesEventsTopic}") {
			continue
		}
		for _, st := range statementsOf(t, p.PolicyDocument) {
			if st["Effect"] != "Allow" {
				continue
			}
			published = true
			if path(st, "Principal", "Service") != "ses.amazonaws.com" || !slices.Equal(strList(t, st["Action"]), []string{"sns:Publish"}) {
				t.Errorf("%s: %v may %v; want only ses.amazonaws.com, sns:Publish", id, st["Principal"], st["Action"])
			}
			if path(st, "Condition", "StringEquals", "aws:SourceAccount") != "123456789012" ||
				path(st, "Condition", "ArnLike", "aws:SourceArn") != "arn:aws:ses:us-east-1:123456789012:configuration-set/${NoticeConfigurationSet}" {
				t.Errorf("%s: SES may publish for any account or set: %v", id, st["Condition"])
			}
		}
	}
	if !published {
		t.Error("no topic policy lets SES publish to SesEventsTopic")
	}

	// A failed SNS event is parked, not dropped: a lost bounce means the
	// address keeps being mailed.
	fn := cfn.GetAllServerlessFunctionResources()["SesEventsFunction"]
	if fn == nil || fn.DeadLetterQueue == nil || fn.DeadLetterQueue.Type != "SQS" || fn.DeadLetterQueue.TargetArn != "${SesEventsDeadLetterQueue.Arn}" {
		t.Errorf("SesEventsFunction DeadLetterQueue = %+v, want SQS SesEventsDeadLetterQueue", fn.DeadLetterQueue)
	}
}

func TestNoticeWorkersShareTheRate(t *testing.T) {
	// The worker paces itself at NOTICE_SEND_RATE / NOTICE_WORKER_CONCURRENCY:
	// that is the account's rate only if the event source runs exactly
	// NOTICE_WORKER_CONCURRENCY workers, under any parameter overrides.
	for _, params := range []map[string]string{nil, {"NoticeSendRate": "50", "NoticeWorkerConcurrency": "5"}} {
		tpl, err := samtemplate.LoadWithParameters(filepath.Join(repoRoot(t), "template.yaml"), params)
		if err != nil {
			t.Fatal(err)
		}
		var worker samtemplate.Function
		for _, f := range functionsByDir(t, tpl) {
			if f.LogicalID == "NoticesWorkerFunction" {
				worker = f
			}
		}
		var trigger samtemplate.SQSTrigger
		for _, tr := range tpl.SQSTriggers() {
			if tr.Function == "NoticesWorkerFunction" {
				trigger = tr
			}
		}
		if strconv.Itoa(trigger.MaxConcurrency) != worker.Env["NOTICE_WORKER_CONCURRENCY"] || trigger.MaxConcurrency < 2 {
			t.Errorf("parameters %v: MaximumConcurrency %d, NOTICE_WORKER_CONCURRENCY %q; want equal, at least 2", params, trigger.MaxConcurrency, worker.Env["NOTICE_WORKER_CONCURRENCY"])
		}
		if want := params["NoticeSendRate"]; want != "" && worker.Env["NOTICE_SEND_RATE"] != want {
			t.Errorf("parameters %v: NOTICE_SEND_RATE = %q", params, worker.Env["NOTICE_SEND_RATE"])
		}
	}
	// Lambda refuses a MaximumConcurrency below 2.
	params := samtemplate.CFN(loadTemplate(t)).Parameters
	if p := params["NoticeWorkerConcurrency"]; p.MinValue == nil || *p.MinValue < 2 {
		t.Errorf("NoticeWorkerConcurrency MinValue = %v, want >= 2", p.MinValue)
	}
}

// statementsOf returns the statements of a policy document.
func statementsOf(tb testing.TB, doc any) []map[string]any {
	tb.Helper()
	raw, _ := path(doc, "Statement").([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, s := range raw {
		m, ok := s.(map[string]any)
		if !ok {
			tb.Fatalf("statement %#v is not an object", s)
		}
		out = append(out, m)
	}
	return out
}

// trimRef returns Id of a "${Id}" placeholder (what !Ref Id loads as).
func trimRef(s string) string {
	if len(s) < 3 || s[:2] != "${" || s[len(s)-1] != '}' {
		return ""
	}
	return s[2 : len(s)-1]
}
