package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, notificationsCommand)
}

// notificationsCommand is "labelhub notifications": the caller's
// notifications, newest first ("Your export … is ready").
func notificationsCommand() *cobra.Command {
	var unread, markRead bool
	var limit int
	cmd := &cobra.Command{
		Use:     "notifications [--unread] [--mark-read]",
		Aliases: []string{"notification"},
		Short:   "List your notifications, newest first",
		Long: `Lists your notifications, newest first: an export run that is ready or
failed. The RUN column names the run; download its file with
labelhub run download RUN_ID. --mark-read marks all of them read afterwards.`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	o := addClientFlags(cmd, true)
	cmd.Flags().BoolVar(&unread, "unread", false, "only those not read yet")
	cmd.Flags().BoolVar(&markRead, "mark-read", false, "mark all your notifications read after listing them")
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		ns, err := collect(cmd.Context(), limit, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Notification], error) {
			pg, err := c.ListNotifications(ctx, unread, p)
			return pg.Page, err
		})
		if err != nil {
			return err
		}
		err = printList(cmd, o, ns, []string{"ID", "WHEN", "READ", "RUN", "MESSAGE"}, func(n labelhub.Notification) []string {
			read := "no"
			if n.ReadAt != nil {
				read = "yes"
			}
			run := n.RunID
			if run == "" {
				run = "-"
			}
			return []string{n.ID, when(n.CreatedAt), read, run, oneLine(n.Message)}
		})
		if err != nil || !markRead {
			return err
		}
		n, err := c.ReadAllNotifications(cmd.Context())
		if err == nil && !o.jsonOut() {
			fmt.Fprintf(cmd.ErrOrStderr(), "%d marked read\n", n)
		}
		return err
	})
	return cmd
}
