package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// newFlagSet returns a flag set whose flags fall back to PUSHGATE_<NAME> environment variables
// (flags win), as contract.md requires.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return fs
}

// parseWithEnv applies PUSHGATE_* variables for flags not given on the command line, then parses.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	_, err := parseWithEnvUnset(fs, args)
	return err
}

// parseWithEnvUnset is parseWithEnv returning the flags neither given nor set by PUSHGATE_*.
func parseWithEnvUnset(fs *flag.FlagSet, args []string) (unset map[string]bool, err error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	unset = map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "PUSHGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
			return
		}
		unset[f.Name] = true
	})
	return unset, err
}
