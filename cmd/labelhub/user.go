package main

import (
	"github.com/spf13/cobra"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func init() {
	clientCommands = append(clientCommands, userCommand, meCommand)
}

func userCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create and list the organisation's users",
	}
	o := addClientFlags(cmd, true)
	cmd.AddCommand(userCreateCommand(o), userListCommand(o))
	return cmd
}

func roleNames() []string {
	names := make([]string, len(labelhub.Roles))
	for i, r := range labelhub.Roles {
		names[i] = string(r)
	}
	return names
}

func userCreateCommand(o *clientOptions) *cobra.Command {
	var role, name string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create EMAIL --role ROLE",
		Short: "Create a user (admins only)",
		Long: `Create a user in the organisation. Without a password the user signs in with
API keys only (an admin makes one with "labelhub apikey create --user ID").
Roles: admin, project-manager, reviewer, labeler.`,
		Example:           `  printf '%s' "$PASSWORD" | labelhub user create ann@example.com --role labeler --name Ann --password-stdin`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().StringVar(&role, "role", "", "the user's role: admin, project-manager, reviewer or labeler (required)")
	cmd.Flags().StringVar(&name, "name", "", "the user's display name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read a password for the web sign-in from stdin (its first line)")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(roleNames(), cobra.ShellCompDirectiveNoFileComp))
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		in := labelhub.NewUser{Email: args[0], Name: name, Role: labelhub.Role(role)}
		if passwordStdin {
			pw, err := readSecret(cmd.InOrStdin(), "the password")
			if err != nil {
				return err
			}
			in.Password = pw
		}
		u, err := c.CreateUser(cmd.Context(), in)
		if err != nil {
			return err
		}
		return printUser(cmd, o, u)
	})
	return cmd
}

func printUser(cmd *cobra.Command, o *clientOptions, u labelhub.User) error {
	return printFields(cmd, o, u, [][2]string{
		{"ID", u.ID}, {"Email", u.Email}, {"Name", u.Name}, {"Role", string(u.Role)}, {"Created", when(u.CreatedAt)},
	})
}

func userListCommand(o *clientOptions) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the organisation's users",
		Args:    cobra.NoArgs,
	}
	addLimitFlag(cmd, &limit)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		items, err := collect(cmd.Context(), limit, c.ListUsers)
		if err != nil {
			return err
		}
		return printList(cmd, o, items, []string{"ID", "EMAIL", "NAME", "ROLE", "CREATED"}, func(u labelhub.User) []string {
			return []string{u.ID, u.Email, u.Name, string(u.Role), when(u.CreatedAt)}
		})
	})
	return cmd
}

func meCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "me",
		Short: "Show who the API key belongs to: user, organisation, role",
		Args:  cobra.NoArgs,
	}
	o := addClientFlags(cmd, true)
	cmd.RunE = o.run(func(cmd *cobra.Command, args []string, c *client.Client) error {
		me, err := c.Me(cmd.Context())
		if err != nil {
			return err
		}
		return printFields(cmd, o, me, [][2]string{
			{"User", me.User.ID},
			{"Email", me.User.Email},
			{"Name", me.User.Name},
			{"Role", string(me.Role)},
			{"Organization", me.Organization.Name + " (" + me.Organization.ID + ")"},
			{"Server admin", yesNo(me.ServerAdmin)},
			{"Server", o.server},
		})
	})
	return cmd
}
