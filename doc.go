// Package labelhub holds the domain of the hub: organisations, users and
// their roles, API keys, projects with their category schema, batches, and
// the errors every layer speaks. It is the middle of the program: it imports
// only the standard library, and adapters (sqlstore, httpapi, web, client,
// cmd/labelhub) import it, never the other way round.
package labelhub
