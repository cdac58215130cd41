package main

import (
	"context"
	"time"
)

// reloadAuth re-reads the password file, the ACL file and the JWT keys
// (registered for SIGHUP in run.go, as Mosquitto does): connections stay
// open, their next publish and delivery are decided by what was reloaded,
// and what fails to load keeps its previous contents.
func reloadAuth(ctx context.Context, s *authSetup) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.Reload(ctx)
}
