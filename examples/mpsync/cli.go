package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandSpec is one command of the tree: the table the parser, the help
// and the completion read.
type commandSpec struct {
	path  string // "sync", or "approval check" for a subcommand
	short string // one line, for completion and cobra's listings
	// args says whether the command takes positional arguments.
	args bool
	// globals are the groups of global flags its help lists (every command
	// accepts every global flag).
	globals []string
}

// allGlobals is the groups of global flags most store commands read;
// withApprover adds who approves, for the commands that apply changes.
var (
	allGlobals   = []string{groupOutput, groupStore, groupService, groupGroup, groupPolicy}
	withApprover = append(slices.Clone(allGlobals), groupApprove)
)

// commandTable is every command, in the order of the usage text.
func commandTable() []commandSpec {
	local := []string{groupOutput, groupStore, groupGroup, groupPolicy}
	return []commandSpec{
		{path: "plan", short: "fetch the catalog, diff, print the plan; changes nothing", globals: allGlobals},
		{path: "sync", short: "run the selected rule(s) once: plan, approve, apply", globals: withApprover},
		{path: "status", short: "packs, rules, pending approvals, the service and the connection", globals: allGlobals},
		{path: "approve", short: "approve pending changes (or --all)", args: true, globals: allGlobals},
		{path: "import", short: "import packs by hand, owned by the operator (custom)", args: true, globals: local},
		{path: "override", short: "write an override of a rule into the override pack in the store", globals: local},
		{path: "connect", short: "bind the store to the workspace and run MPUpdate once", globals: withApprover},
		{path: "disconnect", short: "remove the integration (every workspace pack)", globals: local},
		{path: "run", short: "run both rules on their schedules until stopped", globals: append(slices.Clone(withApprover), groupLease)},
		{path: "validate", short: "check the integration as the product docs describe", globals: allGlobals},
		{path: "rollback", short: "restore the previous version of a pack", args: true, globals: []string{groupOutput, groupStore}},
		{path: "rebuild-store", short: "rebuild a damaged store database from its pack files", globals: []string{groupOutput, groupStore}},
		{path: "repair", short: "set corrupt metadata records aside and start them afresh", globals: []string{groupOutput, groupStore}},
		{path: "serve-workspace", short: "serve a catalog directory over the workspace protocol", globals: []string{groupOutput}},
		{path: "approval", short: "approval policy files (approval check FILE)", args: true, globals: []string{groupOutput}},
		{path: "approval check", short: "print an --approval-file policy as the engine reads it", args: true, globals: []string{groupOutput}},
	}
}

// parsed is what the command line asks for.
type parsed struct {
	cfg *config
	// pos is the command's words and its arguments, the command first
	// ("approval", "check", "FILE").
	pos []string
	// path is the command's path in the tree ("approval check").
	path string
	// handled is true when the parser did all that was asked: it printed
	// help or a completion script.
	handled bool
}

// parse reads the command line with the command tree: help and completion
// are written to stdout; anything else is returned for run to carry out.
func parse(args []string, getenv func(string) string, stdout, stderr io.Writer) (*parsed, error) {
	p := &parsed{cfg: &config{set: map[string]bool{}}}
	root := newRoot(p, getenv)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if len(args) == 0 || !strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		args = arrange(args, commandTree(root))
	}
	root.SetArgs(append([]string{}, args...))
	p.handled = true // until a command of the tree runs
	_, err := root.ExecuteC()
	var ue *usageError
	if err != nil && !errors.As(err, &ue) {
		// cobra's own commands (completion) refuse arguments in cobra's
		// words: bad usage all the same.
		err = shapef("%v", err)
	}
	return p, err
}

// parseArgs reads the command line: the configuration and the positional
// arguments, the command first. Flags may come before and after the command
// and its arguments ("mpsync --json status" and "mpsync status --json" mean
// the same); "--" ends the flags.
func parseArgs(args []string, getenv func(string) string) (*config, []string, error) {
	p, err := parse(args, getenv, io.Discard, io.Discard)
	if err != nil {
		return nil, nil, err
	}
	return p.cfg, p.pos, nil
}

// walk lists c and every command below it.
func walk(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, walk(sub)...)
	}
	return out
}

// commandTree maps each command path ("" for the program) to the names of
// its subcommands, for arrange.
func commandTree(root *cobra.Command) map[string][]string {
	tree := map[string][]string{}
	for _, c := range walk(root) {
		path := strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), root.Name()))
		for _, sub := range c.Commands() {
			tree[path] = append(tree[path], sub.Name())
			tree[path] = append(tree[path], sub.Aliases...)
		}
	}
	return tree
}

// newRoot builds the command tree over p: the global flags are persistent
// flags of the program, each command's own are its local flags; running a
// command records it in p.
func newRoot(p *parsed, getenv func(string) string) *cobra.Command {
	c := p.cfg
	root := &cobra.Command{
		Use:           programName,
		Short:         "keep an Operations Manager management group's management packs in step with its workspace",
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a command, or with one the tree does not know, the
		// program reports it in its own words (exit 2).
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return shapef("no command given")
			}
			return shapef("unknown command %q", args[0])
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return flagError(commandPath(cmd), err)
	})
	for _, s := range flagTable() {
		if s.global() {
			s.define(root.PersistentFlags(), c)
			registerCompletion(root, s)
		}
	}
	cmds := map[string]*cobra.Command{"": root}
	for _, spec := range commandTable() {
		spec := spec
		parentPath, name := "", spec.path
		if i := strings.LastIndex(spec.path, " "); i >= 0 {
			parentPath, name = spec.path[:i], spec.path[i+1:]
		}
		text, _ := commandHelp(firstWord(spec.path))
		cmd := &cobra.Command{
			Use:         name,
			Short:       spec.short,
			Long:        text,
			Args:        cobra.ArbitraryArgs, // run checks them in its own words
			Annotations: map[string]string{"mpsync": spec.path},
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := c.finish(cmd.Flags(), spec.path, getenv); err != nil {
					return err
				}
				p.handled = false
				p.path = spec.path
				p.pos = append(strings.Fields(spec.path), args...)
				return nil
			},
		}
		if !spec.args {
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
		for _, s := range flagTable() {
			if slices.Contains(s.commands, spec.path) {
				s.define(cmd.Flags(), c)
				registerCompletion(cmd, s)
			}
		}
		cmd.InitDefaultHelpFlag() // now, so that "help X" lists it as "X --help" does
		cmds[parentPath].AddCommand(cmd)
		cmds[spec.path] = cmd
	}
	root.SetHelpCommand(newHelpCommand(root))
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			// cobra's completion command shows its help for any argument;
			// a shell it does not know is bad usage.
			sub.Use = "completion SHELL"
			sub.Args = cobra.ArbitraryArgs
			sub.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				e := shapef("unknown shell %q (want bash, zsh, fish or powershell)", args[0])
				e.(*usageError).cmd = "completion"
				return e
			}
		}
	}
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
		if _, ours := cmd.Annotations["mpsync"]; !ours && cmd != root {
			writeCobraHelp(cmd.OutOrStdout(), cmd) // cobra's own commands: completion
			return
		}
		writeHelp(cmd.OutOrStdout(), root, cmd)
	})
	return root
}

// writeCobraHelp writes the help of cobra's completion commands: their
// text, usage, subcommands and own flags (no global flag applies to them).
func writeCobraHelp(w io.Writer, cmd *cobra.Command) {
	text := cmd.Long
	if text == "" {
		text = cmd.Short
	}
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", strings.TrimSpace(text), cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-12s %s\n", sub.Name(), sub.Short)
			}
		}
	}
	if own := cmd.LocalNonPersistentFlags(); own.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsagesWrapped(helpWidth))
	}
}

// commandPath is cmd's path below the program ("approval check").
func commandPath(cmd *cobra.Command) string {
	return strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), programName))
}

// registerCompletion tells shell completion which values the flag takes.
func registerCompletion(cmd *cobra.Command, s flagSpec) {
	var fn cobra.CompletionFunc
	switch {
	case len(s.complete) > 0:
		fn = cobra.FixedCompletions(s.complete, cobra.ShellCompDirectiveNoFileComp)
	case s.dirs:
		fn = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
	case s.files:
		fn = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveDefault
		}
	case s.kind == kindBool:
		return
	default:
		fn = cobra.NoFileCompletions
	}
	if err := cmd.RegisterFlagCompletionFunc(s.name, fn); err != nil {
		panic(fmt.Sprintf("completion of --%s: %v", s.name, err))
	}
}

// newHelpCommand is "mpsync help [COMMAND]": the usage, or one command's
// help; an unknown command is bad usage (exit 2).
func newHelpCommand(root *cobra.Command) *cobra.Command {
	text, _ := commandHelp("help")
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "the usage, or one command's help",
		Long:  text,
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			// "help sync extra" is sync's help, as it has always been; only
			// a first word that names no command is an error.
			if err != nil || target == root && len(rest) > 0 {
				unknown := strings.Join(args, " ")
				if len(rest) > 0 {
					unknown = rest[0]
				}
				e := shapef("unknown command %q", unknown)
				e.(*usageError).cmd = "help"
				return e
			}
			if target == root && len(args) == 0 {
				io.WriteString(cmd.OutOrStdout(), usageText)
				return nil
			}
			return target.Help()
		},
	}
}

// helpWidth is the width the flag lists of a command's help wrap at.
const helpWidth = 100

// writeHelp writes cmd's help: the program's usage text, or the command's
// own text followed by its flags and the global flags that apply to it.
func writeHelp(w io.Writer, root, cmd *cobra.Command) {
	if cmd == root {
		io.WriteString(w, usageText)
		return
	}
	io.WriteString(w, strings.TrimLeft(cmd.Long, "\n"))
	path := cmd.Annotations["mpsync"]
	if own := cmd.LocalNonPersistentFlags(); own.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsagesWrapped(helpWidth))
	}
	for _, sub := range cmd.Commands() {
		if own := sub.LocalNonPersistentFlags(); own.HasAvailableFlags() {
			fmt.Fprintf(w, "\nFlags of %s:\n%s", sub.CommandPath(), own.FlagUsagesWrapped(helpWidth))
		}
	}
	var spec commandSpec
	for _, s := range commandTable() {
		if s.path == path {
			spec = s
		}
	}
	globals := pflag.NewFlagSet("globals", pflag.ContinueOnError)
	for _, s := range flagTable() {
		if s.global() && slices.Contains(spec.globals, s.group) {
			if f := root.PersistentFlags().Lookup(s.name); f != nil {
				globals.AddFlag(f)
			}
		}
	}
	if globals.HasAvailableFlags() {
		fmt.Fprintf(w, "\nGlobal flags (before or after the command):\n%s", globals.FlagUsagesWrapped(helpWidth))
	}
	fmt.Fprintf(w, "\nRun '%s --help' for every flag, the JSON documents and the exit codes.\n", programName)
}
