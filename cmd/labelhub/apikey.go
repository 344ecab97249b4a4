package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, apiKeyCommand)
}

func apiKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "apikey",
		Aliases: []string{"api-key"},
		Short:   "Create, list and revoke API keys",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(apiKeyCreateCommand(o), apiKeyListCommand(o), apiKeyRevokeCommand(o))
	return cmd
}

func apiKeyCreateCommand(o *clientOptions) *cobra.Command {
	var name, userID string
	cmd := &cobra.Command{
		Use:   "create [--name NAME] [--user ID]",
		Short: "Create an API key and print it, once",
		Long: `Create an API key for yourself, or with --user for another user of the
organisation (admins only). The key is printed on stdout this one time; the
hub keeps only its hash.`,
		Example: `  labelhub apikey create --name ci > ci.key && chmod 600 ci.key`,
		Args:    cobra.NoArgs,
	}
	cmd.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	cmd.Flags().StringVar(&userID, "user", "", "create the key for this user `ID` (admins only)")
	_ = cmd.RegisterFlagCompletionFunc("user", completeUsers(o))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		k, err := c.CreateAPIKey(cmd.Context(), name, userID)
		if err != nil {
			return err
		}
		if o.jsonOut() {
			if err := writeJSON(cmd.OutOrStdout(), k); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(cmd.OutOrStdout(), k.Key)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created API key %s (name %q, user %s). Save the key now: it will not be shown again.\n", k.ID, k.Name, k.UserID)
		return nil
	})
	return cmd
}

func apiKeyListCommand(o *clientOptions) *cobra.Command {
	var limit int
	var userID string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List API keys: your own, or the organisation's for admins",
		Args:    cobra.NoArgs,
	}
	addLimitFlag(cmd, &limit)
	cmd.Flags().StringVar(&userID, "user", "", "only this user's keys (admins)")
	_ = cmd.RegisterFlagCompletionFunc("user", completeUsers(o))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		list := c.ListAPIKeys
		if userID != "" {
			list = func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
				return c.ListUserAPIKeys(ctx, userID, p)
			}
		}
		items, err := collect(cmd.Context(), limit, list)
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "NAME", "PREFIX", "USER", "CREATED", "LAST USED", "REVOKED"}, func(k labelhub.APIKey) []string {
			return []string{k.ID, k.Name, k.Prefix + "…", k.UserID, when(k.CreatedAt), whenPtr(k.LastUsedAt), whenPtr(k.RevokedAt)}
		})
	})
	return cmd
}

func apiKeyRevokeCommand(o *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key; requests with it fail from now on",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(completeIDs(o, func(c *client.Client) func(context.Context, labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
			return c.ListAPIKeys
		}, func(k labelhub.APIKey) (string, string) { return k.ID, k.Name + " " + k.Prefix + "…" })),
	}
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		if err := c.RevokeAPIKey(cmd.Context(), args[0]); err != nil {
			return err
		}
		if !o.jsonOut() {
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked API key %s.\n", args[0])
		}
		return nil
	})
	return cmd
}
