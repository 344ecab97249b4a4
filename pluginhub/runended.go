package pluginhub

import (
	"context"
	"errors"

	"github.com/labelhub/labelhub"
)

// RunEndHandler is implemented by stores that act when a run ends, such
// as sqlstore.Store, which notifies the user who started an export run.
// The hub calls RunEnded once per run it ended itself (on the replica that
// ended it), after the end is committed, as a write of its own: in the
// batch after the one that stored the end, on that batch's store when it
// is a RunEndHandler too (so that what RunEnded writes shares the batch's
// commit), else on the store itself. That is when the plugin reported the
// end, when the run timed out, or when it was cut off after a cancel. typ
// is the plugin's type when the hub knows it without a read, else "".
// Runs cancelled before they started and runs failed by recovery after
// their instance vanished do not call it. When the store is a
// noticeFinisher, the runs of export plugins that the plugin ended or that
// were cut off do not call it either: their notice comes with their end
// (noticeWrite). An error is logged, and fails
// no other write.
type RunEndHandler interface {
	RunEnded(ctx context.Context, r labelhub.Run, typ labelhub.PluginType) error
}

// endWrite is the write that calls the store's RunEnded for r, or nil
// when the store has none.
func (h *Hub) endWrite(r labelhub.Run, typ labelhub.PluginType) *write {
	eh, ok := h.store.(RunEndHandler)
	if !ok {
		return nil
	}
	return &write{
		apply: func(ctx context.Context, st labelhub.PluginStore) error {
			st = lastCall(st)
			if beh, ok := st.(RunEndHandler); ok {
				return beh.RunEnded(ctx, r, typ)
			}
			return eh.RunEnded(ctx, r, typ)
		},
		after: func(err error) {
			if err != nil {
				h.log.Error("after the end of a run", "run", r.ID, "err", err)
			}
		}}
}

// noticeWrite adds the notice of the end of a run, as FinishRunNotice
// returned it: RunEnded in one INSERT.
func (h *Hub) noticeWrite(runID string, n labelhub.Notification) *write {
	return &write{
		apply: func(ctx context.Context, st labelhub.PluginStore) error {
			nf, ok := lastCall(st).(noticeFinisher)
			if !ok {
				nf, ok = h.store.(noticeFinisher)
			}
			if !ok {
				return errors.New("the store cannot add notifications")
			}
			_, err := nf.AddNotification(ctx, n)
			return err
		},
		after: func(err error) {
			if err != nil {
				h.log.Error("after the end of a run", "run", runID, "err", err)
			}
		}}
}
