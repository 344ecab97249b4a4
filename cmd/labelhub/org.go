package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, orgCommand)
}

func orgCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "org",
		Aliases: []string{"organization"},
		Short:   "Create and list organisations (server admins only)",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(orgCreateCommand(o), orgListCommand(o))
	return cmd
}

func orgCreateCommand(o *clientOptions) *cobra.Command {
	var in labelhub.NewOrg
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create NAME --admin-email EMAIL",
		Short: "Create an organisation with its first admin, and print the admin's API key once",
		Long: `Create an organisation with its first admin (server admins only: the admins
of the hub's first organisation). The admin's API key is printed on stdout this
one time; hand it over safely.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().StringVar(&in.AdminEmail, "admin-email", "", "email of the organisation's first admin (required)")
	cmd.Flags().StringVar(&in.AdminName, "admin-name", "", "display name of the first admin")
	cmd.Flags().BoolVar(&passwordStdin, "admin-password-stdin", false, "read a web sign-in password for the admin from stdin (its first line)")
	_ = cmd.MarkFlagRequired("admin-email")
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in.Name = args[0]
		if passwordStdin {
			pw, err := readSecret(cmd.InOrStdin(), "the admin's password")
			if err != nil {
				return err
			}
			in.AdminPassword = pw
		}
		org, err := c.CreateOrganization(cmd.Context(), in)
		if err != nil {
			return err
		}
		if o.jsonOut() {
			if err := writeJSON(cmd.OutOrStdout(), org); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(cmd.OutOrStdout(), org.APIKey)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "Created organization %q (%s) with admin %s (%s). Save the admin's API key now: it will not be shown again.\n",
			org.Name, org.ID, org.Admin.Email, org.Admin.ID)
		return nil
	})
	return cmd
}

func orgListCommand(o *clientOptions) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the hub's organisations",
		Args:    cobra.NoArgs,
	}
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		items, err := collect(cmd.Context(), limit, c.ListOrganizations)
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "NAME", "FIRST", "CREATED"}, func(org labelhub.Organization) []string {
			return []string{org.ID, org.Name, yesNo(org.Root), when(org.CreatedAt)}
		})
	})
	return cmd
}
