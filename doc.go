// Package pushgate is the module root. It holds no code, only the import-policy test
// (deps_test.go) that enforces design.md R1: protocol packages are pure, nothing imports cmd/,
// and each third-party runtime dependency is owned by one package. See README.md.
package pushgate
