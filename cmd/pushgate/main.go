package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "token":
		err = runToken(args)
	case "conformance-server":
		err = runConformance(args)
	case "help", "-h", "--help":
		fmt.Fprintln(os.Stdout, usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pushgate:", err)
		os.Exit(1)
	}
}

const usage = `usage: pushgate [serve|token|conformance-server] [flags]
  serve               run the push server (see README for flags; every flag also reads PUSHGATE_<FLAG>)
  token               print a development token signed with the data dir's key
  conformance-server  run the Engine.IO/Socket.IO conformance fixture`
