// Package tenant is what a tenant is and how it is found: the Tenant value (URN, name, realm),
// the reference forms pushgate accepts (contract.md "Tenants") and the Index over them. Both
// halves use it — the store (engine/store) keeps one Index over its records, the edge and each
// worker one over the latest snapshot — so the edge needs no store, and no bbolt, to name one.
package tenant
