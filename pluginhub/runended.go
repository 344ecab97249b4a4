package pluginhub

import (
	"context"
	"time"

	"github.com/labelhub/labelhub"
)

// RunEndHandler is implemented by stores that act when a run ends, such
// as sqlstore.Store, which notifies the user who started an export run.
// The hub calls RunEnded once per run it ended itself (on the replica that
// ended it), after the end is committed, in a goroutine of its own: when
// the plugin reported the end, when the run timed out, or when it was cut
// off after a cancel. typ is the plugin's type when the hub knows it
// without a read, else "". Runs cancelled before they started and runs
// failed by recovery after their instance vanished do not call it.
type RunEndHandler interface {
	RunEnded(ctx context.Context, r labelhub.Run, typ labelhub.PluginType) error
}

// runEndTimeout bounds one RunEnded call.
const runEndTimeout = 30 * time.Second

// runEnded calls the store's RunEnded, if it has one, without blocking the
// caller (the writer's after callbacks must not block).
func (h *Hub) runEnded(r labelhub.Run, typ labelhub.PluginType) {
	eh, ok := h.store.(RunEndHandler)
	if !ok {
		return
	}
	h.endWG.Add(1)
	go func() {
		defer h.endWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), runEndTimeout)
		defer cancel()
		if err := eh.RunEnded(ctx, r, typ); err != nil {
			h.log.Error("after the end of a run", "run", r.ID, "err", err)
		}
	}()
}
