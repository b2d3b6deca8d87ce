// Package importgraph holds no code, only the test that keeps fleetctl's
// import rules: the plugin never imports the reconciler, production code
// never imports a simulator or a test helper, and the Hetzner client layer
// imports no other fleetctl package.
package importgraph
