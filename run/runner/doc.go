// Package runner is the run lifecycle: a Manager creates runs, gives at
// most MaxRuns of them a CPU slot at once (training, or projecting the
// epochs of a run that no longer trains) and queues the rest, and each Run
// takes its trainer's epochs through a projector to frames, recording
// epochs, checkpoints and frames in a run.Store and announcing every change
// to the run's Viewers as an Event.
//
// It knows no HTTP and no websocket: web adapts a Run to its API and
// encodes the events for its hub. Everything a Run shows is in the store,
// so a run whose server restarted is rebuilt from it on demand (Get), and a
// finished run nobody watches is forgotten from memory and rebuilt when
// someone does.
package runner
