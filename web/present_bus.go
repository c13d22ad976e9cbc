package web

import (
	"encoding/json"

	"github.com/contrastive-explorer/explorer/run/runner"
)

// Presenting among replicas: a presenter's view posted on one replica
// reaches the followers on every other through the bus, as the run's
// frames do (docs/scaling.md).

// presentSubject carries presenters' views between replicas.
const presentSubject = "explorer.present"

// presented is a view as the bus carries it.
type presented struct {
	From string   `json:"from"` // the replica it was posted on
	Run  string   `json:"run"`
	View viewJSON `json:"view"`
}

// sharePresent sends a view posted on this replica to the others.
func (s *Server) sharePresent(id string, v viewJSON) {
	if s.runBus == nil {
		return
	}
	b, err := json.Marshal(presented{From: s.replica, Run: id, View: v})
	if err == nil {
		err = s.runBus.Publish(presentSubject, b)
	}
	if err != nil {
		s.log.Warn("sharing a presented view", "run", id, "err", err)
	}
}

// followPresenters gives this replica's followers the views posted on
// the others.
func (s *Server) followPresenters(bus runner.Bus) error {
	cancel, err := bus.Subscribe(presentSubject, func(b []byte) {
		var p presented
		if json.Unmarshal(b, &p) != nil || p.From == s.replica || p.Run == "" {
			return
		}
		// Checked on the replica it was posted on, by its run's owner.
		s.follows.get(p.Run).present(p.View)
		s.follows.release(p.Run)
	})
	if err != nil {
		return err
	}
	go func() {
		<-s.ctx.Done()
		cancel()
	}()
	return nil
}
