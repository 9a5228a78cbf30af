package main

func runServe(args []string) error { return runConformance(args) }

func runToken(args []string) error { return nil }
