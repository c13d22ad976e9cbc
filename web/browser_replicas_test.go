package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/memory"
	"github.com/contrastive-explorer/explorer/run/natsbus"
	"github.com/contrastive-explorer/explorer/run/natsbus/natstest"
	"github.com/contrastive-explorer/explorer/web"
)

// replica serves the explorer as one of several replicas on st and the
// NATS server at url.
func replica(t *testing.T, st run.Store, url, name, role string) string {
	t.Helper()
	bus, err := natsbus.Connect(context.Background(), url, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	return startExplorer(t, web.Options{Store: st, Bus: bus, Replica: name, Role: role, DataDir: t.TempDir()})
}

// TestBrowserReplicas: a teacher starts a run on web replica A, a worker
// trains it, and a student's page on web replica B watches it live to its
// end; the teacher's pause, from A, shows on B.
func TestBrowserReplicas(t *testing.T) {
	srv := natstest.Start(t)
	st := memory.New()
	urlA := replica(t, st, srv.URL(), "a", web.RoleWeb)
	urlB := replica(t, st, srv.URL(), "b", web.RoleWeb)
	replica(t, st, srv.URL(), "w", web.RoleWorker)

	teacher := newBrowser(t, nil)
	teacher.step("home page on A", 15*time.Second, chromedp.Navigate(urlA+"/"), chromedp.WaitVisible(tid("train-button")))
	id := teacher.startRun(`{dataset: "digits", epochs: 40, batch: 16}`)
	student := teacher.another()
	student.step("the run's page on B", 15*time.Second, chromedp.Navigate(urlB+"/runs/"+id))
	student.poll("frames arrive on B", `window.explorer && window.explorer.epoch() >= 1`, 60*time.Second)

	var ignored any
	teacher.poll("the pause button", `!document.querySelector('[data-testid="control-pause"]').disabled`, 30*time.Second)
	teacher.eval("pause from A", `document.querySelector('[data-testid="control-pause"]').click(); true`, &ignored)
	student.poll("paused on B", `window.explorer.state() === "paused"`, 15*time.Second)
	student.shot("replicas-paused")
	teacher.poll("the resume button", `!document.querySelector('[data-testid="control-resume"]').disabled`, 10*time.Second)
	teacher.eval("resume from A", `document.querySelector('[data-testid="control-resume"]').click(); true`, &ignored)
	student.poll("every epoch on B", finishedJS+` && window.explorer.epoch() === 40`, 120*time.Second)
	teacher.poll("and on A", finishedJS+` && window.explorer.epoch() === 40`, 30*time.Second)
	student.shot("replicas-finished")
	teacher.noProblems()
	student.noProblems()
}
