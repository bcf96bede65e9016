package samtemplate_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/samtemplate"
)

func TestScheduleTriggers(t *testing.T) {
	// The sweep is the one scheduled function, every five minutes: the
	// local stack fires it on that rate, and a test can fire it at once.
	got, err := loadTemplate(t).ScheduleTriggers()
	if err != nil {
		t.Fatal(err)
	}
	want := []samtemplate.ScheduleTrigger{{Function: "JobsSweepFunction", Name: "Sweep", Rate: 5 * time.Minute}}
	if !slices.Equal(got, want) {
		t.Errorf("ScheduleTriggers = %+v, want %+v", got, want)
	}
	fns := functionsByDir(t, loadTemplate(t))
	if v := fns["functions/jobs-sweep"].Env["JOB_STALL_TIMEOUT"]; v != "30m" {
		t.Errorf("jobs-sweep JOB_STALL_TIMEOUT = %q, want the parameter's default 30m", v)
	}
}

func TestScheduleRates(t *testing.T) {
	// EventBridge's rate expressions, and the ones it refuses (which the
	// local stack must refuse too, rather than never fire).
	tests := []struct {
		expr string
		want time.Duration // 0: refused
	}{
		{"rate(1 minute)", time.Minute},
		{"rate(5 minutes)", 5 * time.Minute},
		{"rate(2 hours)", 2 * time.Hour},
		{"rate(1 day)", 24 * time.Hour},
		{"rate(1 minutes)", 0},
		{"rate(5 minute)", 0},
		{"rate(0 minutes)", 0},
		{"rate(5 weeks)", 0},
		{"cron(0/5 * * * ? *)", 0},
		{"", 0},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			dir := t.TempDir()
			tpl := "Transform: AWS::Serverless-2016-10-31\nResources:\n  SweepFunction:\n    Type: AWS::Serverless::Function\n" +
				"    Properties:\n      CodeUri: .\n      Events:\n        Tick:\n          Type: Schedule\n          Properties:\n            Schedule: \"" + tt.expr + "\"\n"
			p := filepath.Join(dir, "template.yaml")
			if err := os.WriteFile(p, []byte(tpl), 0o600); err != nil {
				t.Fatal(err)
			}
			loaded, err := samtemplate.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := loaded.ScheduleTriggers()
			switch {
			case tt.want == 0 && err == nil:
				t.Errorf("accepted as %+v, want an error", got)
			case tt.want != 0 && err != nil:
				t.Errorf("error %v, want %v", err, tt.want)
			case tt.want != 0 && (len(got) != 1 || got[0].Rate != tt.want):
				t.Errorf("got %+v, want rate %v", got, tt.want)
			}
		})
	}
}
